//! The bonding ARP link monitor for active-backup mode, sans-IO.
//!
//! Follows Linux `Documentation/networking/bonding.rst` (`arp_interval`,
//! `arp_ip_target`, `arp_validate`, `arp_all_targets`, `arp_missed_max`) and
//! the active-backup monitor of `drivers/net/bonding/bond_main.c`
//! (`bond_ab_arp_inspect`, `bond_ab_arp_commit`, `bond_ab_arp_probe`,
//! `bond_rcv_validate`, `bond_arp_rcv`, `bond_validate_arp`,
//! `bond_time_in_interval`), in our own code.
//!
//! Every `arp_interval` the monitor runs one *tick*:
//!
//! 1. **Inspect** each port, with `δ = arp_interval` and "within k" meaning
//!    `now ≤ t + k·δ + δ/2` (`bond_time_in_interval`):
//!    * a port not up comes up when its last receive is within 1; a
//!      candidate ([`LinkState::Back`]) without one becomes
//!      [`LinkState::Fail`];
//!    * an up port is left alone within 2 of becoming up or active;
//!    * a backup goes down when its last receive is not within
//!      `missed_max + 1` and no candidate is being probed;
//!    * the active port (or candidate) goes down when its last probe or its
//!      last receive is not within `missed_max`.
//! 2. **Commit** the changes as [`Output::LinkUp`] / [`Output::LinkDown`].
//!    When the active port goes down the monitor forgets it; choosing a new
//!    one is the caller's job ([`Input::SetActive`]).
//! 3. **Probe**: an ARP request (RFC 826; `tha` 00:00:00:00:00:00 like the
//!    kernel's `arp_create`) to every target, from the active port. With no
//!    active port, the kernel's `current_arp_slave` rotation runs instead:
//!    each tick the next port with carrier after the previous candidate
//!    (after the first port when there is none) becomes the candidate, takes
//!    the active role for validation and sends the probes.
//!
//! Proof of life (`slave->last_rx`), per port role and `arp_validate`:
//! * not validated, no filter: any received frame;
//! * not validated, filter (`filter`, `filter_active` on a backup,
//!   `filter_backup` on the active port): any ARP frame;
//! * validated: an ARP whose sender is a target and whose target is our
//!   source IP, received (a) on the active port or candidate, or (b) on a
//!   backup, read swapped (our own broadcast request seen through the
//!   switch), once the active port has had proof of life since it became
//!   active, or (c) on any port, a reply while a candidate probed within
//!   the last interval.
//!
//! With `arp_all_targets all`, a validated port's last receive is the oldest
//! of its per-target receive times.
//!
//! Deviations from the kernel, for a caller-driven role choice:
//! * a port the caller made active while it was down comes up on proof of
//!   life like any other (the kernel never has a down active slave);
//! * `arp_all_targets all` applies only to validated ports (the kernel
//!   applies it always, so unvalidated ports would never see a receive);
//! * the rotation never demotes an up port to a candidate, and it returns
//!   the previous candidate to the backup role;
//! * a port without carrier sends no probes (the kernel hands them to a
//!   dead device and counts them as sent);
//! * filter modes count ARP only (the kernel also counts IPv6 for its
//!   `ns_ip6_target` monitor, which is not modelled);
//! * frames the parser rejects still count as traffic where any traffic
//!   counts (and are counted as invalid).

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::MacAddr;
use crate::time::add;
use crate::wire::arp::{ArpOperation, ArpRepr};
use crate::wire::ethernet::VlanTag;
use crate::wire::{Frame, Payload, parse_frame};

/// Most ARP targets (`BOND_MAX_ARP_TARGETS`).
pub const MAX_TARGETS: usize = 16;
/// Most ports one monitor watches.
pub const MAX_PORTS: usize = 64;

/// Identifies a port (bond slave); chosen by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortId(pub u32);

/// `arp_validate` (bonding.rst): which roles are validated, and whether
/// only ARP counts as traffic (filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArpValidate {
    /// 0: no validation or filtering.
    #[default]
    None,
    /// 1: validate the active port only.
    Active,
    /// 2: validate backup ports only.
    Backup,
    /// 3: validate all ports.
    All,
    /// 4: filter on all ports, no validation.
    Filter,
    /// 5: filter on all ports, validate the active port.
    FilterActive,
    /// 6: filter on all ports, validate backup ports.
    FilterBackup,
}

