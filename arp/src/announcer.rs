//! Gratuitous ARP / unsolicited Neighbor Advertisement announcer: the
//! schedule of peer notifications after a takeover, sans-IO.
//!
//! Models keepalived's `garp_master_*` / `garp_lower_prio_*` /
//! `vrrp_garp_interval` / `vrrp_gna_interval` policy and Linux bonding's
//! `num_grat_arp` / `num_unsol_na` / `peer_notif_delay`
//! (Documentation/networking/bonding.rst). Frames: RFC 5227 §3 ARP
//! announcements (three forms, see [`GarpForm`]) and RFC 4861 §7.2.6
//! unsolicited Neighbor Advertisements.
//!
//! # Schedule
//!
//! Times below are relative to `T0 = Start time + initial_delay`.
//!
//! * A *round* sends one frame per address, in the order the addresses were
//!   configured or added (IPv4 and IPv6 interleaved as listed).
//! * A *burst* is `n` rounds; a round starts `repeat_interval` after the
//!   previous round of the same burst started, and never before that round's
//!   frames have all gone out. `repeat_interval` is bonding's
//!   `peer_notif_delay`; keepalived sends rounds back to back (0).
//! * Takeover ([`Input::Start`]): a burst of `repeat` rounds at `T0`
//!   (keepalived `garp_master_repeat`, default 5; bonding `num_grat_arp`,
//!   default 1); a second burst of `repeat` rounds at `T0 +
//!   second_burst_delay` (keepalived `garp_master_delay`, default 5 s; 0 =
//!   none); while running, a burst of `refresh_repeat` rounds at `T0 + k ·
//!   refresh` for k ≥ 1 (keepalived `garp_master_refresh`, 0 = off, and
//!   `garp_master_refresh_repeat`, default 1).
//! * [`Input::LowerPriorityHeard`]: a burst of `lower_prio_repeat` rounds at
//!   once and another after `lower_prio_delay` (keepalived
//!   `garp_lower_prio_repeat` / `garp_lower_prio_delay`; here they default to
//!   the `garp_master_*` values, 0 = none).
//! * Bursts run one at a time, in order of their start times; a burst that
//!   falls due while another is running waits for it.
//! * Pacing of single frames: consecutive ARP frames are at least
//!   `garp_interval` apart, consecutive NA frames at least `gna_interval`
//!   apart (keepalived `vrrp_garp_interval` / `vrrp_gna_interval`, per
//!   interface, default 0), and any two frames at least `min_gap` apart. The
//!   `min_gap` rate limit is our own knob; keepalived's `vrrp_min_garp` is not
//!   a rate limit but a preset that lowers the GARP counts.
//!
//! [`Input::Stop`] (losing mastership) cancels everything, including
//! outputs not yet drained, so a router that lost
//! mastership never announces stale addresses (keepalived#166).

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use crate::MacAddr;
use crate::time::{add, earliest};
use crate::wire::Frame;
use crate::wire::Payload;
use crate::wire::arp::ArpRepr;
use crate::wire::ethernet::{ETHERTYPE_ARP, EthernetRepr, VlanTag};

/// Most addresses one announcer handles.
pub const MAX_ADDRESSES: usize = 1024;
/// Largest accepted repeat count (bonding's `num_grat_arp` range is 0–255).
pub const MAX_REPEAT: u32 = 255;
/// Most bursts waiting at once; further ones are dropped and counted.
pub const MAX_PENDING_BURSTS: usize = 8;

/// Which of the three common gratuitous ARP layouts to send
/// (vrrp-arp.md §5). All go to the Ethernet broadcast address with
/// sender and target protocol address both set to the announced address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GarpForm {
    /// Request with target hardware address ff:ff:ff:ff:ff:ff: keepalived,
    /// FRR, `arping -U`.
    #[default]
    Request,
    /// Reply with target hardware address = sender's: `arping -A`.
    Reply,
    /// Request with target hardware address 00:00:00:00:00:00: the Linux
    /// kernel's `arp_create` (bonding peer notification).
    Kernel,
}

