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
//!   carries the VIPs and the gratuitous ARPs; adverts use the parent.
//! * Shutdown ([`RoleContext::shutdown`]): [`Input::Shutdown`] (a Master
//!   sends priority 0 and removes its VIPs), `notify_stop`, created VMACs
//!   deleted.
//! * Status: [`VrrpInstanceStatus`] per instance for `dsas-node status`.
//!
//! Not implemented: `track_script` / `track_file` (refused at start),
//! Accept_Mode filtering (VIPs are always accepted, as with keepalived's
//! `accept`), sync-group notify scripts.

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

use crate::config::{ChecksumMode, Config, UseVmac, VrrpInstance};
use crate::control::{VrrpInstanceStatus, status_channel};
use crate::netlink::{LinkEvent, LinkEvents, LinkInfo, Netlink, virtual_mac};
use crate::notify::{Notifier, NotifyKind, NotifyScripts, NotifyState, Outcome};
use crate::roles::{Role, RoleContext, RoleFuture};
use crate::sys::AsyncPacketSocket;
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
/// track id of each `track_interface` entry (same order).
///
/// # Errors
/// What cannot be mapped (no primary address, `track_script`/`track_file`,
/// an invalid result per [`vrrp::Config::validate`]).
pub fn instance_config(
    inst: &VrrpInstance,
    iface: &InterfaceFacts,
    tracks: &[u32],
) -> Result<vrrp::Config, String> {
    let ipv6 = inst.is_ipv6();
    let primary: IpAddr = match (ipv6, inst.unicast_src_ip) {
        (false, Some(src)) => src,
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
    if !inst.track_script.is_empty() || !inst.track_file.is_empty() {
        return Err(format!(
            "{}: track_script / track_file are not supported by the VRRP role yet",
            inst.name
        ));
    }
    c.tracks = inst
        .track_interface
        .iter()
        .zip(tracks)
        .map(|(t, id)| TrackConfig::interface(*id, i32::from(t.weight)))
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
    scripts: NotifyScripts,
    notifier: Option<Notifier>,
    outcomes: Option<mpsc::UnboundedReceiver<(Vec<String>, Outcome)>>,
    pending_scripts: usize,
    created_vmac: Option<u32>,
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

    async fn send_to(&self, dst: IpAddr, payload: &[u8]) -> io::Result<usize> {
        match (self, dst) {
            (Sock::V4(s), IpAddr::V4(d)) => s.send_to(d, payload).await,
            (Sock::V6(s), IpAddr::V6(d)) => s.send_to(d, payload).await,
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "destination of the other family",
            )),
        }
    }
}

/// Everything the loop does I/O with.
struct Io {
    netlink: Netlink,
    sockets: HashMap<(u32, Family), Arc<Sock>>,
    frames: HashMap<u32, AsyncPacketSocket>,
    insts: BTreeMap<InstanceKey, Inst>,
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
        let cfg = instance_config(inst, &facts, &tracks).map_err(io::Error::other)?;
        // A VMAC carries the VIPs and announcements.
        let mut created_vmac = None;
        let mut vip_default = link.index;
        if let Some(name) = inst.vmac_name() {
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
            sync_groups.push(members);
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
        let (notifier, outcomes) = if scripts.all().next().is_some() {
            let (tx, rx) = mpsc::unbounded_channel();
            (
                Some(Notifier::spawn(scripts.clone(), SCRIPT_TIMEOUT, Some(tx))),
                Some(rx),
            )
        } else {
            (None, None)
        };
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
                scripts,
                notifier,
                outcomes,
                pending_scripts: 0,
                created_vmac,
            },
        );
    }
    Ok((router, io, track_ids))
}

