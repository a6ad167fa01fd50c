//! One virtual router: the RFC 5798 §6.4 state machine as updated by
//! RFC 9568 §6.4 (VRRPv2: RFC 3768 §6.4), with keepalived's Fault state,
//! preempt delay, unicast mode, tracking and lower-priority re-adverts.
//!
//! Receive checks follow RFC 5798 §7.1 (RFC 3768 §7.1 for VRRPv2): TTL,
//! version, type, length, checksum, VRID, authentication, address list,
//! interval. An invalid packet is counted, reported as
//! [`Output::Dropped`] and never touches a timer.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use arp::announcer::{self, Announcer};

use crate::config::{Config, ConfigError};
use crate::counters::{Counters, NewMasterReason, bump};
use crate::event::{DropReason, FaultCause, Input, Output, Reason, State};
use crate::packet::{Auth, Family, PacketError, TTL, Version, VrrpRepr};
use crate::router::InstanceKey;
use crate::timers::{
    add, earliest, interval_from_field, interval_to_field, master_down_interval, skew_time,
};
use crate::track::{TrackState, Tracks, effective_priority};

/// A virtual router (workspace convention: `new`, `handle`,
/// `handle_timeout`, `poll_output`, `poll_timeout`, `accepts`).
#[derive(Debug)]
pub struct Instance {
    cfg: Config,
    state: State,
    tracks: Tracks,
    link_up: bool,
    group_fault: bool,
    priority: u8,
    master_adver_interval: Duration,
    adver_timer: Option<Instant>,
    master_down_timer: Option<Instant>,
    preempt_until: Option<Instant>,
    heard_lower: bool,
    master: Option<(IpAddr, u8)>,
    announcer: Announcer,
    out: VecDeque<Output>,
    counters: Counters,
}