impl ArpValidate {
    /// From the kernel's numeric value (0–6).
    pub fn from_kernel(value: u8) -> Option<Self> {
        Some(match value {
            0 => ArpValidate::None,
            1 => ArpValidate::Active,
            2 => ArpValidate::Backup,
            3 => ArpValidate::All,
            4 => ArpValidate::Filter,
            5 => ArpValidate::FilterActive,
            6 => ArpValidate::FilterBackup,
            _ => return None,
        })
    }

    /// Whether a port in this role is validated (`slave_do_arp_validate`).
    pub fn validates(self, active: bool) -> bool {
        match self {
            ArpValidate::None | ArpValidate::Filter => false,
            ArpValidate::All => true,
            ArpValidate::Active | ArpValidate::FilterActive => active,
            ArpValidate::Backup | ArpValidate::FilterBackup => !active,
        }
    }

    /// Whether only ARP counts as traffic (`slave_do_arp_validate_only`).
    pub fn filters(self) -> bool {
        matches!(
            self,
            ArpValidate::Filter | ArpValidate::FilterActive | ArpValidate::FilterBackup
        )
    }
}

/// `arp_all_targets`: proof from any target suffices, or from all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AllTargets {
    /// 0: up while any target answers.
    #[default]
    Any,
    /// 1: up only while all targets answer.
    All,
}

/// A port's link as the monitor sees it (`BOND_LINK_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Usable.
    Up,
    /// Was a candidate and got no answer.
    Fail,
    /// Not usable.
    Down,
    /// Candidate being probed while no port is active.
    Back,
}

/// One watched port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortConfig {
    /// Caller's identifier.
    pub id: PortId,
    /// Source MAC of its probes.
    pub mac: MacAddr,
    /// Carrier at start; the link starts up with carrier, down without.
    pub carrier: bool,
}

/// Monitor configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `arp_interval`; must be positive.
    pub arp_interval: Duration,
    /// `arp_ip_target`: 1 to [`MAX_TARGETS`] distinct addresses.
    pub targets: Vec<Ipv4Addr>,
    /// Sender IP of the probes; `None` sends 0.0.0.0 like a bond without an
    /// address. Validated modes need it (replies must target it).
    pub source_ip: Option<Ipv4Addr>,
    /// Tags on the probes, outer first (0–2).
    pub vlans: Vec<VlanTag>,
    /// `arp_validate`.
    pub validate: ArpValidate,
    /// `arp_all_targets`.
    pub all_targets: AllTargets,
    /// `arp_missed_max` (1–255, default 2).
    pub missed_max: u8,
    /// The ports, in the bond's slave order (used by the rotation).
    pub ports: Vec<PortConfig>,
    /// The initially active port.
    pub active: Option<PortId>,
}

impl Config {
    /// Kernel defaults: no validation, `any`, `arp_missed_max` 2, no VLAN.
    pub fn new(arp_interval: Duration, targets: Vec<Ipv4Addr>, ports: Vec<PortConfig>) -> Self {
        Config {
            arp_interval,
            targets,
            source_ip: None,
            vlans: Vec::new(),
            validate: ArpValidate::None,
            all_targets: AllTargets::Any,
            missed_max: 2,
            ports,
            active: None,
        }
    }
}

/// Why [`ArpMonitor::new`] refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `arp_interval` is zero.
    #[error("arp_interval must be positive")]
    ZeroInterval,
    /// No target.
    #[error("no arp_ip_target")]
    NoTargets,
    /// More than [`MAX_TARGETS`] targets.
    #[error("more than {MAX_TARGETS} arp_ip_targets")]
    TooManyTargets,
    /// 0.0.0.0/8 or 255.255.255.255 (`bond_is_ip_target_ok`).
    #[error("bad arp_ip_target {0}")]
    BadTarget(Ipv4Addr),
    /// The same target twice.
    #[error("arp_ip_target {0} listed twice")]
    DuplicateTarget(Ipv4Addr),
    /// Unspecified, broadcast or multicast source IP.
    #[error("bad source IP {0}")]
    BadSourceIp(Ipv4Addr),
    /// A validating `arp_validate` mode without a source IP.
    #[error("arp_validate needs a source IP")]
    ValidateWithoutSourceIp,
    /// `arp_missed_max` is 0.
    #[error("arp_missed_max must be 1-255")]
    ZeroMissedMax,
    /// No port, or more than [`MAX_PORTS`].
    #[error("need 1 to {MAX_PORTS} ports")]
    PortCount,
    /// Two ports share an id.
    #[error("port {0:?} listed twice")]
    DuplicatePort(PortId),
    /// A port MAC that is not unicast.
    #[error("port {0:?} MAC is not unicast")]
    PortMacNotUnicast(PortId),
    /// `active` names no configured port.
    #[error("active port {0:?} is not configured")]
    UnknownActive(PortId),
    /// More than two VLAN tags.
    #[error("at most two VLAN tags")]
    TooManyVlans,
}

