//! The VRRP role: one [`vrrp::Router`] for every `[[vrrp.instance]]`,
//! driven with real I/O (RFC 5798 §6 state machine in the `vrrp` crate;
//! keepalived.conf(5) semantics for the configuration).
//!
//! * Adverts: raw protocol-112 sockets ([`crate::vrrp_io`]), one per
//!   interface and family, each read by a task feeding the loop with the
//!   real source, destination and TTL / hop limit ([`Input::Packet`]).
//! * [`Output::Transmit`] → `send_to` on that socket (TTL 255);
//!   [`Output::TransmitFrame`] (gratuitous ARP / unsolicited NA) → an
//!   AF_PACKET socket ([`crate::sys`]) on the interface holding the VIPs.
//! * [`Output::AddAddress`] / [`Output::RemoveAddress`] → rtnetlink
//!   ([`crate::netlink`]) with the configured prefix length and device.
//! * Link events → [`Input::Link`] and interface tracks
//!   ([`Input::TrackChanged`]); [`Output::StateChanged`] → log and
//!   keepalived-style notify scripts ([`crate::notify`]).
//! * `use_vmac`: a private-mode macvlan with the RFC 5798 §7.3 virtual MAC
//!   carries the VIPs, the gratuitous ARPs / NAs and (multicast, as
//!   keepalived) the adverts, whose IP source stays the parent's primary
//!   address (IPv6: the parent's link-local address, added to the VMAC as
//!   keepalived does); adverts are received on the parent. IPv4 VMACs get
//!   keepalived's interface settings ([`crate::sysctl`]: `arp_ignore`,
//!   `accept_local`, `rp_filter`, `promote_secondaries`, the parent's
//!   `arp_ignore` / `arp_filter`, `all.rp_filter` cleared).
//! * Unicast mode (`unicast_peer`): adverts to each peer from
//!   `unicast_src_ip` (IPv4: default the primary address; IPv6: default the
//!   link-local address, or any address of the link as keepalived allows).
//! * Shutdown ([`RoleContext::shutdown`]): [`Input::Shutdown`] (a Master
//!   sends priority 0 and removes its VIPs), `notify_stop`, created VMACs
//!   deleted, the link-local address taken off an operator's IPv6 VMAC,
//!   interface settings put back.
//! * Status: [`VrrpInstanceStatus`] per instance for `dsas-node status`,
//!   with its sync group and the group's state.
//! * Tracking (keepalived `track_interface`, `track_script`,
//!   `track_file`): link events feed interface tracks; each
//!   `[vrrp.script.NAME]` in use runs as a child process every `interval`
//!   (killed after `timeout`; exit 0 = success; `rise` / `fall`
//!   hysteresis) and each `[vrrp.track_file.NAME]` in use is read every
//!   200 ms (an integer; missing or non-numeric = 0); changes become
//!   [`Input::TrackChanged`], the crate applies the weights.
//! * Accept_Mode (RFC 5798 §6.1, §6.4.3; keepalived `accept` /
//!   `no_accept`): `accept = true` is the default (keepalived without
//!   `vrrp_strict`); with `false` the VIPs of a non-owner Master are
//!   dropped on input by the nftables table `inet dsas_vrrp_<node name>`
//!   (rules only while Master; ARP is not IP and ND is let through),
//!   removed when empty and at shutdown.
//! * Sync groups (keepalived `vrrp_sync_group`): the crate moves the
//!   members together; the role derives the group's state (FAULT if any
//!   member is, else the members' common state) and runs the group's
//!   notify scripts (`notify` gets `GROUP NAME STATE 0`; STOP after the
//!   instances' at shutdown); status shows `sync_group` on each member.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arp::MacAddr;
use tokio::sync::mpsc;
use vrrp::{
    AcceptChecksum, Auth, Family, Input, InstanceKey, Output, Router, RouterConfig, State,
    TrackConfig, TrackState, V3Ipv4Checksum, Version,
};

use crate::config::{ChecksumMode, Config, TrackRef, UseVmac, VrrpInstance, VrrpScript};
use crate::control::{SyncGroupStatus, VrrpInstanceStatus, status_channel};
use crate::netlink::{LinkEvent, LinkEvents, LinkInfo, Netlink, virtual_mac};
use crate::notify::{
    Notifier, NotifyKind, NotifyScripts, NotifyState, Outcome, run_script, split_command,
};
use crate::roles::{Role, RoleContext, RoleFuture};
use crate::sys::AsyncPacketSocket;
use crate::sysctl::Sysctls;
use crate::vrrp_io::{Received, VrrpSocketV4, VrrpSocketV6, link_local_address};

/// How long `notify_stop` scripts may still run at shutdown.
const STOP_SCRIPTS_WAIT: Duration = Duration::from_secs(2);
/// Gap between the starts of consecutive instances. Instances started
/// together time out together and advertise in one burst for ever after;
/// with thousands of instances on a node such a burst overflows transmit
/// queues (txqueuelen 1000) and its tail goes out late. Staggered starts
/// spread the adverts (1000 instances over 50 ms) at a cost of at most
/// that much to each instance's first election.
const START_STAGGER: Duration = Duration::from_micros(50);
/// Received adverts handled before the timers when both are due.
const PENDING_BEFORE_TIMERS: usize = 64;
/// Notify script timeout.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The role (`"vrrp"` in status replies).
#[derive(Debug, Default)]
pub struct VrrpRole;

impl VrrpRole {
    /// The role when the configuration has VRRP instances.
    #[must_use]
    pub fn from_config(config: &Config) -> Option<Self> {
        (!config.vrrp.instance.is_empty()).then_some(VrrpRole)
    }
}

impl Role for VrrpRole {
    fn name(&self) -> &'static str {
        "vrrp"
    }

    fn run(self: Box<Self>, ctx: RoleContext) -> RoleFuture {
        Box::pin(run(ctx))
    }
}

/// The node's clock: read right before each `handle*` call.
#[allow(
    clippy::disallowed_methods,
    reason = "the role is where the node reads the clock"
)]
fn now() -> Instant {
    Instant::now()
}

/// A packet's time for the router: the kernel's receive timestamp mapped
/// onto the monotonic clock (RFC 5798 §6.4.2 restarts the
/// Master_Down_Timer at the advert's arrival; the reader task and the
/// channel hop would otherwise push it later), never before `floor` (the
/// last time fed to the router: its clock must not run backwards) nor
/// after `at`.
#[allow(
    clippy::disallowed_methods,
    reason = "maps a CLOCK_REALTIME kernel timestamp onto the role's clock"
)]
fn packet_time(timestamp: Option<std::time::SystemTime>, at: Instant, floor: Instant) -> Instant {
    let age = timestamp
        .and_then(|ts| std::time::SystemTime::now().duration_since(ts).ok())
        // A wall-clock step makes the age meaningless.
        .filter(|age| *age <= MAX_RECEIVE_AGE)
        .unwrap_or_default();
    at.checked_sub(age).unwrap_or(at).max(floor).min(at)
}

/// Largest receive age [`packet_time`] trusts.
const MAX_RECEIVE_AGE: Duration = Duration::from_secs(2);

/// A `CLOCK_MONOTONIC` timerfd (an hrtimer, microsecond-exact) for the
/// protocol timers: tokio's `sleep_until` rounds up to its 1 ms wheel and
/// fires up to about 1 ms late, which delays adverts and the takeover.
/// It never wakes the caller before the deadline.
struct PreciseTimer {
    fd: tokio::io::unix::AsyncFd<TimerFd>,
}

struct TimerFd(nix::sys::timerfd::TimerFd);

impl std::os::fd::AsRawFd for TimerFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsFd as _;
        self.0.as_fd().as_raw_fd()
    }
}

impl PreciseTimer {
    fn new() -> io::Result<Self> {
        use nix::sys::timerfd::{ClockId, TimerFlags};
        let fd = nix::sys::timerfd::TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        // `AsyncFd::new` is deprecated for types whose fd may change; a
        // `TimerFd` owns its fd for its whole life and closes it only on
        // drop, after the `AsyncFd` has deregistered it.
        #[allow(
            deprecated,
            reason = "TimerFd owns its fd; the safe form of AsyncFd::register"
        )]
        let fd = tokio::io::unix::AsyncFd::new(TimerFd(fd))?;
        Ok(Self { fd })
    }

    /// Returns at `deadline` or later (cancel-safe: re-armed on each call).
    async fn sleep_until(&self, deadline: Instant) -> io::Result<()> {
        use nix::sys::timerfd::{Expiration, TimerSetTimeFlags};
        loop {
            let left = deadline.saturating_duration_since(now());
            if left.is_zero() {
                return Ok(());
            }
            self.fd
                .get_ref()
                .0
                .set(
                    Expiration::OneShot(nix::sys::time::TimeSpec::from(left)),
                    TimerSetTimeFlags::empty(),
                )
                .map_err(io::Error::from)?;
            self.fd
                .async_io(tokio::io::Interest::READABLE, |t| {
                    t.0.wait().map_err(io::Error::from)
                })
                .await?;
        }
    }
}