impl Instance {
    /// Validates `cfg`; the router starts in Initialize with the link up
    /// and every track up. Send [`Input::Startup`] to run it.
    pub fn new(cfg: Config, now: Instant) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let mut ann = cfg.announce.clone();
        ann.addresses = cfg.addresses.clone();
        let announcer = Announcer::new(ann, now).map_err(ConfigError::Announce)?;
        let tracks = Tracks::new(&cfg.tracks);
        let priority = effective_priority(cfg.priority, tracks.evaluate().delta);
        Ok(Instance {
            master_adver_interval: cfg.advert_interval,
            cfg,
            state: State::Initialize,
            tracks,
            link_up: true,
            group_fault: false,
            priority,
            adver_timer: None,
            master_down_timer: None,
            preempt_until: None,
            heard_lower: false,
            master: None,
            announcer,
            out: VecDeque::new(),
            counters: Counters::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Demultiplexing key.
    pub fn key(&self) -> InstanceKey {
        InstanceKey {
            ifindex: self.cfg.ifindex,
            family: self.cfg.family(),
            vrid: self.cfg.vrid,
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Effective priority (base plus track weights, keepalived rules).
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// Master_Adver_Interval (learned from the Master in VRRPv3).
    pub fn master_adver_interval(&self) -> Duration {
        self.master_adver_interval
    }

    /// Skew_Time for the current priority and Master_Adver_Interval.
    pub fn skew_time(&self) -> Duration {
        skew_time(self.cfg.version, self.priority, self.master_adver_interval)
    }

    /// Master_Down_Interval for the current priority and interval.
    pub fn master_down_interval(&self) -> Duration {
        master_down_interval(
            self.cfg.version,
            self.priority,
            self.master_adver_interval,
            self.cfg.down_timer_adverts,
        )
    }

    /// The current Master's address and priority as last heard (ours when
    /// Master; `None` when unknown).
    pub fn master(&self) -> Option<(IpAddr, u8)> {
        self.master
    }

    /// When the Master_Down_Timer fires (Backup only).
    pub fn master_down_timer(&self) -> Option<Instant> {
        self.master_down_timer
    }

    /// When the next advert is due (Master only).
    pub fn adver_timer(&self) -> Option<Instant> {
        self.adver_timer
    }

    /// Statistics.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Statistics of the GARP / NA announcer.
    pub fn announcer_counters(&self) -> announcer::Counters {
        self.announcer.counters()
    }

    /// The state of a tracked object.
    pub fn track_state(&self, id: u32) -> Option<TrackState> {
        self.tracks.state(id)
    }

    /// Whether `input` concerns this router: packets on its interface and
    /// family with its VRID (byte 1), link events of its interface, its
    /// tracks; other inputs always.
    pub fn accepts(&self, input: &Input<'_>) -> bool {
        match *input {
            Input::Packet {
                ifindex,
                src,
                bytes,
                ..
            } => {
                ifindex == self.cfg.ifindex
                    && Family::of(src) == self.cfg.family()
                    && bytes.get(1) == Some(&self.cfg.vrid)
            }
            Input::Link { ifindex, .. } => ifindex == self.cfg.ifindex,
            Input::TrackChanged { id, .. } => self.tracks.contains(id),
            _ => true,
        }
    }

    /// Feeds one event; never fails.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) {
        match input {
            Input::Startup => {
                if self.state == State::Initialize {
                    self.start(now, Reason::Startup);
                }
            }
            Input::Shutdown => self.shutdown(now),
            Input::Packet {
                ifindex,
                src,
                dst,
                ttl,
                bytes,
            } => self.receive(now, ifindex, src, dst, ttl, bytes),
            Input::Link { up, .. } => {
                self.link_up = up;
                self.reevaluate(now);
            }
            Input::TrackChanged { id, state } => {
                if self.tracks.update(id, state) {
                    self.reevaluate(now);
                }
            }
            Input::GroupFault(on) => {
                self.group_fault = on;
                self.reevaluate(now);
            }
            Input::GroupMaster => {
                if self.state == State::Backup {
                    self.become_master(now, Reason::SyncGroup);
                }
            }
            Input::GroupBackup => {
                if self.state == State::Master {
                    self.become_backup(now, Reason::SyncGroup, self.cfg.advert_interval);
                }
            }
        }
        self.pump();
    }

    /// Runs due timers; a call before [`Instance::poll_timeout`] is a no-op.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Backup
            && let Some(due) = self.master_down_timer.filter(|t| *t <= now)
        {
            self.become_master(now, Reason::MasterDown);
            // A late caller keeps the phase the timer set (drift-free, as
            // the advert timer below): instances that fell due while the
            // caller was busy do not all advertise in one burst for ever.
            let next = add(due, self.cfg.advert_interval);
            if next > now {
                self.adver_timer = Some(next);
            }
        }
        if self.state == State::Master
            && let Some(due) = self.adver_timer
            && due <= now
        {
            self.send_advert(self.priority);
            let next = add(due, self.cfg.advert_interval);
            // A late caller does not get a burst of catch-up adverts.
            self.adver_timer = Some(if next <= now {
                add(now, self.cfg.advert_interval)
            } else {
                next
            });
        }
        self.announcer.handle_timeout(now);
        self.pump();
    }

    /// Next output; drain until `None`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Instance::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let own = match self.state {
            State::Backup => self.master_down_timer,
            State::Master => self.adver_timer,
            State::Initialize | State::Fault => None,
        };
        earliest(own, self.announcer.poll_timeout())
    }

    fn pump(&mut self) {
        while let Some(o) = self.announcer.poll_output() {
            if let announcer::Output::Transmit { frame, .. } = o {
                self.out.push_back(Output::TransmitFrame {
                    ifindex: self.cfg.ifindex,
                    frame,
                });
            }
        }
    }

    /// A fault of this router's own (link down or a failed track), sync
    /// group aside; `None` when healthy.
    pub fn own_fault(&self) -> Option<FaultCause> {
        if !self.link_up {
            return Some(FaultCause::LinkDown);
        }
        self.tracks.evaluate().fault.map(FaultCause::Track)
    }

    /// Whether a sync group holds this router in Fault.
    pub fn group_fault(&self) -> bool {
        self.group_fault
    }

    fn fault_cause(&self) -> Option<FaultCause> {
        self.own_fault()
            .or(self.group_fault.then_some(FaultCause::SyncGroup))
    }