/// Events fed to [`ArpMonitor::handle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// A frame received on a port (bond_rcv_validate).
    Frame {
        /// Receiving port.
        port: PortId,
        /// The whole Ethernet frame.
        bytes: &'a [u8],
    },
    /// The caller chose the active port (`None`: no active port; the
    /// rotation probes instead).
    SetActive(Option<PortId>),
    /// Carrier of a port changed (used by the rotation and for sending).
    CarrierChanged {
        /// The port.
        port: PortId,
        /// Carrier present.
        up: bool,
    },
    /// Add a target (refused and counted when full, duplicate or bad); its
    /// per-port receive time starts at now, like the kernel's.
    AddTarget(Ipv4Addr),
    /// Remove a target (counted when unknown).
    RemoveTarget(Ipv4Addr),
}

/// Results drained with [`ArpMonitor::poll_output`].
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this frame on this port.
    Transmit {
        /// Sending port.
        port: PortId,
        /// The complete Ethernet frame.
        frame: Vec<u8>,
    },
    /// The port's link is up.
    LinkUp {
        /// The port.
        port: PortId,
    },
    /// The port's link is down.
    LinkDown {
        /// The port.
        port: PortId,
    },
}

/// Running totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Monitor ticks run.
    pub ticks: u64,
    /// Probe frames output.
    pub probes_sent: u64,
    /// Frames received on known ports.
    pub frames_received: u64,
    /// Received frames the parser rejected.
    pub invalid_frames: u64,
    /// ARP frames received.
    pub arp_received: u64,
    /// ARP frames accepted as validated proof of life.
    pub arp_validated: u64,
    /// Inputs naming an unknown port.
    pub unknown_port: u64,
    /// Refused `AddTarget` / `RemoveTarget`.
    pub targets_rejected: u64,
}

#[derive(Debug, Clone)]
struct Port {
    id: PortId,
    mac: MacAddr,
    carrier: bool,
    link: LinkState,
    /// Backup role (`slave->backup`); false for the active port and the
    /// rotation candidate.
    backup: bool,
    last_rx: Option<Instant>,
    target_last_rx: Vec<Option<Instant>>,
    last_tx: Option<Instant>,
    last_link_up: Option<Instant>,
    link_failures: u32,
}