/// Announcer configuration. Build with [`Config::keepalived`] or
/// [`Config::bonding`] and adjust fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Sender MAC of every frame (the (V)MAC owning the addresses).
    pub source_mac: MacAddr,
    /// 802.1Q / 802.1ad tags put on every frame, outer first (0–2).
    pub vlans: Vec<VlanTag>,
    /// Layout of the IPv4 frames.
    pub garp_form: GarpForm,
    /// R flag of the Neighbor Advertisements (RFC 4861 §4.4).
    pub na_router: bool,
    /// Addresses to announce, in announcement order.
    pub addresses: Vec<IpAddr>,
    /// Delay from [`Input::Start`] to the first burst.
    pub initial_delay: Duration,
    /// Rounds per takeover burst (`garp_master_repeat`, `num_grat_arp`).
    pub repeat: u32,
    /// Time between the starts of consecutive rounds of a burst
    /// (bonding `peer_notif_delay`).
    pub repeat_interval: Duration,
    /// Minimum time between two ARP frames (`vrrp_garp_interval`).
    pub garp_interval: Duration,
    /// Minimum time between two NA frames (`vrrp_gna_interval`).
    pub gna_interval: Duration,
    /// Minimum time between any two frames (rate limit).
    pub min_gap: Duration,
    /// Delay from the first to the second takeover burst
    /// (`garp_master_delay`); zero means no second burst.
    pub second_burst_delay: Duration,
    /// Refresh period while running (`garp_master_refresh`); zero is off.
    pub refresh: Duration,
    /// Rounds per refresh burst (`garp_master_refresh_repeat`).
    pub refresh_repeat: u32,
    /// Rounds per burst after a lower-priority advert (`garp_lower_prio_repeat`).
    pub lower_prio_repeat: u32,
    /// Delay of the second lower-priority burst (`garp_lower_prio_delay`);
    /// zero means none.
    pub lower_prio_delay: Duration,
}

impl Config {
    /// keepalived's defaults: 5 GARPs at once, 5 more after 5 s, no refresh,
    /// request form with broadcast target hardware address.
    pub fn keepalived(source_mac: MacAddr) -> Self {
        Config {
            source_mac,
            vlans: Vec::new(),
            garp_form: GarpForm::Request,
            na_router: false,
            addresses: Vec::new(),
            initial_delay: Duration::ZERO,
            repeat: 5,
            repeat_interval: Duration::ZERO,
            garp_interval: Duration::ZERO,
            gna_interval: Duration::ZERO,
            min_gap: Duration::ZERO,
            second_burst_delay: Duration::from_secs(5),
            refresh: Duration::ZERO,
            refresh_repeat: 1,
            lower_prio_repeat: 5,
            lower_prio_delay: Duration::from_secs(5),
        }
    }

    /// Linux bonding's peer notification: `num_grat_arp` rounds spaced by
    /// `peer_notif_delay`, the first at once, kernel-form ARP; no second
    /// burst, refresh or lower-priority bursts.
    pub fn bonding(source_mac: MacAddr, num_grat_arp: u32, peer_notif_delay: Duration) -> Self {
        Config {
            garp_form: GarpForm::Kernel,
            repeat: num_grat_arp,
            repeat_interval: peer_notif_delay,
            second_burst_delay: Duration::ZERO,
            lower_prio_repeat: 0,
            lower_prio_delay: Duration::ZERO,
            ..Config::keepalived(source_mac)
        }
    }
}

/// Why [`Announcer::new`] refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The source MAC is a group address or all zeros.
    #[error("source MAC {0} is not a unicast address")]
    SourceMacNotUnicast(MacAddr),
    /// Unspecified, loopback, broadcast or multicast address.
    #[error("address {0} cannot be announced")]
    BadAddress(IpAddr),
    /// The same address is listed twice.
    #[error("address {0} listed twice")]
    DuplicateAddress(IpAddr),
    /// More than [`MAX_ADDRESSES`].
    #[error("more than {MAX_ADDRESSES} addresses")]
    TooManyAddresses,
    /// More than two VLAN tags.
    #[error("at most two VLAN tags")]
    TooManyVlans,
    /// A repeat count above [`MAX_REPEAT`].
    #[error("{0} exceeds {MAX_REPEAT}")]
    RepeatTooLarge(&'static str),
}