    fn reevaluate(&mut self, now: Instant) {
        self.priority = effective_priority(self.cfg.priority, self.tracks.evaluate().delta);
        let cause = self.fault_cause();
        match (self.state, cause) {
            (State::Fault, None) => self.start(now, Reason::FaultCleared),
            (State::Backup | State::Master, Some(cause)) => self.enter_fault(now, cause),
            _ => {}
        }
    }

    fn set_state(&mut self, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        self.out
            .push_back(Output::StateChanged { from, to, reason });
    }

    /// RFC 5798 §6.4.1 Startup (also leaving Fault).
    fn start(&mut self, now: Instant, reason: Reason) {
        if let Some(cause) = self.fault_cause() {
            if self.state != State::Fault {
                self.set_state(State::Fault, Reason::Fault(cause));
            }
            return;
        }
        if self.cfg.priority == u8::MAX {
            self.become_master(now, Reason::Owner);
        } else {
            self.become_backup(now, reason, self.cfg.advert_interval);
        }
    }

    fn become_master(&mut self, now: Instant, reason: Reason) {
        let from = self.state;
        self.set_state(State::Master, reason);
        bump(&mut self.counters.master_transitions);
        self.counters.new_master_reason = match reason {
            Reason::Owner => NewMasterReason::Priority,
            _ if self.heard_lower => NewMasterReason::Preempted,
            _ => NewMasterReason::MasterNoResponse,
        };
        self.master_down_timer = None;
        self.preempt_until = None;
        self.heard_lower = false;
        self.master = Some((self.cfg.primary_address, self.priority));
        if from != State::Master {
            let accept = self.cfg.accept_mode || self.cfg.priority == u8::MAX;
            for &address in &self.cfg.addresses {
                self.out.push_back(Output::AddAddress {
                    ifindex: self.cfg.ifindex,
                    address,
                    accept,
                });
            }
        }
        self.send_advert(self.priority);
        self.announcer.handle(now, announcer::Input::Start);
        self.adver_timer = Some(add(now, self.cfg.advert_interval));
    }

    /// Leaves Master (if Master) and waits for the Master with
    /// Master_Adver_Interval `mai`.
    fn become_backup(&mut self, now: Instant, reason: Reason, mai: Duration) {
        let was_master = self.state == State::Master;
        self.set_state(State::Backup, reason);
        if was_master {
            self.leave_master(now);
        }
        self.master_adver_interval = mai;
        self.heard_lower = false;
        self.preempt_until = None;
        self.master_down_timer = Some(add(now, self.master_down_interval()));
    }

    fn leave_master(&mut self, now: Instant) {
        self.adver_timer = None;
        self.announcer.handle(now, announcer::Input::Stop);
        for &address in &self.cfg.addresses {
            self.out.push_back(Output::RemoveAddress {
                ifindex: self.cfg.ifindex,
                address,
            });
        }
        self.master = None;
    }

    fn enter_fault(&mut self, now: Instant, cause: FaultCause) {
        let was_master = self.state == State::Master;
        self.set_state(State::Fault, Reason::Fault(cause));
        if was_master {
            self.send_advert(0);
            self.leave_master(now);
        }
        self.master_down_timer = None;
        self.preempt_until = None;
        self.master = None;
    }

    fn shutdown(&mut self, now: Instant) {
        match self.state {
            State::Initialize => {}
            State::Master => {
                self.set_state(State::Initialize, Reason::Shutdown);
                self.send_advert(0);
                self.leave_master(now);
            }
            State::Backup | State::Fault => {
                self.set_state(State::Initialize, Reason::Shutdown);
            }
        }
        self.master_down_timer = None;
        self.adver_timer = None;
        self.preempt_until = None;
        self.master = None;
    }

    fn destinations(&self) -> Vec<IpAddr> {
        match &self.cfg.unicast {
            Some(u) => u.peers.clone(),
            None => vec![self.cfg.family().group()],
        }
    }