/// Sleeps until `deadline`: on `timer` when the last timer wake-up
/// (`last_wake`) is at least [`PRECISE_GAP`] before it, else (and without a
/// timer) on tokio's 1 ms wheel, which batches the dense deadlines of many
/// instances into one wake-up per millisecond, as before.
async fn sleep_until(timer: Option<&PreciseTimer>, deadline: Instant, last_wake: Instant) {
    let dense = deadline < last_wake.checked_add(PRECISE_GAP).unwrap_or(last_wake);
    if let Some(t) = timer.filter(|_| !dense)
        && t.sleep_until(deadline).await.is_ok()
    {
        return;
    }
    tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
}

/// Timer wake-ups closer together than this use tokio's wheel.
const PRECISE_GAP: Duration = Duration::from_millis(2);

/// What the mapping needs to know about an instance's interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceFacts {
    /// Interface index (adverts).
    pub index: u32,
    /// The NIC's MAC.
    pub mac: [u8; 6],
    /// Primary IPv4 address (first one that is not a VIP).
    pub primary_v4: Option<Ipv4Addr>,
    /// IPv6 link-local address.
    pub link_local: Option<Ipv6Addr>,
}

/// Maps one `[[vrrp.instance]]` to a [`vrrp::Config`]. `tracks` gives the
/// track id of each `track_interface` entry (same order); `objects` the
/// script and file tracks ([`object_tracks`]).
///
/// # Errors
/// What cannot be mapped (no primary address, an invalid result per
/// [`vrrp::Config::validate`]).
pub fn instance_config(
    inst: &VrrpInstance,
    iface: &InterfaceFacts,
    tracks: &[u32],
    objects: &[TrackConfig],
) -> Result<vrrp::Config, String> {
    let ipv6 = inst.is_ipv6();
    let primary: IpAddr = match (ipv6, inst.unicast_src_ip) {
        (false, Some(src)) => src,
        // keepalived: IPv6 unicast adverts leave from `unicast_src_ip`.
        (true, Some(src)) if !inst.unicast_peer.is_empty() => src,
        (false, None) => iface
            .primary_v4
            .map(IpAddr::V4)
            .ok_or_else(|| format!("{}: no IPv4 address on {}", inst.name, inst.interface))?,
        (true, _) => iface
            .link_local
            .map(IpAddr::V6)
            .ok_or_else(|| format!("{}: no link-local address on {}", inst.name, inst.interface))?,
    };
    let mac = if inst.use_vmac == UseVmac::Off {
        iface.mac
    } else {
        virtual_mac(inst.virtual_router_id, ipv6)
    };
    let addresses = inst.virtual_ipaddress.iter().map(|v| v.address).collect();
    let mut c = vrrp::Config::new(
        iface.index,
        inst.virtual_router_id,
        primary,
        addresses,
        MacAddr(mac),
    );
    c.version = if inst.effective_version() == 2 {
        Version::V2
    } else {
        Version::V3
    };
    c.priority = inst.priority;
    c.advert_interval = inst.advert_int;
    c.preempt = !inst.nopreempt;
    c.preempt_delay = inst.preempt_delay;
    c.accept_mode = inst.accept;
    if let Some(mode) = inst.checksum {
        c.checksum_send = checksum(mode);
    }
    c.checksum_accept = match inst.checksum_accept.as_deref() {
        None => AcceptChecksum::only(c.checksum_send),
        Some(forms) => {
            let pseudo = forms.contains(&ChecksumMode::PseudoHeader);
            let rfc = forms.contains(&ChecksumMode::Rfc9568);
            match (pseudo, rfc) {
                (true, true) => AcceptChecksum::Either,
                (false, true) => AcceptChecksum::Rfc9568,
                _ => AcceptChecksum::PseudoHeader,
            }
        }
    };
    if let Some(a) = &inst.authentication {
        c.auth = Auth::password(a.auth_pass.as_bytes());
    }
    if !inst.unicast_peer.is_empty() {
        c.unicast = Some(vrrp::Unicast {
            peers: inst.unicast_peer.clone(),
            check_ttl: false,
        });
    }
    c.tracks = inst
        .track_interface
        .iter()
        .zip(tracks)
        .map(|(t, id)| TrackConfig::interface(*id, i32::from(t.weight)))
        .chain(objects.iter().copied())
        .collect();
    let a = &mut c.announce;
    a.second_burst_delay = inst.garp_master_delay;
    a.repeat = inst.garp_master_repeat;
    a.refresh = inst.garp_master_refresh;
    a.refresh_repeat = inst.garp_master_refresh_repeat;
    if let Some(d) = inst.garp_lower_prio_delay {
        a.lower_prio_delay = d;
    }
    if let Some(r) = inst.garp_lower_prio_repeat {
        a.lower_prio_repeat = r;
    }
    c.validate().map_err(|e| format!("{}: {e}", inst.name))?;
    Ok(c)
}

fn checksum(mode: ChecksumMode) -> V3Ipv4Checksum {
    match mode {
        ChecksumMode::PseudoHeader => V3Ipv4Checksum::PseudoHeader,
        ChecksumMode::Rfc9568 => V3Ipv4Checksum::Rfc9568,
    }
}

/// First track id of `[vrrp.script.NAME]` entries (interface tracks count
/// from 0); a script's id is this plus its index in the sorted table.
pub const SCRIPT_TRACK_BASE: u32 = 1 << 20;
/// First track id of `[vrrp.track_file.NAME]` entries.
pub const FILE_TRACK_BASE: u32 = 2 << 20;
/// How often a tracked file is read.
const TRACK_FILE_POLL: Duration = Duration::from_millis(200);

fn table_id<V>(table: &BTreeMap<String, V>, base: u32, name: &str) -> Option<u32> {
    let i = table.keys().position(|k| k == name)?;
    base.checked_add(u32::try_from(i).ok()?)
}

/// The script and file tracks of `inst` (keepalived `track_script`,
/// `track_file`): one id per script / file shared by every instance that
/// tracks it, the reference's weight overriding the object's own.
///
/// # Errors
/// A name with no `[vrrp.script.NAME]` / `[vrrp.track_file.NAME]`.
pub fn object_tracks(config: &Config, inst: &VrrpInstance) -> Result<Vec<TrackConfig>, String> {
    let scripts = tracked(
        &config.vrrp.script,
        SCRIPT_TRACK_BASE,
        &inst.track_script,
        |s| s.weight,
        TrackConfig::script,
    )
    .map_err(|name| format!("{}: unknown script {name:?}", inst.name))?;
    let files = tracked(
        &config.vrrp.track_file,
        FILE_TRACK_BASE,
        &inst.track_file,
        |f| f.weight,
        TrackConfig::file,
    )
    .map_err(|name| format!("{}: unknown track file {name:?}", inst.name))?;
    Ok(scripts.into_iter().chain(files).collect())
}

/// The tracks of `refs` into `table` (ids from `base`), each weighted by
/// the reference's weight, else the object's own; the first unknown name
/// is the error.
fn tracked<V>(
    table: &BTreeMap<String, V>,
    base: u32,
    refs: &[TrackRef],
    own_weight: impl Fn(&V) -> i16,
    make: impl Fn(u32, i32) -> TrackConfig,
) -> Result<Vec<TrackConfig>, String> {
    refs.iter()
        .map(|t| {
            let (Some(id), Some(obj)) = (table_id(table, base, &t.name), table.get(&t.name)) else {
                return Err(t.name.clone());
            };
            Ok(make(id, i32::from(t.weight.unwrap_or(own_weight(obj)))))
        })
        .collect()
}

/// keepalived's rise / fall hysteresis for a check script: the first
/// result sets the state at once; after that `rise` successes (`fall`
/// failures) in a row are needed to change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptHysteresis {
    rise: u32,
    fall: u32,
    up: Option<bool>,
    streak: u32,
}