/// `a` strictly after `b`, `None` being "never".
fn time_after(a: Option<Instant>, b: Option<Instant>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x > y,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

fn target_ok(ip: Ipv4Addr) -> bool {
    ip.octets().first().is_some_and(|&o| o != 0) && !ip.is_broadcast()
}

/// The ARP link monitor (workspace convention: `new`, `handle`,
/// `handle_timeout`, `poll_output`, `poll_timeout`).
#[derive(Debug)]
pub struct ArpMonitor {
    interval: Duration,
    targets: Vec<Ipv4Addr>,
    source_ip: Option<Ipv4Addr>,
    vlans: Vec<VlanTag>,
    validate: ArpValidate,
    all_targets: AllTargets,
    missed_max: u8,
    ports: Vec<Port>,
    active: Option<usize>,
    current_arp: Option<usize>,
    next_tick: Instant,
    out: VecDeque<Output>,
    counters: Counters,
}

impl ArpMonitor {
    /// Validates `cfg`. The first tick is due at `now` (the kernel queues
    /// the monitor with no delay when the bond opens).
    pub fn new(cfg: Config, now: Instant) -> Result<Self, ConfigError> {
        if cfg.arp_interval.is_zero() {
            return Err(ConfigError::ZeroInterval);
        }
        if cfg.targets.is_empty() {
            return Err(ConfigError::NoTargets);
        }
        if cfg.targets.len() > MAX_TARGETS {
            return Err(ConfigError::TooManyTargets);
        }
        for (i, &t) in cfg.targets.iter().enumerate() {
            if !target_ok(t) {
                return Err(ConfigError::BadTarget(t));
            }
            if cfg.targets.iter().take(i).any(|&u| u == t) {
                return Err(ConfigError::DuplicateTarget(t));
            }
        }
        if let Some(ip) = cfg.source_ip
            && (ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast())
        {
            return Err(ConfigError::BadSourceIp(ip));
        }
        let validating = cfg.validate.validates(true) || cfg.validate.validates(false);
        if validating && cfg.source_ip.is_none() {
            return Err(ConfigError::ValidateWithoutSourceIp);
        }
        if cfg.missed_max == 0 {
            return Err(ConfigError::ZeroMissedMax);
        }
        if cfg.vlans.len() > 2 {
            return Err(ConfigError::TooManyVlans);
        }
        if cfg.ports.is_empty() || cfg.ports.len() > MAX_PORTS {
            return Err(ConfigError::PortCount);
        }
        for (i, p) in cfg.ports.iter().enumerate() {
            if cfg.ports.iter().take(i).any(|q| q.id == p.id) {
                return Err(ConfigError::DuplicatePort(p.id));
            }
            if !p.mac.is_unicast() {
                return Err(ConfigError::PortMacNotUnicast(p.id));
            }
        }
        let active = match cfg.active {
            Some(id) => Some(
                cfg.ports
                    .iter()
                    .position(|p| p.id == id)
                    .ok_or(ConfigError::UnknownActive(id))?,
            ),
            None => None,
        };
        let ports = cfg
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| Port {
                id: p.id,
                mac: p.mac,
                carrier: p.carrier,
                link: if p.carrier {
                    LinkState::Up
                } else {
                    LinkState::Down
                },
                backup: active != Some(i),
                last_rx: None,
                target_last_rx: vec![None; cfg.targets.len()],
                last_tx: None,
                last_link_up: (p.carrier || active == Some(i)).then_some(now),
                link_failures: 0,
            })
            .collect();
        Ok(ArpMonitor {
            interval: cfg.arp_interval,
            targets: cfg.targets,
            source_ip: cfg.source_ip,
            vlans: cfg.vlans,
            validate: cfg.validate,
            all_targets: cfg.all_targets,
            missed_max: cfg.missed_max,
            ports,
            active,
            current_arp: None,
            next_tick: now,
            out: VecDeque::new(),
            counters: Counters::default(),
        })
    }

    /// Feeds one event.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) {
        match input {
            Input::Frame { port, bytes } => self.receive(now, port, bytes),
            Input::SetActive(port) => self.set_active(now, port),
            Input::CarrierChanged { port, up } => match self.index(port) {
                Some(i) => {
                    if let Some(p) = self.ports.get_mut(i) {
                        p.carrier = up;
                    }
                }
                None => self.unknown_port(),
            },
            Input::AddTarget(ip) => self.add_target(now, ip),
            Input::RemoveTarget(ip) => self.remove_target(ip),
        }
    }

    /// Runs the monitor tick when due; earlier calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_tick {
            return;
        }
        self.next_tick = add(now, self.interval);
        self.counters.ticks = self.counters.ticks.saturating_add(1);
        self.inspect_and_commit(now);
        self.probe(now);
    }

    /// Next output, if any; drain until `None`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When the next tick is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next_tick)
    }

    /// Running totals.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The current targets, in probe order.
    pub fn targets(&self) -> &[Ipv4Addr] {
        &self.targets
    }

    /// A port's link state.
    pub fn link_state(&self, port: PortId) -> Option<LinkState> {
        self.port(port).map(|p| p.link)
    }

    /// How often a port's link went down.
    pub fn link_failures(&self, port: PortId) -> Option<u32> {
        self.port(port).map(|p| p.link_failures)
    }

    /// The active port.
    pub fn active(&self) -> Option<PortId> {
        self.active.and_then(|i| self.ports.get(i)).map(|p| p.id)
    }

    /// The rotation candidate (`current_arp_slave`) while no port is active.
    pub fn candidate(&self) -> Option<PortId> {
        self.current_arp
            .and_then(|i| self.ports.get(i))
            .map(|p| p.id)
    }

    fn port(&self, id: PortId) -> Option<&Port> {
        self.ports.iter().find(|p| p.id == id)
    }

    fn index(&self, id: PortId) -> Option<usize> {
        self.ports.iter().position(|p| p.id == id)
    }

    fn unknown_port(&mut self) {
        self.counters.unknown_port = self.counters.unknown_port.saturating_add(1);
    }

    fn target_rejected(&mut self) {
        self.counters.targets_rejected = self.counters.targets_rejected.saturating_add(1);
    }

    /// `bond_time_in_interval`: `t − δ ≤ now ≤ t + k·δ + δ/2`.
    fn within(&self, now: Instant, t: Option<Instant>, k: u32) -> bool {
        let Some(t) = t else {
            return false;
        };
        let half = self.interval.checked_div(2).unwrap_or_default();
        let span = self
            .interval
            .checked_mul(k)
            .and_then(|d| d.checked_add(half));
        let below = span
            .and_then(|s| t.checked_add(s))
            .is_none_or(|hi| now <= hi);
        let above = t.checked_sub(self.interval).is_none_or(|lo| now >= lo);
        below && above
    }

    fn validating(&self, port: &Port) -> bool {
        self.validate.validates(!port.backup)
    }

    /// `slave_last_rx`.
    fn last_rx(&self, port: &Port) -> Option<Instant> {
        if self.all_targets == AllTargets::All
            && self.validating(port)
            && !port.target_last_rx.is_empty()
        {
            let mut oldest: Option<Instant> = None;
            for t in &port.target_last_rx {
                let t = (*t)?;
                oldest = Some(oldest.map_or(t, |o| o.min(t)));
            }
            oldest
        } else {
            port.last_rx
        }
    }

    fn inspect_and_commit(&mut self, now: Instant) {
        let missed = u32::from(self.missed_max);
        let mut proposals: Vec<(usize, LinkState)> = Vec::new();
        for (i, port) in self.ports.iter().enumerate() {
            let last_rx = self.last_rx(port);
            if port.link != LinkState::Up {
                if self.within(now, last_rx, 1) {
                    proposals.push((i, LinkState::Up));
                } else if port.link == LinkState::Back {
                    proposals.push((i, LinkState::Fail));
                }
                continue;
            }
            if self.within(now, port.last_link_up, 2) {
                continue;
            }
            if port.backup
                && self.current_arp.is_none()
                && !self.within(now, last_rx, missed.saturating_add(1))
            {
                proposals.push((i, LinkState::Down));
            }
            if !port.backup
                && (!self.within(now, port.last_tx, missed) || !self.within(now, last_rx, missed))
            {
                proposals.push((i, LinkState::Down));
            }
        }
        for (i, state) in proposals {
            let Some(port) = self.ports.get_mut(i) else {
                continue;
            };
            let id = port.id;
            match state {
                LinkState::Up => {
                    port.link = LinkState::Up;
                    self.out.push_back(Output::LinkUp { port: id });
                    if let Some(c) = self.current_arp.take()
                        && let Some(cand) = self.ports.get_mut(c)
                    {
                        cand.backup = true;
                    }
                }
                LinkState::Down => {
                    if port.link == LinkState::Down {
                        continue;
                    }
                    port.link = LinkState::Down;
                    port.link_failures = port.link_failures.saturating_add(1);
                    port.backup = true;
                    self.out.push_back(Output::LinkDown { port: id });
                    if self.active == Some(i) {
                        self.active = None;
                        self.current_arp = None;
                    }
                }
                LinkState::Fail | LinkState::Back => {
                    port.link = LinkState::Fail;
                    port.backup = true;
                    if self.active.is_some() {
                        self.current_arp = None;
                    }
                }
            }
        }
    }

    /// `bond_ab_arp_probe`.
    fn probe(&mut self, now: Instant) {
        if let Some(a) = self.active {
            self.send_all(now, a);
            return;
        }
        let cur = self.current_arp.unwrap_or(0);
        let mut before = None;
        let mut next = None;
        let mut found = false;
        for (i, port) in self.ports.iter_mut().enumerate() {
            if !found && before.is_none() && port.carrier {
                before = Some(i);
            }
            if found && next.is_none() && port.carrier {
                next = Some(i);
            }
            if !port.carrier && port.link == LinkState::Up {
                port.link = LinkState::Down;
                port.link_failures = port.link_failures.saturating_add(1);
                port.backup = true;
                self.out.push_back(Output::LinkDown { port: port.id });
            }
            if i == cur {
                found = true;
            }
        }
        let Some(n) = next.or(before) else {
            return;
        };
        if let Some(prev) = self.current_arp
            && prev != n
            && let Some(p) = self.ports.get_mut(prev)
        {
            p.backup = true;
        }
        if let Some(port) = self.ports.get_mut(n) {
            if port.link != LinkState::Up {
                port.link = LinkState::Back;
            }
            port.backup = false;
            port.last_link_up = Some(now);
        }
        self.current_arp = Some(n);
        self.send_all(now, n);
    }

    /// `bond_arp_send_all`: one request per target, in target order.
    fn send_all(&mut self, now: Instant, i: usize) {
        let Some(port) = self.ports.get_mut(i) else {
            return;
        };
        if !port.carrier || self.targets.is_empty() {
            return;
        }
        let spa = self.source_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        for &target in &self.targets {
            let mut frame = Frame::arp_request(port.mac, spa, target);
            frame.eth.vlans = self.vlans.clone();
            self.out.push_back(Output::Transmit {
                port: port.id,
                frame: frame.to_bytes(),
            });
            self.counters.probes_sent = self.counters.probes_sent.saturating_add(1);
        }
        port.last_tx = Some(now);
    }

    /// `bond_rcv_validate`.
    fn receive(&mut self, now: Instant, id: PortId, bytes: &[u8]) {
        let Some(i) = self.index(id) else {
            self.unknown_port();
            return;
        };
        self.counters.frames_received = self.counters.frames_received.saturating_add(1);
        let parsed = parse_frame(bytes);
        let arp = match &parsed {
            Ok(Frame {
                eth,
                payload: Payload::Arp(arp),
            }) => {
                self.counters.arp_received = self.counters.arp_received.saturating_add(1);
                Some((eth.dst, *arp))
            }
            Ok(_) => None,
            Err(_) => {
                self.counters.invalid_frames = self.counters.invalid_frames.saturating_add(1);
                None
            }
        };
        let Some(port) = self.ports.get(i) else {
            return;
        };
        if !self.validating(port) {
            if (!self.validate.filters() || arp.is_some())
                && let Some(p) = self.ports.get_mut(i)
            {
                p.last_rx = Some(now);
            }
            return;
        }
        let Some((dst, arp)) = arp else {
            return;
        };
        // PACKET_OTHERHOST: unicast to someone else.
        if !dst.is_multicast() && dst != port.mac {
            return;
        }
        self.arp_rcv(now, i, &arp);
    }

    /// `bond_arp_rcv`: which received ARP is trusted, and how it is read.
    fn arp_rcv(&mut self, now: Instant, i: usize, arp: &ArpRepr) {
        let Some(port) = self.ports.get(i) else {
            return;
        };
        let (sip, tip) = (arp.spa, arp.tpa);
        if !port.backup {
            self.validate_arp(now, i, sip, tip);
            return;
        }
        let active_heard = self
            .active
            .and_then(|a| self.ports.get(a))
            .is_some_and(|a| time_after(self.last_rx(a), a.last_link_up));
        if active_heard {
            self.validate_arp(now, i, tip, sip);
            return;
        }
        let candidate_probed = self
            .current_arp
            .and_then(|c| self.ports.get(c))
            .is_some_and(|c| self.within(now, c.last_tx, 1));
        if candidate_probed && arp.operation == ArpOperation::Reply {
            self.validate_arp(now, i, sip, tip);
        }
    }

    /// `bond_validate_arp`.
    fn validate_arp(&mut self, now: Instant, i: usize, sip: Ipv4Addr, tip: Ipv4Addr) {
        if sip.is_unspecified() || Some(tip) != self.source_ip {
            return;
        }
        let Some(k) = self.targets.iter().position(|&t| t == sip) else {
            return;
        };
        let Some(port) = self.ports.get_mut(i) else {
            return;
        };
        port.last_rx = Some(now);
        if let Some(slot) = port.target_last_rx.get_mut(k) {
            *slot = Some(now);
        }
        self.counters.arp_validated = self.counters.arp_validated.saturating_add(1);
    }

    /// `bond_change_active_slave`, as far as the monitor is concerned.
    fn set_active(&mut self, now: Instant, port: Option<PortId>) {
        let new = match port {
            Some(id) => match self.index(id) {
                Some(i) => Some(i),
                None => {
                    self.unknown_port();
                    return;
                }
            },
            None => None,
        };
        if new == self.active {
            return;
        }
        if let Some(old) = self.active
            && let Some(p) = self.ports.get_mut(old)
        {
            p.backup = true;
        }
        self.active = new;
        let Some(n) = new else {
            return;
        };
        if let Some(c) = self.current_arp.take()
            && c != n
            && let Some(p) = self.ports.get_mut(c)
        {
            p.backup = true;
        }
        if let Some(p) = self.ports.get_mut(n) {
            p.backup = false;
            p.last_link_up = Some(now);
            if p.link == LinkState::Back {
                p.link = LinkState::Up;
                self.out.push_back(Output::LinkUp { port: p.id });
            }
        }
    }

    fn add_target(&mut self, now: Instant, ip: Ipv4Addr) {
        if !target_ok(ip) || self.targets.contains(&ip) || self.targets.len() >= MAX_TARGETS {
            self.target_rejected();
            return;
        }
        self.targets.push(ip);
        for p in &mut self.ports {
            p.target_last_rx.push(Some(now));
        }
    }

    fn remove_target(&mut self, ip: Ipv4Addr) {
        let Some(k) = self.targets.iter().position(|&t| t == ip) else {
            self.target_rejected();
            return;
        };
        self.targets.remove(k);
        for p in &mut self.ports {
            if k < p.target_last_rx.len() {
                p.target_last_rx.remove(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor(interval_ms: u64) -> (ArpMonitor, Instant) {
        let t0 = Instant::now();
        let port = PortConfig {
            id: PortId(1),
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            carrier: true,
        };
        let cfg = Config::new(
            Duration::from_millis(interval_ms),
            vec![Ipv4Addr::new(10, 0, 0, 1)],
            vec![port],
        );
        (ArpMonitor::new(cfg, t0).unwrap(), t0)
    }

    #[test]
    fn arp_validate_modes_match_the_kernel_bits() {
        // BOND_ARP_VALIDATE_ACTIVE = 1, _BACKUP = 2, BOND_ARP_FILTER = 4.
        for v in 0..=6u8 {
            let mode = ArpValidate::from_kernel(v).unwrap();
            assert_eq!(mode.validates(true), v & 1 != 0, "{mode:?}");
            assert_eq!(mode.validates(false), v & 2 != 0, "{mode:?}");
            assert_eq!(mode.filters(), v & 4 != 0, "{mode:?}");
        }
        assert_eq!(ArpValidate::from_kernel(7), None);
    }

    #[test]
    fn within_is_bond_time_in_interval() {
        let (m, t0) = monitor(100);
        let ms = Duration::from_millis;
        let t = Some(t0 + ms(1000));
        // Upper bound t + k·δ + δ/2, inclusive.
        assert!(m.within(t0 + ms(1250), t, 2));
        assert!(!m.within(t0 + ms(1251), t, 2));
        assert!(m.within(t0 + ms(1150), t, 1));
        assert!(!m.within(t0 + ms(1151), t, 1));
        // Lower bound t − δ, inclusive.
        assert!(m.within(t0 + ms(900), t, 1));
        assert!(!m.within(t0 + ms(899), t, 1));
        assert!(!m.within(t0, None, 255));
    }

    #[test]
    fn odd_interval_half_is_exact_to_the_nanosecond() {
        let (m, t0) = monitor(3);
        let t = Some(t0);
        let d = Duration::from_micros;
        assert!(m.within(t0 + d(4500), t, 1));
        assert!(!m.within(t0 + d(4501), t, 1));
    }

    #[test]
    fn helpers() {
        let t0 = Instant::now();
        let later = t0 + Duration::from_millis(1);
        assert!(time_after(Some(later), Some(t0)));
        assert!(!time_after(Some(t0), Some(t0)));
        assert!(time_after(Some(t0), None));
        assert!(!time_after(None, Some(t0)));
        assert!(!target_ok(Ipv4Addr::new(0, 9, 9, 9)));
        assert!(!target_ok(Ipv4Addr::BROADCAST));
        assert!(target_ok(Ipv4Addr::new(192, 0, 2, 1)));
    }
}