    fn send_advert(&mut self, priority: u8) {
        let repr = VrrpRepr {
            version: self.cfg.version,
            vrid: self.cfg.vrid,
            priority,
            adver_int: interval_to_field(self.cfg.version, self.cfg.advert_interval),
            addresses: self.cfg.addresses.clone(),
            auth: self.cfg.auth,
        };
        let src = self.cfg.primary_address;
        for dst in self.destinations() {
            // Cannot fail for a validated configuration.
            let Ok(bytes) = repr.to_bytes(src, dst, self.cfg.checksum_send) else {
                continue;
            };
            bump(&mut self.counters.sent_advertisements);
            if priority == 0 {
                bump(&mut self.counters.sent_pri_zero_packets);
            }
            self.out.push_back(Output::Transmit {
                ifindex: self.cfg.ifindex,
                src,
                dst,
                ttl: TTL,
                bytes,
            });
        }
    }

    fn drop_packet(&mut self, reason: DropReason) {
        let c = &mut self.counters;
        match reason {
            DropReason::Ttl(_) => bump(&mut c.ip_ttl_errors),
            DropReason::Length => bump(&mut c.packet_length_errors),
            DropReason::Version(_) => bump(&mut c.version_errors),
            DropReason::Type(_) => bump(&mut c.rcvd_invalid_type_packets),
            DropReason::Checksum => bump(&mut c.checksum_errors),
            DropReason::Vrid(_) => bump(&mut c.vrid_errors),
            DropReason::UnknownPeer(_) => bump(&mut c.unknown_peer),
            DropReason::InvalidAuthType(_) => bump(&mut c.invalid_auth_type),
            DropReason::AuthTypeMismatch(_) => bump(&mut c.auth_type_mismatch),
            DropReason::AuthFailure => bump(&mut c.auth_failures),
            DropReason::AddressList => {} // counted where detected
            DropReason::AdverInterval { .. } => bump(&mut c.adv_interval_errors),
            DropReason::NotListening(_) | DropReason::NotOurs | DropReason::OwnAdvert => {}
        }
        self.out.push_back(Output::Dropped { reason });
    }

    /// RFC 5798 §7.1 receive checks; `Ok` carries a valid advert.
    fn validate(
        &mut self,
        ifindex: u32,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        bytes: &[u8],
    ) -> Result<VrrpRepr, DropReason> {
        let family = self.cfg.family();
        if ifindex != self.cfg.ifindex || Family::of(src) != family || Family::of(dst) != family {
            return Err(DropReason::NotOurs);
        }
        if matches!(self.state, State::Initialize | State::Fault) {
            return Err(DropReason::NotListening(self.state));
        }
        let check_ttl = self.cfg.unicast.as_ref().is_none_or(|u| u.check_ttl);
        if check_ttl && ttl != TTL {
            return Err(DropReason::Ttl(ttl));
        }
        if let Some(u) = &self.cfg.unicast
            && !u.peers.contains(&src)
        {
            return Err(DropReason::UnknownPeer(src));
        }
        if let Some(&b0) = bytes.first()
            && b0 >> 4 != self.cfg.version.number()
        {
            return Err(DropReason::Version(b0 >> 4));
        }
        let mut dsts = vec![dst];
        if self.cfg.unicast.is_some() && dst != family.group() {
            dsts.push(family.group());
        }
        let parsed = VrrpRepr::parse_with(bytes, src, &dsts, self.cfg.checksum_accept).map_err(
            |e| match e {
                PacketError::Version(v) => DropReason::Version(v),
                PacketError::V2OverIpv6 => DropReason::Version(2),
                PacketError::Type(t) => DropReason::Type(t),
                PacketError::Checksum => DropReason::Checksum,
                PacketError::FamilyMismatch => DropReason::NotOurs,
                _ => DropReason::Length,
            },
        )?;
        let repr = parsed.repr;
        if repr.vrid != self.cfg.vrid {
            return Err(DropReason::Vrid(repr.vrid));
        }
        if src == self.cfg.primary_address {
            return Err(DropReason::OwnAdvert);
        }
        if repr.version == Version::V2 {
            self.check_auth(&repr.auth)?;
        }
        let same_list = repr.addresses.len() == self.cfg.addresses.len()
            && repr
                .addresses
                .iter()
                .all(|a| self.cfg.addresses.contains(a));
        if !same_list {
            // RFC 5798 §7.1: count and log; drop unless from the owner.
            bump(&mut self.counters.address_list_errors);
            if repr.priority != u8::MAX {
                return Err(DropReason::AddressList);
            }
        }
        let interval_ok = match repr.version {
            Version::V2 => {
                repr.adver_int == interval_to_field(Version::V2, self.cfg.advert_interval)
            }
            Version::V3 => repr.adver_int != 0,
        };
        if !interval_ok {
            return Err(DropReason::AdverInterval {
                received: repr.adver_int,
            });
        }
        Ok(repr)
    }