impl ScriptHysteresis {
    /// No result yet.
    #[must_use]
    pub fn new(rise: u32, fall: u32) -> Self {
        Self {
            rise: rise.max(1),
            fall: fall.max(1),
            up: None,
            streak: 0,
        }
    }

    /// Records one run; returns the new state when it changed (or is the
    /// first).
    pub fn record(&mut self, success: bool) -> Option<bool> {
        if self.up == Some(success) {
            self.streak = 0;
            return None;
        }
        self.streak = self.streak.saturating_add(1);
        let need = if success { self.rise } else { self.fall };
        if self.up.is_none() || self.streak >= need {
            self.up = Some(success);
            self.streak = 0;
            return Some(success);
        }
        None
    }
}

/// Runs a `[vrrp.script.NAME]` every `interval` (each run killed after
/// `timeout`, default `interval`; exit 0 = success) and reports state
/// changes as `(id, Up/Down)`.
async fn watch_script(
    id: u32,
    name: String,
    script: VrrpScript,
    tx: mpsc::UnboundedSender<(u32, TrackState)>,
) {
    let Some(argv) = split_command(&script.script) else {
        tracing::warn!(script = %name, "unparsable command line; script not run");
        return;
    };
    let timeout = script.timeout.unwrap_or(script.interval);
    let mut hysteresis = ScriptHysteresis::new(script.rise, script.fall);
    let mut ticker = tokio::time::interval(script.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let outcome = run_script(&argv, timeout).await;
        if let Some(up) = hysteresis.record(outcome.success()) {
            tracing::info!(script = %name, ?outcome, up, "VRRP script state changed");
            let state = if up { TrackState::Up } else { TrackState::Down };
            if tx.send((id, state)).is_err() {
                return;
            }
        }
    }
}

/// The value of a tracked file (keepalived `vrrp_track_file`): the leading
/// integer of its first word; a missing, empty or non-numeric file counts
/// as 0; values beyond the `i32` range are clamped.
#[must_use]
pub fn track_file_value(contents: Option<&str>) -> i32 {
    let Some(word) = contents.and_then(|c| c.split_whitespace().next()) else {
        return 0;
    };
    let end = word
        .char_indices()
        .find(|&(i, ch)| !(ch.is_ascii_digit() || (i == 0 && (ch == '-' || ch == '+'))))
        .map_or(word.len(), |(i, _)| i);
    let digits = word.get(..end).unwrap_or("");
    let negative = digits.starts_with('-');
    let magnitude = digits.trim_start_matches(['-', '+']);
    if magnitude.is_empty() {
        return 0;
    }
    match magnitude.parse::<i64>() {
        Ok(v) => {
            let v = if negative { v.saturating_neg() } else { v };
            i32::try_from(v).unwrap_or(if negative { i32::MIN } else { i32::MAX })
        }
        // More digits than an i64 holds.
        Err(_) if negative => i32::MIN,
        Err(_) => i32::MAX,
    }
}

/// Polls a `[vrrp.track_file.NAME]` and reports value changes.
async fn watch_file(
    id: u32,
    name: String,
    path: std::path::PathBuf,
    tx: mpsc::UnboundedSender<(u32, TrackState)>,
) {
    let mut last = None;
    loop {
        let text = tokio::fs::read_to_string(&path).await.ok();
        let value = track_file_value(text.as_deref());
        if last != Some(value) {
            tracing::info!(track_file = %name, value, "tracked file value");
            last = Some(value);
            if tx.send((id, TrackState::Value(value))).is_err() {
                return;
            }
        }
        tokio::time::sleep(TRACK_FILE_POLL).await;
    }
}

/// Starts a watcher for every script and file some instance tracks
/// (keepalived runs only the scripts in use).
fn spawn_trackers(
    config: &Config,
    tx: &mpsc::UnboundedSender<(u32, TrackState)>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let used = |name: &str, files: bool| {
        config.vrrp.instance.iter().any(|i| {
            let refs = if files {
                &i.track_file
            } else {
                &i.track_script
            };
            refs.iter().any(|t| t.name == name)
        })
    };
    let mut tasks = Vec::new();
    for (name, script) in &config.vrrp.script {
        if let Some(id) = table_id(&config.vrrp.script, SCRIPT_TRACK_BASE, name)
            && used(name, false)
        {
            tasks.push(tokio::spawn(watch_script(
                id,
                name.clone(),
                script.clone(),
                tx.clone(),
            )));
        }
    }
    for (name, file) in &config.vrrp.track_file {
        if let Some(id) = table_id(&config.vrrp.track_file, FILE_TRACK_BASE, name)
            && used(name, true)
        {
            tasks.push(tokio::spawn(watch_file(
                id,
                name.clone(),
                file.file.clone(),
                tx.clone(),
            )));
        }
    }
    tasks
}

/// Accept_Mode (RFC 5798 §6.1, §6.4.3) as keepalived's `no_accept`: the
/// VIPs of non-owner Masters with `accept = false` are dropped on input by
/// an nftables table of the node's own (ARP is not IP, ND is let through).
#[derive(Debug)]
struct AcceptFilter {
    table: String,
    drop: std::collections::BTreeSet<IpAddr>,
    installed: bool,
    dirty: bool,
}

/// The nftables table name for `node` (letters, digits, `_` kept).
#[must_use]
pub fn accept_table(node: Option<&str>) -> String {
    let name: String = node
        .unwrap_or("node")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(32)
        .collect();
    format!("dsas_vrrp_{name}")
}

/// The nftables script replacing the table with drop rules for `drop`
/// (only removing it when `drop` is empty).
#[must_use]
pub fn accept_script(table: &str, drop: &std::collections::BTreeSet<IpAddr>) -> String {
    let mut s = format!("table inet {table} {{}}\ndelete table inet {table}\n");
    if drop.is_empty() {
        return s;
    }
    let list = |v4: bool| {
        drop.iter()
            .filter(|a| a.is_ipv4() == v4)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    s.push_str(&format!(
        "table inet {table} {{\n  chain input {{\n    type filter hook input priority filter; policy accept;\n    icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept\n"
    ));
    for (v4, fam) in [(true, "ip"), (false, "ip6")] {
        let l = list(v4);
        if !l.is_empty() {
            s.push_str(&format!("    {fam} daddr {{ {l} }} drop\n"));
        }
    }
    s.push_str("  }\n}\n");
    s
}

impl AcceptFilter {
    /// Applies the current set (a no-op when nothing was ever filtered).
    async fn apply(&mut self) {
        self.dirty = false;
        if self.drop.is_empty() && !self.installed {
            return;
        }
        match nft(&accept_script(&self.table, &self.drop)).await {
            Ok(()) => self.installed = !self.drop.is_empty(),
            Err(e) => {
                tracing::warn!(table = %self.table, error = %e, "Accept_Mode rules not applied")
            }
        }
    }
}

async fn nft(script: &str) -> io::Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let mut child = tokio::process::Command::new("nft")
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(script.as_bytes()).await?;
    }
    let out = child.wait_with_output().await?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "nft: {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// A keepalived `vrrp_sync_group` as the role sees it: its state derived
/// from the members' and its notify scripts (`GROUP NAME STATE 0`, the
/// priority always 0 as keepalived passes it).
#[derive(Debug)]
struct Group {
    name: String,
    members: Vec<InstanceKey>,
    /// Last state notified (`None` before the first settled state).
    state: Option<State>,
    scripts: NotifyScripts,
    notifier: Option<Notifier>,
    outcomes: Option<mpsc::UnboundedReceiver<(Vec<String>, Outcome)>>,
    pending_scripts: usize,
}

/// The state of a sync group from its members' (keepalived: the group
/// moves as one): FAULT if any member is, MASTER / BACKUP once all are;
/// `None` while members disagree (in transition) or are not started.
#[must_use]
pub fn group_state(members: &[State]) -> Option<State> {
    if members.contains(&State::Fault) {
        return Some(State::Fault);
    }
    let first = *members.first()?;
    (first != State::Initialize && members.iter().all(|s| *s == first)).then_some(first)
}

impl Group {
    fn reap_outcomes(&mut self) {
        if let Some(rx) = &mut self.outcomes {
            while rx.try_recv().is_ok() {
                self.pending_scripts = self.pending_scripts.saturating_sub(1);
            }
        }
    }

    fn notify(&mut self, state: NotifyState) {
        if let Some(n) = &self.notifier {
            let queued = self
                .scripts
                .commands(NotifyKind::Group, &self.name, state, 0)
                .len();
            self.pending_scripts = self.pending_scripts.saturating_add(queued);
            n.notify(NotifyKind::Group, &self.name, state, 0);
        }
    }