/// Executes the router's outputs.
async fn drain(router: &mut Router, io: &mut Io) {
    while let Some((key, out)) = router.poll_output() {
        match out {
            Output::Transmit {
                ifindex,
                src,
                dst,
                bytes,
                ..
            } => {
                let Some(sock) = io.sockets.get(&(ifindex, Family::of(src))) else {
                    tracing::warn!(ifindex, %src, "no VRRP socket for advert");
                    continue;
                };
                if let Err(e) = sock.send_to(dst, &bytes).await {
                    tracing::warn!(?key, %dst, error = %e, "advert not sent");
                }
            }
            Output::TransmitFrame { frame, .. } => {
                let ifindex = io.insts.get(&key).map_or(key.ifindex, |i| i.garp_ifindex);
                if let Some(sock) = io.frames.get(&ifindex)
                    && let Err(e) = sock.send(&frame).await
                {
                    tracing::warn!(?key, error = %e, "announcement not sent");
                }
            }
            Output::AddAddress {
                ifindex, address, ..
            } => {
                let (index, len) = vip_place(io, key, ifindex, address);
                match io.netlink.add_address(index, address, len).await {
                    Ok(()) => tracing::info!(?key, %address, "VIP added"),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => tracing::warn!(?key, %address, error = %e, "VIP not added"),
                }
            }
            Output::RemoveAddress { ifindex, address } => {
                let (index, len) = vip_place(io, key, ifindex, address);
                match io.netlink.del_address(index, address, len).await {
                    Ok(()) => tracing::info!(?key, %address, "VIP removed"),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!(?key, %address, error = %e, "VIP not removed"),
                }
            }
            Output::StateChanged { from, to, reason } => {
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
                    }
                }
            }
            Output::Dropped { reason } => tracing::debug!(?key, ?reason, "advert dropped"),
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
    tracing::info!(instances = io.insts.len(), "VRRP role running");
    loop {
        let deadline = match (router.poll_timeout(), starts.front()) {
            (Some(t), Some((s, _))) => Some(t.min(*s)),
            (t, s) => t.or(s.map(|(s, _)| *s)),
        };
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
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
            Some((ifindex, p)) = pkt_rx.recv() => router.handle(now(), Input::Packet {
                ifindex,
                src: p.src,
                dst: p.dst,
                ttl: p.ttl,
                bytes: &p.payload,
            }),
            () = sleep => {
                let at = now();
                start_due(&mut router, &mut starts, at);
                router.handle_timeout(at);
            }
            ev = link => match ev {
                Some(LinkEvent::Changed(info)) => on_link(&mut router, &info, &mut known, &tracks),
                Some(LinkEvent::Removed { index, name }) => {
                    let gone = LinkInfo { index, name, mac: None, admin_up: false, carrier: false, mtu: None };
                    on_link(&mut router, &gone, &mut known, &tracks);
                }
                None => {
                    tracing::warn!("link events ended");
                    links = None;
                }
            },
            Some(reply) = status_rx.recv() => {
                let s = status(&router, &io, now());
                let _ = reply.send(serde_json::to_value(s).unwrap_or_default());
            }
            () = ctx.shutdown.wait() => break,
        }
        drain(&mut router, &mut io).await;
        // Only instances with scripts in flight: the loop runs for every
        // advert, and a node may hold thousands of instances.
        for inst in io.insts.values_mut().filter(|i| i.pending_scripts > 0) {
            inst.reap_outcomes();
        }
    }
    // Goodbye: priority 0 from a Master, VIPs removed, notify_stop.
    router.handle(now(), Input::Shutdown);
    drain(&mut router, &mut io).await;
    for r in &readers {
        r.abort();
    }
    for inst in io.insts.values_mut() {
        inst.notify(NotifyState::Stop, 0);
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
    })
    .await;
    for inst in io.insts.values() {
        if let Some(index) = inst.created_vmac
            && let Err(e) = io.netlink.delete_link(index).await
        {
            tracing::warn!(instance = %inst.name, error = %e, "VMAC not deleted");
        }
    }
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
        let v = instance_config(inst, &facts(), &[]).unwrap();
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
        let v = instance_config(&c.vrrp.instance[0], &facts(), &[4]).unwrap();
        assert_eq!(v.version, Version::V3);
        assert_eq!(v.advert_interval, Duration::from_millis(100));
        assert_eq!(v.checksum_send, V3Ipv4Checksum::Rfc9568);
        assert_eq!(v.checksum_accept, AcceptChecksum::Either);
        assert_eq!(v.announce.source_mac, MacAddr([0, 0, 0x5e, 0, 1, 52]));
        assert_eq!(v.tracks, vec![TrackConfig::interface(4, -20)]);
    }

    #[test]
    fn ipv6_uses_the_link_local_address_and_refuses_scripts() {
        let c = parse(
            r#"
[[vrrp.instance]]
name = "V6"
interface = "eth0"
virtual_router_id = 1
virtual_ipaddress = ["fe80::100", "2001:db8::100/64"]
"#,
        );
        let v = instance_config(&c.vrrp.instance[0], &facts(), &[]).unwrap();
        assert_eq!(v.primary_address, "fe80::1".parse::<IpAddr>().unwrap());
        assert_eq!(v.version, Version::V3);
        let mut no_ll = facts();
        no_ll.link_local = None;
        assert!(instance_config(&c.vrrp.instance[0], &no_ll, &[]).is_err());
        let c = parse(
            r#"
[vrrp.script.chk]
script = "/bin/true"
[[vrrp.instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 1
virtual_ipaddress = ["10.0.0.100"]
track_script = [{ name = "chk" }]
"#,
        );
        let e = instance_config(&c.vrrp.instance[0], &facts(), &[]).unwrap_err();
        assert!(e.contains("track_script"), "{e}");
    }
}