/// Events fed to [`Announcer::handle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// Takeover with the current address list; restarts the schedule when
    /// already running (use this for bonding's failover / link up).
    Start,
    /// Replace the address list (invalid entries are skipped and counted,
    /// repeats skipped), then [`Input::Start`].
    StartWith(&'a [IpAddr]),
    /// Lost mastership: cancel everything, undrained outputs included.
    Stop,
    /// Add an address; while running it joins the round in progress and all
    /// later rounds (no extra burst: follow with [`Input::RefreshNow`] to
    /// announce it at once).
    AddAddress(IpAddr),
    /// Remove an address, also from the round in progress.
    RemoveAddress(IpAddr),
    /// A lower-priority advert was heard while Master (keepalived
    /// `garp_lower_prio_*`); ignored when stopped.
    LowerPriorityHeard,
    /// One extra burst of `refresh_repeat` rounds now, as if the refresh
    /// timer fired (the refresh timer is not moved); ignored when stopped.
    RefreshNow,
}

/// What caused a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BurstKind {
    /// First takeover burst.
    Takeover,
    /// Second takeover burst (`garp_master_delay`).
    Second,
    /// Periodic or requested refresh.
    Refresh,
    /// First burst after a lower-priority advert.
    LowerPriority,
    /// Second burst after a lower-priority advert.
    LowerPrioritySecond,
}

/// Results drained with [`Announcer::poll_output`].
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this Ethernet frame (no padding; the NIC pads to 60 bytes).
    Transmit {
        /// The address announced.
        address: IpAddr,
        /// The complete frame.
        frame: Vec<u8>,
    },
    /// Every frame of a burst has been output.
    BurstDone {
        /// Its cause.
        kind: BurstKind,
    },
}

/// Running totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Gratuitous ARP frames output.
    pub garp_sent: u64,
    /// Unsolicited NA frames output.
    pub na_sent: u64,
    /// Bursts completed.
    pub bursts_completed: u64,
    /// Bursts dropped because [`MAX_PENDING_BURSTS`] were waiting.
    pub bursts_dropped: u64,
    /// Addresses refused by [`Input::AddAddress`] / [`Input::StartWith`].
    pub addresses_rejected: u64,
}

#[derive(Debug, Clone)]
struct Burst {
    kind: BurstKind,
    /// When the next round may start.
    next_round_at: Instant,
    rounds_left: u32,
    started: bool,
}

/// The announcer state machine (workspace convention: `new`, `handle`,
/// `handle_timeout`, `poll_output`, `poll_timeout`).
#[derive(Debug)]
pub struct Announcer {
    cfg: Config,
    addresses: Vec<IpAddr>,
    running: bool,
    bursts: VecDeque<Burst>,
    round: VecDeque<IpAddr>,
    next_refresh: Option<Instant>,
    last_tx: Option<Instant>,
    last_arp_tx: Option<Instant>,
    last_na_tx: Option<Instant>,
    now: Instant,
    out: VecDeque<Output>,
    counters: Counters,
}

fn address_ok(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => {
            !(a.is_unspecified() || a.is_loopback() || a.is_broadcast() || a.is_multicast())
        }
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_loopback() || a.is_multicast()),
    }
}