    /// Re-derives the state; notifies on a change.
    fn update(&mut self, router: &Router) {
        let states: Vec<State> = self
            .members
            .iter()
            .filter_map(|k| router.instance(*k).map(vrrp::Instance::state))
            .collect();
        let Some(now_state) = group_state(&states) else {
            return;
        };
        if self.state == Some(now_state) {
            return;
        }
        self.state = Some(now_state);
        tracing::info!(group = %self.name, state = state_name(now_state), "VRRP sync group state");
        let n = match now_state {
            State::Master => NotifyState::Master,
            State::Backup => NotifyState::Backup,
            State::Fault => NotifyState::Fault,
            State::Initialize => return,
        };
        self.notify(n);
    }
}

/// keepalived's state names.
#[must_use]
pub fn state_name(s: State) -> &'static str {
    match s {
        State::Initialize => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
    }
}

/// Runtime facts of one instance.
#[derive(Debug)]
struct Inst {
    key: InstanceKey,
    name: String,
    interface: String,
    version: u8,
    base_priority: u8,
    /// VIP → (interface index, prefix length).
    vips: HashMap<IpAddr, (u32, u8)>,
    /// Interface the gratuitous ARPs / NAs leave on (the VMAC if any).
    garp_ifindex: u32,
    /// `use_vmac` (IPv4 multicast): the socket sending adverts from the
    /// VMAC; `None`: the interface's shared socket.
    vmac_sender: Option<Arc<Sock>>,
    scripts: NotifyScripts,
    notifier: Option<Notifier>,
    outcomes: Option<mpsc::UnboundedReceiver<(Vec<String>, Outcome)>>,
    pending_scripts: usize,
    created_vmac: Option<u32>,
    /// The parent's link-local address the role put on an operator-made
    /// IPv6 VMAC: (VMAC index, address), removed at shutdown.
    added_link_local: Option<(u32, Ipv6Addr)>,
}

impl Inst {
    fn notify(&mut self, state: NotifyState, priority: u8) {
        if let Some(n) = &self.notifier {
            let queued = self
                .scripts
                .commands(NotifyKind::Instance, &self.name, state, priority)
                .len();
            self.pending_scripts = self.pending_scripts.saturating_add(queued);
            n.notify(NotifyKind::Instance, &self.name, state, priority);
        }
    }

    fn reap_outcomes(&mut self) {
        if let Some(rx) = &mut self.outcomes {
            while rx.try_recv().is_ok() {
                self.pending_scripts = self.pending_scripts.saturating_sub(1);
            }
        }
    }
}

#[derive(Debug)]
enum Sock {
    V4(VrrpSocketV4),
    V6(VrrpSocketV6),
}

impl Sock {
    async fn recv(&self) -> io::Result<Received> {
        match self {
            Sock::V4(s) => s.recv().await,
            Sock::V6(s) => s.recv().await,
        }
    }

    /// Sends the adverts `(instance, destination, bytes)` in order, in as
    /// few system calls as the socket allows; failures are logged.
    async fn send_batch(&self, adverts: &[(InstanceKey, IpAddr, Vec<u8>)]) {
        match self {
            Sock::V4(s) => {
                let (msgs, index) = of_family(adverts, |d| match d {
                    IpAddr::V4(d) => Some(d),
                    IpAddr::V6(_) => None,
                });
                s.send_batch(&msgs, &mut |i, e| advert_failed(adverts, &index, i, &e))
                    .await;
            }
            Sock::V6(s) => {
                let (msgs, index) = of_family(adverts, |d| match d {
                    IpAddr::V6(d) => Some(d),
                    IpAddr::V4(_) => None,
                });
                s.send_batch(&msgs, &mut |i, e| advert_failed(adverts, &index, i, &e))
                    .await;
            }
        }
    }
}

/// The adverts whose destination `pick` accepts (the socket's family),
/// with the index of each in `adverts`.
fn of_family<A>(
    adverts: &[(InstanceKey, IpAddr, Vec<u8>)],
    pick: impl Fn(IpAddr) -> Option<A>,
) -> (Vec<(A, &[u8])>, Vec<usize>) {
    adverts
        .iter()
        .enumerate()
        .filter_map(|(i, (_, d, b))| Some(((pick(*d)?, b.as_slice()), i)))
        .unzip()
}

/// Logs advert `index[i]` of `adverts` as not sent.
fn advert_failed(
    adverts: &[(InstanceKey, IpAddr, Vec<u8>)],
    index: &[usize],
    i: usize,
    e: &io::Error,
) {
    if let Some((key, dst, _)) = index.get(i).and_then(|&j| adverts.get(j)) {
        tracing::warn!(?key, %dst, error = %e, "advert not sent");
    }
}

/// Everything the loop does I/O with.
struct Io {
    netlink: Netlink,
    sockets: HashMap<(u32, Family), Arc<Sock>>,
    frames: HashMap<u32, AsyncPacketSocket>,
    insts: BTreeMap<InstanceKey, Inst>,
    accept: AcceptFilter,
    groups: Vec<Group>,
    /// A state changed in the last drain: re-derive the groups' states.
    states_changed: bool,
    /// Interface settings changed for IPv4 VMACs, put back at shutdown.
    sysctls: Sysctls,
    /// Instances with notify scripts in flight (whose outcomes to reap).
    scripts_pending: std::collections::BTreeSet<InstanceKey>,
    /// Some instance sends from a VMAC (else no per-advert lookup).
    any_vmac_sender: bool,
}

async fn first_ipv4(nl: &Netlink, index: u32, vips: &[IpAddr]) -> io::Result<Option<Ipv4Addr>> {
    Ok(nl
        .addresses(index)
        .await?
        .into_iter()
        .filter(|(a, _)| !vips.contains(a))
        .find_map(|(a, _)| match a {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        }))
}