    /// RFC 3768 §7.1 / RFC 2787 authentication checks.
    fn check_auth(&self, received: &Auth) -> Result<(), DropReason> {
        let t = received.auth_type();
        if !matches!(received, Auth::None | Auth::SimplePassword(_)) {
            return Err(DropReason::InvalidAuthType(t));
        }
        if t != self.cfg.auth.auth_type() {
            return Err(DropReason::AuthTypeMismatch(t));
        }
        if received.data() != self.cfg.auth.data() && t == 1 {
            return Err(DropReason::AuthFailure);
        }
        Ok(())
    }

    fn receive(
        &mut self,
        now: Instant,
        ifindex: u32,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        bytes: &[u8],
    ) {
        let repr = match self.validate(ifindex, src, dst, ttl, bytes) {
            Ok(r) => r,
            Err(reason) => return self.drop_packet(reason),
        };
        bump(&mut self.counters.rcvd_advertisements);
        if repr.priority == 0 {
            bump(&mut self.counters.rcvd_pri_zero_packets);
        }
        let mai = match repr.version {
            Version::V3 => interval_from_field(Version::V3, repr.adver_int),
            Version::V2 => self.cfg.advert_interval,
        };
        match self.state {
            State::Backup => self.backup_receive(now, src, repr.priority, mai),
            State::Master => self.master_receive(now, src, repr.priority, mai),
            State::Initialize | State::Fault => {}
        }
    }

    /// RFC 9568 §6.4.2 (Backup receiving an ADVERTISEMENT), with
    /// keepalived's `preempt_delay`.
    fn backup_receive(&mut self, now: Instant, src: IpAddr, priority: u8, mai: Duration) {
        if priority == 0 {
            self.master = None;
            self.master_down_timer = Some(add(now, self.skew_time()));
            return;
        }
        let lower = priority < self.priority;
        let delaying = self.cfg.preempt
            && lower
            && !self.cfg.preempt_delay.is_zero()
            && self.preempt_until.is_none_or(|t| t > now);
        if !self.cfg.preempt || !lower || delaying {
            if delaying && self.preempt_until.is_none() {
                self.preempt_until = Some(add(now, self.cfg.preempt_delay));
            }
            self.master_adver_interval = mai;
            self.master_down_timer = Some(add(now, self.master_down_interval()));
            self.master = Some((src, priority));
            self.heard_lower = false;
        } else {
            // Preempt: discard, the Master_Down_Timer runs out.
            self.heard_lower = true;
        }
    }

    /// RFC 9568 §6.4.3 (Master receiving an ADVERTISEMENT), with
    /// keepalived's lower-priority advert and GARP burst.
    fn master_receive(&mut self, now: Instant, src: IpAddr, priority: u8, mai: Duration) {
        if priority == 0 {
            self.send_advert(self.priority);
            self.adver_timer = Some(add(now, self.cfg.advert_interval));
            return;
        }
        let higher = priority > self.priority
            || (priority == self.priority && src > self.cfg.primary_address);
        if higher {
            self.become_backup(
                now,
                Reason::HigherPriority {
                    master: src,
                    priority,
                },
                mai,
            );
            self.master = Some((src, priority));
        } else {
            if self.cfg.lower_prio_advert {
                self.send_advert(self.priority);
            }
            self.announcer
                .handle(now, announcer::Input::LowerPriorityHeard);
        }
    }
}