impl Announcer {
    /// Validates `cfg`; the announcer starts stopped.
    pub fn new(cfg: Config, now: Instant) -> Result<Self, ConfigError> {
        if !cfg.source_mac.is_unicast() {
            return Err(ConfigError::SourceMacNotUnicast(cfg.source_mac));
        }
        if cfg.vlans.len() > 2 {
            return Err(ConfigError::TooManyVlans);
        }
        for (name, value) in [
            ("repeat", cfg.repeat),
            ("refresh_repeat", cfg.refresh_repeat),
            ("lower_prio_repeat", cfg.lower_prio_repeat),
        ] {
            if value > MAX_REPEAT {
                return Err(ConfigError::RepeatTooLarge(name));
            }
        }
        if cfg.addresses.len() > MAX_ADDRESSES {
            return Err(ConfigError::TooManyAddresses);
        }
        let mut addresses: Vec<IpAddr> = Vec::with_capacity(cfg.addresses.len());
        for &addr in &cfg.addresses {
            if !address_ok(addr) {
                return Err(ConfigError::BadAddress(addr));
            }
            if addresses.contains(&addr) {
                return Err(ConfigError::DuplicateAddress(addr));
            }
            addresses.push(addr);
        }
        Ok(Announcer {
            cfg,
            addresses,
            running: false,
            bursts: VecDeque::new(),
            round: VecDeque::new(),
            next_refresh: None,
            last_tx: None,
            last_arp_tx: None,
            last_na_tx: None,
            now,
            out: VecDeque::new(),
            counters: Counters::default(),
        })
    }

    /// The configuration (its `addresses` field is the initial list; see
    /// [`Announcer::addresses`] for the current one).
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The current address list, in announcement order.
    pub fn addresses(&self) -> &[IpAddr] {
        &self.addresses
    }