fn io_ctx(what: String) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Looks up interfaces, removes stale VIPs, creates VMACs, builds the
/// router and opens the sockets.
async fn setup(config: &Config) -> io::Result<(Router, Io, HashMap<String, u32>)> {
    let netlink = Netlink::connect()?;
    let mut track_ids: HashMap<String, u32> = HashMap::new();
    let mut configs = Vec::new();
    let mut insts = Vec::new();
    let mut vmacs_v4: Vec<(String, String)> = Vec::new();
    let all_vips: Vec<IpAddr> = config
        .vrrp
        .instance
        .iter()
        .flat_map(|i| i.virtual_ipaddress.iter().map(|v| v.address))
        .collect();
    for inst in &config.vrrp.instance {
        let link = netlink
            .link_by_name(&inst.interface)
            .await
            .map_err(io_ctx(format!("instance {}", inst.name)))?;
        let mac = link.mac.ok_or_else(|| {
            io::Error::other(format!("{}: {} has no MAC", inst.name, inst.interface))
        })?;
        let facts = InterfaceFacts {
            index: link.index,
            mac,
            primary_v4: first_ipv4(&netlink, link.index, &all_vips).await?,
            link_local: link_local_address(&inst.interface).ok(),
        };
        let mut tracks = Vec::new();
        for t in &inst.track_interface {
            let next = u32::try_from(track_ids.len()).unwrap_or(u32::MAX);
            tracks.push(*track_ids.entry(t.name.clone()).or_insert(next));
        }
        let objects = object_tracks(config, inst).map_err(io::Error::other)?;
        let cfg = instance_config(inst, &facts, &tracks, &objects).map_err(io::Error::other)?;
        // A VMAC carries the VIPs and announcements.
        let mut created_vmac = None;
        let mut vip_default = link.index;
        if let Some(name) = inst.vmac_name() {
            if !inst.is_ipv6() {
                vmacs_v4.push((name.clone(), inst.interface.clone()));
            }
            let vmac = match netlink.link_by_name(&name).await {
                Ok(existing) => existing,
                Err(_) => {
                    let l = netlink
                        .create_vmac(
                            &name,
                            link.index,
                            virtual_mac(inst.virtual_router_id, inst.is_ipv6()),
                        )
                        .await?;
                    created_vmac = Some(l.index);
                    l
                }
            };
            vip_default = vmac.index;
        }
        let mut vips = HashMap::new();
        for v in &inst.virtual_ipaddress {
            let index = match &v.dev {
                Some(dev) => netlink.link_by_name(dev).await?.index,
                None => vip_default,
            };
            // keepalived removes VIPs left by an earlier run.
            if netlink
                .addresses(index)
                .await?
                .iter()
                .any(|(a, _)| *a == v.address)
            {
                tracing::info!(instance = %inst.name, address = %v.address, "removing stale VIP");
                let _ = netlink.del_address(index, v.address, v.prefix_len).await;
            }
            vips.insert(v.address, (index, v.prefix_len));
        }
        let scripts = NotifyScripts {
            master: inst.notify_master.clone(),
            backup: inst.notify_backup.clone(),
            fault: inst.notify_fault.clone(),
            stop: inst.notify_stop.clone(),
            generic: inst.notify.clone(),
        };
        insts.push((
            cfg.clone(),
            inst.name.clone(),
            inst.interface.clone(),
            inst.effective_version(),
            vips,
            vip_default,
            scripts,
            created_vmac,
        ));
        configs.push(cfg);
    }
    let key_of = |c: &vrrp::Config| InstanceKey {
        ifindex: c.ifindex,
        family: c.family(),
        vrid: c.vrid,
    };
    let mut sync_groups = Vec::new();
    let mut group_specs = Vec::new();
    for g in &config.vrrp.sync_group {
        let members: Vec<InstanceKey> = g
            .members
            .iter()
            .filter_map(|m| {
                config
                    .vrrp
                    .instance
                    .iter()
                    .position(|i| &i.name == m)
                    .and_then(|p| configs.get(p))
                    .map(key_of)
            })
            .collect();
        if members.len() >= 2 {
            sync_groups.push(members.clone());
            let scripts = NotifyScripts {
                master: g.notify_master.clone(),
                backup: g.notify_backup.clone(),
                fault: g.notify_fault.clone(),
                stop: g.notify_stop.clone(),
                generic: g.notify.clone(),
            };
            group_specs.push((g.name.clone(), members, scripts));
        }
    }
    let router = Router::new(
        RouterConfig {
            instances: configs,
            sync_groups,
        },
        now(),
    )
    .map_err(|e| io::Error::other(format!("VRRP configuration: {e}")))?;
    let mut io = Io {
        netlink,
        sockets: HashMap::new(),
        frames: HashMap::new(),
        insts: BTreeMap::new(),
        accept: AcceptFilter {
            table: accept_table(config.node.name.as_deref()),
            drop: std::collections::BTreeSet::new(),
            // A table left by an earlier run is removed on the first apply.
            installed: config.vrrp.instance.iter().any(|i| !i.accept),
            dirty: config.vrrp.instance.iter().any(|i| !i.accept),
        },
        groups: Vec::new(),
        states_changed: false,
        sysctls: Sysctls::new(),
        scripts_pending: std::collections::BTreeSet::new(),
        any_vmac_sender: false,
    };
    for (cfg, name, interface, version, vips, garp_ifindex, scripts, created_vmac) in insts {
        let key = key_of(&cfg);
        if let std::collections::hash_map::Entry::Vacant(e) =
            io.sockets.entry((cfg.ifindex, key.family))
        {
            // Bound to the source only in unicast mode: a raw socket bound
            // to an address receives only packets addressed to it.
            let sock = match cfg.primary_address {
                IpAddr::V4(a) => Sock::V4(VrrpSocketV4::open_with_source(
                    &interface,
                    cfg.unicast.is_some().then_some(a),
                )?),
                IpAddr::V6(a) => Sock::V6(VrrpSocketV6::open_with_source(&interface, a)?),
            };
            e.insert(Arc::new(sock));
        }
        if let std::collections::hash_map::Entry::Vacant(e) = io.frames.entry(garp_ifindex) {
            let ifname = io.netlink.link_by_index(garp_ifindex).await?.name;
            e.insert(AsyncPacketSocket::bind(&ifname, 0)?);
        }
        // keepalived `use_vmac`: adverts leave from the VMAC (its MAC as
        // Ethernet source), still from the parent's primary address.
        let mut added_link_local = None;
        let vmac_sender = match (cfg.primary_address, &cfg.unicast) {
            (IpAddr::V4(src), None) if garp_ifindex != cfg.ifindex => {
                let ifname = io.netlink.link_by_index(garp_ifindex).await?.name;
                Some(Arc::new(Sock::V4(VrrpSocketV4::open_sender(&ifname, src)?)))
            }
            // IPv6: keepalived puts the parent's link-local address on the
            // VMAC and sends from it there.
            (IpAddr::V6(src), None) if garp_ifindex != cfg.ifindex => {
                match io
                    .netlink
                    .add_address(garp_ifindex, IpAddr::V6(src), 64)
                    .await
                {
                    // On a VMAC the operator made, it is removed again at
                    // shutdown (a VMAC the role made goes with it).
                    Ok(()) if created_vmac.is_none() => {
                        added_link_local = Some((garp_ifindex, src));
                    }
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
                let ifname = io.netlink.link_by_index(garp_ifindex).await?.name;
                Some(Arc::new(Sock::V6(VrrpSocketV6::open_sender(&ifname, src)?)))
            }
            _ => None,
        };
        let (notifier, outcomes) = if scripts.all().next().is_some() {
            let (tx, rx) = mpsc::unbounded_channel();
            (
                Some(Notifier::spawn(scripts.clone(), SCRIPT_TIMEOUT, Some(tx))),
                Some(rx),
            )
        } else {
            (None, None)
        };
        io.any_vmac_sender |= vmac_sender.is_some();
        io.insts.insert(
            key,
            Inst {
                key,
                name,
                interface,
                version,
                base_priority: cfg.priority,
                vips,
                garp_ifindex,
                vmac_sender,
                scripts,
                notifier,
                outcomes,
                pending_scripts: 0,
                created_vmac,
                added_link_local,
            },
        );
    }
    for (name, members, scripts) in group_specs {
        let (notifier, outcomes) = if scripts.all().next().is_some() {
            let (tx, rx) = mpsc::unbounded_channel();
            (
                Some(Notifier::spawn(scripts.clone(), SCRIPT_TIMEOUT, Some(tx))),
                Some(rx),
            )
        } else {
            (None, None)
        };
        io.groups.push(Group {
            name,
            members,
            state: None,
            scripts,
            notifier,
            outcomes,
            pending_scripts: 0,
        });
    }
    // Last, so that a failed setup leaves no setting changed.
    if !vmacs_v4.is_empty() {
        let mut set = || -> io::Result<()> {
            io.sysctls.clear_all_rp_filter()?;
            for (vmac, parent) in &vmacs_v4 {
                io.sysctls.vmac(vmac, parent)?;
            }
            Ok(())
        };
        if let Err(e) = set() {
            io.sysctls.restore();
            return Err(e);
        }
    }
    Ok((router, io, track_ids))
}

/// The socket an instance's adverts leave on: its VMAC sender if any,
/// else the interface's socket of the family.
fn advert_socket(io: &Io, key: InstanceKey, ifindex: u32, src: IpAddr) -> Option<Arc<Sock>> {
    let vmac = if io.any_vmac_sender {
        io.insts.get(&key).and_then(|i| i.vmac_sender.as_ref())
    } else {
        None
    };
    vmac.or_else(|| io.sockets.get(&(ifindex, Family::of(src))))
        .cloned()
}

/// Executes the router's outputs.
async fn drain(router: &mut Router, io: &mut Io) {
    // Adverts go out before the slower outputs (a new Master's VIPs over
    // netlink, notify scripts): the Backups hear the new Master sooner
    // (RFC 5798 §6.4.1 sends the advert on entering Master). Everything
    // else keeps the machine's order (VIP added before its GARP).
    let mut outputs: Vec<(InstanceKey, Output)> = Vec::new();
    // Adverts in order, in runs per socket (one sendmmsg per run).
    type Run = (Arc<Sock>, Vec<(InstanceKey, IpAddr, Vec<u8>)>);
    let mut adverts: Vec<Run> = Vec::new();
    while let Some((key, out)) = router.poll_output() {
        match out {
            Output::Transmit {
                ifindex,
                src,
                dst,
                bytes,
                ..
            } => {
                let Some(sock) = advert_socket(io, key, ifindex, src) else {
                    tracing::warn!(ifindex, %src, "no VRRP socket for advert");
                    continue;
                };
                match adverts.last_mut() {
                    Some((s, run)) if Arc::ptr_eq(s, &sock) => run.push((key, dst, bytes)),
                    _ => adverts.push((sock, vec![(key, dst, bytes)])),
                }
            }
            other => outputs.push((key, other)),
        }
    }
    for (sock, run) in &adverts {
        sock.send_batch(run).await;
    }
    for (key, out) in outputs {
        match out {
            // Sent above.
            Output::Transmit { .. } => {}
            Output::TransmitFrame { frame, .. } => {
                let ifindex = io.insts.get(&key).map_or(key.ifindex, |i| i.garp_ifindex);
                if let Some(sock) = io.frames.get(&ifindex)
                    && let Err(e) = sock.send(&frame).await
                {
                    tracing::warn!(?key, error = %e, "announcement not sent");
                }
            }
            Output::AddAddress {
                ifindex,
                address,
                accept,
            } => {
                if !accept && io.accept.drop.insert(address) {
                    io.accept.dirty = true;
                }
                let (index, len) = vip_place(io, key, ifindex, address);
                match io.netlink.add_address(index, address, len).await {
                    Ok(()) => tracing::info!(?key, %address, "VIP added"),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => tracing::warn!(?key, %address, error = %e, "VIP not added"),
                }
            }
            Output::RemoveAddress { ifindex, address } => {
                if io.accept.drop.remove(&address) {
                    io.accept.dirty = true;
                }
                let (index, len) = vip_place(io, key, ifindex, address);
                match io.netlink.del_address(index, address, len).await {
                    Ok(()) => tracing::info!(?key, %address, "VIP removed"),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!(?key, %address, error = %e, "VIP not removed"),
                }
            }
            Output::StateChanged { from, to, reason } => {
                io.states_changed = true;
                let priority = router.instance(key).map_or(0, vrrp::Instance::priority);
                if let Some(inst) = io.insts.get_mut(&key) {
                    tracing::info!(
                        instance = %inst.name,
                        from = state_name(from),
                        to = state_name(to),
                        ?reason,
                        "({}) Entering {} STATE",
                        inst.name,
                        state_name(to)
                    );
                    let state = match to {
                        State::Master => Some(NotifyState::Master),
                        State::Backup => Some(NotifyState::Backup),
                        State::Fault => Some(NotifyState::Fault),
                        State::Initialize => None,
                    };
                    if let Some(s) = state {
                        inst.notify(s, priority);
                        if inst.pending_scripts > 0 {
                            io.scripts_pending.insert(key);
                        }
                    }
                }
            }
            Output::Dropped { reason } => tracing::debug!(?key, ?reason, "advert dropped"),
        }
    }
    if io.accept.dirty {
        io.accept.apply().await;
    }
    if io.states_changed {
        io.states_changed = false;
        for g in &mut io.groups {
            g.update(router);
        }
    }
}

fn vip_place(io: &Io, key: InstanceKey, ifindex: u32, address: IpAddr) -> (u32, u8) {
    io.insts
        .get(&key)
        .and_then(|i| i.vips.get(&address).copied())
        .unwrap_or((ifindex, if address.is_ipv4() { 32 } else { 128 }))
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The status of every instance.
fn status(router: &Router, io: &Io, at: Instant) -> Vec<VrrpInstanceStatus> {
    router
        .instances()
        .filter_map(|(key, vr)| {
            let inst = io.insts.get(key)?;
            let c = vr.counters();
            let state = vr.state();
            let master = if state == State::Master {
                Some(vr.config().primary_address.to_string())
            } else {
                vr.master().map(|(a, _)| a.to_string())
            };
            let counters = BTreeMap::from([
                ("adverts_rx".to_owned(), c.rcvd_advertisements),
                ("adverts_tx".to_owned(), c.sent_advertisements),
                ("became_master".to_owned(), c.master_transitions),
                ("pri_zero_rx".to_owned(), c.rcvd_pri_zero_packets),
                ("pri_zero_tx".to_owned(), c.sent_pri_zero_packets),
                ("ttl_errors".to_owned(), c.ip_ttl_errors),
                ("checksum_errors".to_owned(), c.checksum_errors),
                ("version_errors".to_owned(), c.version_errors),
                ("interval_errors".to_owned(), c.adv_interval_errors),
                ("length_errors".to_owned(), c.packet_length_errors),
                ("address_list_errors".to_owned(), c.address_list_errors),
                ("auth_failures".to_owned(), c.auth_failures),
                ("auth_type_mismatch".to_owned(), c.auth_type_mismatch),
                ("invalid_auth_type".to_owned(), c.invalid_auth_type),
                ("invalid_type".to_owned(), c.rcvd_invalid_type_packets),
                ("unknown_peer".to_owned(), c.unknown_peer),
            ]);
            Some(VrrpInstanceStatus {
                name: inst.name.clone(),
                interface: inst.interface.clone(),
                vrid: key.vrid,
                version: inst.version,
                state: state_name(state).to_owned(),
                priority: inst.base_priority,
                effective_priority: vr.priority(),
                master,
                advert_interval_ms: ms(vr.master_adver_interval()),
                master_down_remaining_ms: (state == State::Backup)
                    .then(|| {
                        vr.master_down_timer()
                            .map(|t| ms(t.saturating_duration_since(at)))
                    })
                    .flatten(),
                counters,
                sync_group: io.groups.iter().find(|g| g.members.contains(key)).map(|g| {
                    SyncGroupStatus {
                        name: g.name.clone(),
                        state: g.state.map(|s| state_name(s).to_owned()),
                    }
                }),
            })
        })
        .collect()
}

/// Feeds a link change: interface state to the instances on it, and to the
/// interface tracks naming it. `known` holds the last state fed.
fn on_link(
    router: &mut Router,
    info: &LinkInfo,
    known: &mut HashMap<u32, bool>,
    tracks: &HashMap<String, u32>,
) {
    let up = info.is_up();
    if known.get(&info.index) == Some(&up) {
        return;
    }
    known.insert(info.index, up);
    tracing::info!(interface = %info.name, up, "link changed");
    router.handle(
        now(),
        Input::Link {
            ifindex: info.index,
            up,
        },
    );
    if let Some(id) = tracks.get(&info.name) {
        let state = if up { TrackState::Up } else { TrackState::Down };
        router.handle(now(), Input::TrackChanged { id: *id, state });
    }
}

/// Starts the instances whose staggered start is due.
fn start_due(router: &mut Router, starts: &mut VecDeque<(Instant, InstanceKey)>, at: Instant) {
    while let Some((_, key)) = starts.front().copied().filter(|(t, _)| *t <= at) {
        starts.pop_front();
        router.handle_instance(at, key, Input::Startup);
    }
}

async fn run(mut ctx: RoleContext) -> io::Result<()> {
    let config = Arc::clone(&ctx.config);
    let (mut router, mut io, tracks) = setup(&config).await?;
    let (status_handle, mut status_rx) = status_channel();
    ctx.registry.register("vrrp", status_handle);
    let (pkt_tx, mut pkt_rx) = mpsc::channel::<(u32, Received)>(1024);
    let mut readers = Vec::new();
    for ((ifindex, _), sock) in &io.sockets {
        let sock = Arc::clone(sock);
        let tx = pkt_tx.clone();
        let ifindex = *ifindex;
        readers.push(tokio::spawn(async move {
            loop {
                match sock.recv().await {
                    Ok(p) => {
                        if tx.send((ifindex, p)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(ifindex, error = %e, "VRRP receive failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }));
    }
    drop(pkt_tx);
    let mut links = match LinkEvents::subscribe() {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(error = %e, "no link events; link state is not followed");
            None
        }
    };
    let (track_tx, mut track_rx) = mpsc::unbounded_channel();
    let trackers = spawn_trackers(&config, &track_tx);
    drop(track_tx);
    // Staggered start (START_STAGGER): the first instance now.
    let t_start = now();
    let mut starts: VecDeque<(Instant, InstanceKey)> = router
        .instances()
        .map(|(k, _)| *k)
        .zip(0u32..)
        .map(|(k, i)| {
            let offset = START_STAGGER.saturating_mul(i);
            (t_start.checked_add(offset).unwrap_or(t_start), k)
        })
        .collect();
    start_due(&mut router, &mut starts, t_start);
    // Current link state of the instances' and tracked interfaces.
    let mut known: HashMap<u32, bool> = HashMap::new();
    if let Ok(all) = io.netlink.links().await {
        let watched: Vec<u32> = io.insts.values().map(|i| i.key.ifindex).collect();
        for l in all {
            if (watched.contains(&l.index) || tracks.contains_key(&l.name)) && !l.is_up() {
                on_link(&mut router, &l, &mut known, &tracks);
            } else {
                known.insert(l.index, l.is_up());
            }
        }
    }
    drain(&mut router, &mut io).await;
    let timer = PreciseTimer::new()
        .inspect_err(|e| tracing::warn!(error = %e, "no timerfd; timers may fire up to 1 ms late"))
        .ok();
    // The last time fed to the router (packet times never go below it).
    let mut fed = t_start;
    // The last timer wake-up (see `sleep_until`).
    let mut last_wake = t_start;
    tracing::info!(instances = io.insts.len(), "VRRP role running");
    loop {
        let deadline = match (router.poll_timeout(), starts.front()) {
            (Some(t), Some((s, _))) => Some(t.min(*s)),
            (t, s) => t.or(s.map(|(s, _)| *s)),
        };
        let sleep = async {
            match deadline {
                Some(d) => sleep_until(timer.as_ref(), d, last_wake).await,
                None => std::future::pending().await,
            }
        };
        let link = async {
            match &mut links {
                Some(l) => l.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some((ifindex, p)) = pkt_rx.recv() => {
                fed = packet_time(p.timestamp, now(), fed);
                router.handle(fed, Input::Packet {
                    ifindex,
                    src: p.src,
                    dst: p.dst,
                    ttl: p.ttl,
                    bytes: &p.payload,
                });
            }
            () = sleep => {
                // Adverts already received go first: a node that was
                // stalled (SIGSTOP, a busy host) must hear the Master that
                // took over before running overdue timers (adverts, GARPs).
                for _ in 0..PENDING_BEFORE_TIMERS {
                    let Ok((ifindex, p)) = pkt_rx.try_recv() else { break };
                    fed = packet_time(p.timestamp, now(), fed);
                    router.handle(fed, Input::Packet {
                        ifindex,
                        src: p.src,
                        dst: p.dst,
                        ttl: p.ttl,
                        bytes: &p.payload,
                    });
                }
                let at = now();
                fed = at;
                last_wake = at;
                start_due(&mut router, &mut starts, at);
                router.handle_timeout(at);
            }
            Some((id, state)) = track_rx.recv() => {
                fed = now();
                router.handle(fed, Input::TrackChanged { id, state });
            }
            ev = link => {
                match ev {
                    Some(LinkEvent::Changed(info)) => on_link(&mut router, &info, &mut known, &tracks),
                    Some(LinkEvent::Removed { index, name }) => {
                        let gone = LinkInfo { index, name, mac: None, admin_up: false, carrier: false, mtu: None };
                        on_link(&mut router, &gone, &mut known, &tracks);
                    }
                    None => {
                        tracing::warn!("link events ended");
                        links = None;
                    }
                }
                // on_link reads the clock itself: a floor at or after it.
                fed = now();
            }
            Some(reply) = status_rx.recv() => {
                let _ = reply.send(serde_json::to_value(status(&router, &io, now())).unwrap_or_default());
            }
            () = ctx.shutdown.wait() => break,
        }
        drain(&mut router, &mut io).await;
        // Only instances with scripts in flight: the loop runs for every
        // advert, and a node may hold thousands of instances.
        if !io.scripts_pending.is_empty() {
            let insts = &mut io.insts;
            io.scripts_pending.retain(|key| {
                insts.get_mut(key).is_some_and(|inst| {
                    inst.reap_outcomes();
                    inst.pending_scripts > 0
                })
            });
        }
        for g in io.groups.iter_mut().filter(|g| g.pending_scripts > 0) {
            g.reap_outcomes();
        }
    }
    // Goodbye: priority 0 from a Master, VIPs removed, notify_stop.
    router.handle(now(), Input::Shutdown);
    drain(&mut router, &mut io).await;
    for r in readers.iter().chain(&trackers) {
        r.abort();
    }
    for inst in io.insts.values_mut() {
        inst.notify(NotifyState::Stop, 0);
    }
    // keepalived notifies the groups' STOP after the instances'.
    for g in &mut io.groups {
        g.notify(NotifyState::Stop);
    }
    let _ = tokio::time::timeout(STOP_SCRIPTS_WAIT, async {
        for inst in io.insts.values_mut() {
            inst.reap_outcomes();
            while inst.pending_scripts > 0 {
                let Some(rx) = &mut inst.outcomes else { break };
                if rx.recv().await.is_none() {
                    break;
                }
                inst.pending_scripts = inst.pending_scripts.saturating_sub(1);
            }
        }
        for g in &mut io.groups {
            g.reap_outcomes();
            while g.pending_scripts > 0 {
                let Some(rx) = &mut g.outcomes else { break };
                if rx.recv().await.is_none() {
                    break;
                }
                g.pending_scripts = g.pending_scripts.saturating_sub(1);
            }
        }
    })
    .await;
    for inst in io.insts.values() {
        if let Some(index) = inst.created_vmac
            && let Err(e) = io.netlink.delete_link(index).await
        {
            tracing::warn!(instance = %inst.name, error = %e, "VMAC not deleted");
        }
        if let Some((index, address)) = inst.added_link_local
            && let Err(e) = io.netlink.del_address(index, IpAddr::V6(address), 64).await
        {
            tracing::warn!(instance = %inst.name, error = %e, "link-local address not removed from the VMAC");
        }
    }
    io.sysctls.restore();
    tracing::info!("VRRP role stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        crate::config::parse(text, std::path::Path::new("t.toml")).unwrap()
    }

    fn facts() -> InterfaceFacts {
        InterfaceFacts {
            index: 7,
            mac: [2, 0, 0, 0, 0, 1],
            primary_v4: Some(Ipv4Addr::new(10, 0, 0, 1)),
            link_local: Some("fe80::1".parse().unwrap()),
        }
    }

    #[test]
    fn maps_keepalived_keys() {
        let c = parse(
            r#"
[[vrrp.instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = 150
advert_int = 2
nopreempt = true
preempt_delay = 5
virtual_ipaddress = ["10.0.0.100/24"]
unicast_peer = ["10.0.0.2"]
garp_master_repeat = 3
[vrrp.instance.authentication]
auth_type = "PASS"
auth_pass = "secret"
"#,
        );
        let inst = &c.vrrp.instance[0];
        let v = instance_config(inst, &facts(), &[], &[]).unwrap();
        assert_eq!(v.ifindex, 7);
        assert_eq!(v.vrid, 51);
        assert_eq!(v.version, Version::V2);
        assert_eq!(v.priority, 150);
        assert_eq!(v.advert_interval, Duration::from_secs(2));
        assert!(!v.preempt);
        assert_eq!(v.preempt_delay, Duration::from_secs(5));
        assert_eq!(v.primary_address, IpAddr::from([10, 0, 0, 1]));
        assert_eq!(v.addresses, vec![IpAddr::from([10, 0, 0, 100])]);
        assert_eq!(v.auth, Auth::password(b"secret"));
        assert_eq!(
            v.unicast.as_ref().unwrap().peers,
            vec![IpAddr::from([10, 0, 0, 2])]
        );
        assert_eq!(v.announce.repeat, 3);
        assert_eq!(v.announce.source_mac, MacAddr([2, 0, 0, 0, 0, 1]));
    }

    #[test]
    fn v3_vmac_checksums_and_tracks() {
        let c = parse(
            r#"
[[vrrp.instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 52
version = 3
advert_int = 0.1
use_vmac = true
checksum = "rfc9568"
checksum_accept = ["rfc9568", "pseudo-header"]
virtual_ipaddress = ["10.0.0.101"]
track_interface = [{ name = "eth1", weight = -20 }]
"#,
        );
        let v = instance_config(&c.vrrp.instance[0], &facts(), &[4], &[]).unwrap();
        assert_eq!(v.version, Version::V3);
        assert_eq!(v.advert_interval, Duration::from_millis(100));
        assert_eq!(v.checksum_send, V3Ipv4Checksum::Rfc9568);
        assert_eq!(v.checksum_accept, AcceptChecksum::Either);
        assert_eq!(v.announce.source_mac, MacAddr([0, 0, 0x5e, 0, 1, 52]));
        assert_eq!(v.tracks, vec![TrackConfig::interface(4, -20)]);
    }

    #[test]
    fn ipv6_link_local_source_and_object_tracks() {
        let c = parse(
            r#"
[[vrrp.instance]]
name = "V6"
interface = "eth0"
virtual_router_id = 1
virtual_ipaddress = ["fe80::100", "2001:db8::100/64"]
"#,
        );
        let v = instance_config(&c.vrrp.instance[0], &facts(), &[], &[]).unwrap();
        assert_eq!(v.primary_address, "fe80::1".parse::<IpAddr>().unwrap());
        assert_eq!(v.version, Version::V3);
        let mut no_ll = facts();
        no_ll.link_local = None;
        assert!(instance_config(&c.vrrp.instance[0], &no_ll, &[], &[]).is_err());
        let c = parse(
            r#"
[vrrp.script.chk]
script = "/bin/true"
weight = -30
[vrrp.script.a_other]
script = "/bin/false"
[vrrp.track_file.f]
file = "/run/f"
[vrrp.track_file.g]
file = "/run/g"
weight = 0
[[vrrp.instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 1
virtual_ipaddress = ["10.0.0.100"]
track_script = [{ name = "chk" }, { name = "a_other", weight = 10 }]
track_file = [{ name = "g" }, { name = "f", weight = -5 }]
"#,
        );
        let inst = &c.vrrp.instance[0];
        let objects = object_tracks(&c, inst).unwrap();
        assert_eq!(
            objects,
            vec![
                TrackConfig::script(SCRIPT_TRACK_BASE + 1, -30),
                TrackConfig::script(SCRIPT_TRACK_BASE, 10),
                TrackConfig::file(FILE_TRACK_BASE + 1, 0),
                TrackConfig::file(FILE_TRACK_BASE, -5),
            ]
        );
        let v = instance_config(inst, &facts(), &[], &objects).unwrap();
        assert_eq!(v.tracks, objects);
        let unknown = |name: &str| TrackRef {
            name: name.to_owned(),
            weight: None,
        };
        let mut bad = inst.clone();
        bad.track_file.push(unknown("nope"));
        assert_eq!(
            object_tracks(&c, &bad).unwrap_err(),
            "VI_1: unknown track file \"nope\""
        );
        bad.track_script.push(unknown("f"));
        assert_eq!(
            object_tracks(&c, &bad).unwrap_err(),
            "VI_1: unknown script \"f\"",
            "a track file's name is not a script's"
        );
    }

    #[test]
    fn script_rise_and_fall() {
        let mut h = ScriptHysteresis::new(2, 3);
        // The first result decides at once.
        assert_eq!(h.record(true), Some(true));
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), None);
        // A success in between restarts the count.
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), Some(false));
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(true), Some(true));
        let mut first_fail = ScriptHysteresis::new(5, 5);
        assert_eq!(first_fail.record(false), Some(false));
    }

    #[test]
    fn track_file_values() {
        assert_eq!(track_file_value(None), 0);
        assert_eq!(track_file_value(Some("")), 0);
        assert_eq!(track_file_value(Some("  \n")), 0);
        assert_eq!(track_file_value(Some("42\n")), 42);
        assert_eq!(track_file_value(Some(" -7 trailing")), -7);
        assert_eq!(track_file_value(Some("+3")), 3);
        assert_eq!(track_file_value(Some("12abc")), 12);
        assert_eq!(track_file_value(Some("abc")), 0);
        assert_eq!(track_file_value(Some("-")), 0);
        assert_eq!(track_file_value(Some("99999999999")), i32::MAX);
        assert_eq!(track_file_value(Some("-99999999999999999999999")), i32::MIN);
    }

    /// The kernel timestamp moves a packet's time back by its age, within
    /// `[floor, at]`; none, a future one or a stale one leaves `at`.
    #[test]
    #[allow(clippy::disallowed_methods, reason = "the test reads the clock")]
    fn packet_time_uses_the_kernel_timestamp() {
        let at = Instant::now();
        let floor = at.checked_sub(Duration::from_secs(1)).unwrap();
        let wall = std::time::SystemTime::now();
        let ago = |d| wall.checked_sub(Duration::from_millis(d));
        let got = packet_time(ago(5), at, floor);
        let back = at.duration_since(got);
        // 5 ms plus the few microseconds between the two clock reads.
        assert!(
            back >= Duration::from_millis(5) && back < Duration::from_millis(6),
            "{back:?}"
        );
        // Never below the floor (the router's clock does not run back).
        let late_floor = at.checked_sub(Duration::from_millis(2)).unwrap();
        assert_eq!(packet_time(ago(5), at, late_floor), late_floor);
        assert_eq!(packet_time(None, at, floor), at);
        let future = wall.checked_add(Duration::from_secs(1));
        assert_eq!(packet_time(future, at, floor), at);
        assert_eq!(packet_time(ago(3_000), at, floor), at);
    }

    /// The timerfd sleep never returns before its deadline, and is
    /// cancel-safe: a dropped sleep leaves the next one correct.
    #[tokio::test]
    async fn precise_timer_never_fires_early() {
        let timer = PreciseTimer::new().unwrap();
        for ms in [0_u64, 1, 3, 10] {
            let d = now().checked_add(Duration::from_millis(ms)).unwrap();
            timer.sleep_until(d).await.unwrap();
            assert!(now() >= d);
        }
        let far = now().checked_add(Duration::from_secs(60)).unwrap();
        let cancelled =
            tokio::time::timeout(Duration::from_millis(5), timer.sleep_until(far)).await;
        assert!(cancelled.is_err());
        let d = now().checked_add(Duration::from_millis(2)).unwrap();
        timer.sleep_until(d).await.unwrap();
        let t = now();
        assert!(t >= d && t < far);
    }

    /// A real child process: exit status, and a hang killed at the timeout.
    #[tokio::test]
    async fn script_watcher_reports_real_runs() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = testkit::exec::TempDir::new().unwrap();
        let flag = dir.path().join("fail");
        let script = dir.path().join("chk.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n[ -e {f}.hang ] && exec sleep 30\n[ ! -e {f} ]\n",
                f = flag.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let checked = crate::notify::check_script(&script).is_ok();
        let cfg = VrrpScript {
            script: script.display().to_string(),
            interval: Duration::from_millis(50),
            timeout: Some(Duration::from_millis(300)),
            weight: 0,
            rise: 1,
            fall: 2,
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(watch_script(7, "chk".into(), cfg, tx));
        let next = async |rx: &mut mpsc::UnboundedReceiver<(u32, TrackState)>| {
            tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .unwrap()
                .unwrap()
        };
        if !checked {
            // Not root-owned (run as a user): refused runs count as failures.
            assert_eq!(next(&mut rx).await, (7, TrackState::Down));
            task.abort();
            return;
        }
        assert_eq!(next(&mut rx).await, (7, TrackState::Up));
        std::fs::write(&flag, "").unwrap();
        assert_eq!(next(&mut rx).await, (7, TrackState::Down));
        std::fs::remove_file(&flag).unwrap();
        assert_eq!(next(&mut rx).await, (7, TrackState::Up));
        let t0 = tokio::time::Instant::now();
        std::fs::write(dir.path().join("fail.hang"), "").unwrap();
        assert_eq!(next(&mut rx).await, (7, TrackState::Down));
        // fall 2: two runs each killed after 300 ms.
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(550), "{took:?}");
        task.abort();
    }

    #[test]
    fn accept_mode_rules() {
        assert_eq!(accept_table(Some("lb-1.example")), "dsas_vrrp_lb_1_example");
        assert_eq!(accept_table(None), "dsas_vrrp_node");
        let none = std::collections::BTreeSet::new();
        assert_eq!(
            accept_script("t", &none),
            "table inet t {}\ndelete table inet t\n"
        );
        let drop: std::collections::BTreeSet<IpAddr> = ["10.0.0.100", "2001:db8::1", "10.0.0.101"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(
            accept_script("t", &drop),
            "table inet t {}\ndelete table inet t\ntable inet t {\n  chain input {\n    \
             type filter hook input priority filter; policy accept;\n    \
             icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n    \
             ip daddr { 10.0.0.100, 10.0.0.101 } drop\n    \
             ip6 daddr { 2001:db8::1 } drop\n  }\n}\n"
        );
        // keepalived's default without vrrp_strict: accept.
        let c = parse(
            r#"
[[vrrp.instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 1
virtual_ipaddress = ["10.0.0.100"]
"#,
        );
        assert!(c.vrrp.instance[0].accept);
        assert!(
            instance_config(&c.vrrp.instance[0], &facts(), &[], &[])
                .unwrap()
                .accept_mode
        );
    }

    #[test]
    fn sync_group_state_from_members() {
        use State::{Backup, Fault, Initialize, Master};
        assert_eq!(group_state(&[]), None);
        assert_eq!(group_state(&[Master, Master]), Some(Master));
        assert_eq!(group_state(&[Backup, Backup]), Some(Backup));
        assert_eq!(group_state(&[Master, Backup]), None);
        assert_eq!(group_state(&[Backup, Initialize]), None);
        assert_eq!(group_state(&[Initialize, Initialize]), None);
        assert_eq!(group_state(&[Master, Fault]), Some(Fault));
    }
}