    /// Whether a takeover is in effect (between `Start` and `Stop`).
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Running totals.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Feeds one event.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) {
        self.now = self.now.max(now);
        match input {
            Input::Start => self.start(now),
            Input::StartWith(list) => {
                self.addresses.clear();
                for &addr in list {
                    self.insert_address(addr);
                }
                self.start(now);
            }
            Input::Stop => self.stop(),
            Input::AddAddress(addr) => {
                if self.insert_address(addr) && self.running && !self.round.is_empty() {
                    self.round.push_back(addr);
                }
            }
            Input::RemoveAddress(addr) => {
                self.addresses.retain(|a| *a != addr);
                self.round.retain(|a| *a != addr);
            }
            Input::LowerPriorityHeard => {
                if self.running {
                    let rounds = self.cfg.lower_prio_repeat;
                    self.schedule(BurstKind::LowerPriority, now, rounds);
                    if !self.cfg.lower_prio_delay.is_zero() {
                        let at = add(now, self.cfg.lower_prio_delay);
                        self.schedule(BurstKind::LowerPrioritySecond, at, rounds);
                    }
                }
            }
            Input::RefreshNow => {
                if self.running {
                    self.schedule(BurstKind::Refresh, now, self.cfg.refresh_repeat);
                }
            }
        }
        self.process(now);
    }

    /// Runs what is due at `now`; a call before [`Announcer::poll_timeout`]
    /// is a no-op.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        self.process(now);
    }

    /// Next output, if any; drain until `None`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Announcer::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.running {
            return None;
        }
        let work = if let Some(&addr) = self.round.front() {
            Some(self.ready_at(addr).unwrap_or(self.now))
        } else {
            self.bursts.front().map(|b| b.next_round_at)
        };
        earliest(work, self.next_refresh)
    }

    /// Adds `addr` to the list; false when refused or already present.
    fn insert_address(&mut self, addr: IpAddr) -> bool {
        if self.addresses.contains(&addr) {
            return false;
        }
        if !address_ok(addr) || self.addresses.len() >= MAX_ADDRESSES {
            self.counters.addresses_rejected = self.counters.addresses_rejected.saturating_add(1);
            return false;
        }
        self.addresses.push(addr);
        true
    }

    fn start(&mut self, now: Instant) {
        self.running = true;
        self.bursts.clear();
        self.round.clear();
        let t0 = add(now, self.cfg.initial_delay);
        self.schedule(BurstKind::Takeover, t0, self.cfg.repeat);
        if !self.cfg.second_burst_delay.is_zero() {
            let at = add(t0, self.cfg.second_burst_delay);
            self.schedule(BurstKind::Second, at, self.cfg.repeat);
        }
        self.next_refresh = if self.cfg.refresh.is_zero() {
            None
        } else {
            Some(add(t0, self.cfg.refresh))
        };
    }

    fn stop(&mut self) {
        self.running = false;
        self.bursts.clear();
        self.round.clear();
        self.next_refresh = None;
        self.out.clear();
    }

    /// Queues a burst in start-time order behind any burst already started.
    fn schedule(&mut self, kind: BurstKind, at: Instant, rounds: u32) {
        if rounds == 0 {
            return;
        }
        if self.bursts.len() >= MAX_PENDING_BURSTS {
            self.counters.bursts_dropped = self.counters.bursts_dropped.saturating_add(1);
            return;
        }
        let pos = self
            .bursts
            .iter()
            .position(|b| !b.started && b.next_round_at > at)
            .unwrap_or(self.bursts.len());
        self.bursts.insert(
            pos,
            Burst {
                kind,
                next_round_at: at,
                rounds_left: rounds,
                started: false,
            },
        );
    }

    /// Earliest time the frame for `addr` may go out under the pacing
    /// rules; `None` when unconstrained.
    fn ready_at(&self, addr: IpAddr) -> Option<Instant> {
        let any = self.last_tx.map(|t| add(t, self.cfg.min_gap));
        let family = match addr {
            IpAddr::V4(_) => self.last_arp_tx.map(|t| add(t, self.cfg.garp_interval)),
            IpAddr::V6(_) => self.last_na_tx.map(|t| add(t, self.cfg.gna_interval)),
        };
        match (any, family) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, None) => a,
            (None, b) => b,
        }
    }

    fn process(&mut self, now: Instant) {
        if !self.running {
            return;
        }
        if let Some(at) = self.next_refresh
            && at <= now
        {
            self.schedule(BurstKind::Refresh, at, self.cfg.refresh_repeat);
            let next = add(at, self.cfg.refresh);
            // Missed periods (a late caller) are coalesced into one burst.
            self.next_refresh = Some(if next <= now {
                add(now, self.cfg.refresh)
            } else {
                next
            });
        }
        // Each pass sends a frame, finishes a burst or starts a round, so the
        // loop ends after at most bursts × rounds × addresses passes.
        loop {
            if let Some(&addr) = self.round.front() {
                if self.ready_at(addr).is_some_and(|t| t > now) {
                    break;
                }
                self.round.pop_front();
                self.transmit(now, addr);
                continue;
            }
            let Some(burst) = self.bursts.front_mut() else {
                break;
            };
            if burst.rounds_left == 0 {
                let kind = burst.kind;
                self.bursts.pop_front();
                self.counters.bursts_completed = self.counters.bursts_completed.saturating_add(1);
                self.out.push_back(Output::BurstDone { kind });
                continue;
            }
            if burst.next_round_at > now {
                break;
            }
            burst.started = true;
            burst.rounds_left = burst.rounds_left.saturating_sub(1);
            burst.next_round_at = add(now, self.cfg.repeat_interval);
            self.round.extend(self.addresses.iter().copied());
        }
    }

    fn transmit(&mut self, now: Instant, address: IpAddr) {
        let frame = match address {
            IpAddr::V4(ip) => {
                self.last_arp_tx = Some(now);
                self.counters.garp_sent = self.counters.garp_sent.saturating_add(1);
                self.garp_frame(ip)
            }
            IpAddr::V6(ip) => {
                self.last_na_tx = Some(now);
                self.counters.na_sent = self.counters.na_sent.saturating_add(1);
                self.na_frame(ip)
            }
        };
        self.last_tx = Some(now);
        self.out.push_back(Output::Transmit {
            address,
            frame: frame.to_bytes(),
        });
    }

    fn garp_frame(&self, ip: Ipv4Addr) -> Frame {
        let mac = self.cfg.source_mac;
        let arp = match self.cfg.garp_form {
            GarpForm::Request => ArpRepr::gratuitous_request(mac, ip),
            GarpForm::Reply => ArpRepr::gratuitous_reply(mac, ip),
            GarpForm::Kernel => ArpRepr::gratuitous_kernel(mac, ip),
        };
        let mut eth = EthernetRepr::new(MacAddr::BROADCAST, mac, ETHERTYPE_ARP);
        eth.vlans = self.cfg.vlans.clone();
        Frame {
            eth,
            payload: Payload::Arp(arp),
        }
    }

    fn na_frame(&self, ip: Ipv6Addr) -> Frame {
        let mut frame = Frame::unsolicited_na(self.cfg.source_mac, ip, self.cfg.na_router);
        frame.eth.vlans = self.cfg.vlans.clone();
        frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);

    fn v4(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
    }

    #[test]
    fn presets_match_the_documented_defaults() {
        let k = Config::keepalived(MAC);
        assert_eq!(
            (k.repeat, k.second_burst_delay, k.refresh, k.refresh_repeat),
            (5, Duration::from_secs(5), Duration::ZERO, 1)
        );
        assert_eq!(
            (k.lower_prio_repeat, k.lower_prio_delay),
            (5, Duration::from_secs(5))
        );
        assert_eq!(k.garp_form, GarpForm::Request);
        let b = Config::bonding(MAC, 1, Duration::from_millis(100));
        assert_eq!(b.garp_form, GarpForm::Kernel);
        assert_eq!(
            (b.repeat, b.repeat_interval),
            (1, Duration::from_millis(100))
        );
        assert_eq!(
            (b.second_burst_delay, b.lower_prio_repeat),
            (Duration::ZERO, 0)
        );
    }

    #[test]
    fn bursts_queue_in_time_order_behind_the_running_one() {
        let t0 = Instant::now();
        let mut a = Announcer::new(Config::keepalived(MAC), t0).unwrap();
        a.running = true;
        let s = Duration::from_secs;
        a.schedule(BurstKind::Second, t0 + s(5), 1);
        a.schedule(BurstKind::Takeover, t0 + s(1), 1);
        a.bursts[0].started = true;
        a.schedule(BurstKind::Refresh, t0, 1);
        a.schedule(BurstKind::LowerPriority, t0 + s(5), 1);
        let kinds: Vec<BurstKind> = a.bursts.iter().map(|b| b.kind).collect();
        assert_eq!(
            kinds,
            vec![
                BurstKind::Takeover,
                BurstKind::Refresh,
                BurstKind::Second,
                BurstKind::LowerPriority
            ]
        );
        a.schedule(BurstKind::Refresh, t0, 0);
        assert_eq!(a.bursts.len(), 4, "zero rounds schedule nothing");
    }

    #[test]
    fn pending_bursts_are_bounded() {
        let t0 = Instant::now();
        let mut cfg = Config::keepalived(MAC);
        cfg.addresses = vec![v4(1)];
        cfg.min_gap = Duration::from_secs(1);
        let mut a = Announcer::new(cfg, t0).unwrap();
        a.handle(t0, Input::Start);
        for _ in 0..20 {
            a.handle(t0, Input::RefreshNow);
        }
        assert_eq!(a.bursts.len(), MAX_PENDING_BURSTS);
        assert_eq!(a.counters().bursts_dropped, 20 + 2 - 8);
    }

    #[test]
    fn ready_at_combines_family_and_global_gaps() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut cfg = Config::keepalived(MAC);
        cfg.garp_interval = ms(30);
        cfg.gna_interval = ms(5);
        cfg.min_gap = ms(10);
        let mut a = Announcer::new(cfg, t0).unwrap();
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(a.ready_at(v4(1)), None);
        a.last_tx = Some(t0);
        a.last_arp_tx = Some(t0);
        assert_eq!(a.ready_at(v4(1)), Some(t0 + ms(30)));
        assert_eq!(a.ready_at(v6), Some(t0 + ms(10)));
        a.last_na_tx = Some(t0 + ms(8));
        assert_eq!(a.ready_at(v6), Some(t0 + ms(13)));
    }

    #[test]
    fn address_filter() {
        assert!(address_ok(v4(1)));
        for bad in [
            "0.0.0.0",
            "127.0.0.1",
            "255.255.255.255",
            "224.0.0.18",
            "::",
            "::1",
            "ff02::1",
        ] {
            assert!(!address_ok(bad.parse().unwrap()), "{bad}");
        }
        assert!(address_ok("fe80::1".parse().unwrap()));
    }
}
