//! Timer expiry and solicitations: RFC 4861 §7.3.3 and Linux
//! `neigh_timer_handler` / `arp_solicit` / `ndisc_solicit`.

use std::net::IpAddr;

use super::{NeighborCache, NeighborState, Output, packet_source};
use crate::time::add;
use crate::wire::Frame;

impl NeighborCache {
    /// The timer of entry `ip` fired.
    pub(super) fn expire(&mut self, ip: IpAddr) {
        let Some(e) = self.entries.get(&ip) else {
            return;
        };
        match e.state {
            NeighborState::Reachable => self.enter(ip, NeighborState::Stale, None),
            NeighborState::Delay => self.enter(ip, NeighborState::Probe, None),
            state @ (NeighborState::Incomplete | NeighborState::Probe) => {
                if e.probes >= self.max_probes(state) {
                    self.enter(ip, NeighborState::Failed, None);
                } else {
                    self.solicit(ip);
                    let deadline = add(self.now, self.config.retrans_time);
                    if let Some(e) = self.entries.get_mut(&ip) {
                        e.deadline = Some(deadline);
                        self.timers.insert((deadline, ip));
                    }
                }
            }
            NeighborState::Stale | NeighborState::Failed | NeighborState::Permanent => {}
        }
    }

    /// Linux `neigh_max_probes`: `ucast_solicit + app_solicit +`
    /// `mcast_resolicit` (PROBE) or `mcast_solicit` (INCOMPLETE).
    fn max_probes(&self, state: NeighborState) -> u32 {
        let c = &self.config;
        let mcast = if state == NeighborState::Probe {
            c.mcast_resolicit
        } else {
            c.mcast_solicit
        };
        c.ucast_solicit
            .saturating_add(c.app_solicit)
            .saturating_add(mcast)
    }

    /// Sends the next solicitation of entry `ip`: probe number `p` (Linux
    /// `neigh->probes`) below `ucast_solicit` goes unicast to the cached
    /// address, the next `app_solicit` ones to user space, the rest to the
    /// broadcast address (ARP) or the solicited-node group (NS).
    pub(super) fn solicit(&mut self, ip: IpAddr) {
        let c = &self.config;
        let (ucast, app) = (c.ucast_solicit, c.app_solicit);
        let Some(e) = self.entries.get_mut(&ip) else {
            return;
        };
        let p = e.probes;
        e.probes = p.saturating_add(1);
        e.sent = e.sent.saturating_add(1);
        let unicast = if p < ucast && e.state.is_valid() {
            e.mac
        } else {
            None
        };
        if unicast.is_none() && p < ucast.saturating_add(app) && p >= ucast {
            let mac = e.mac;
            self.counters.app_probes = self.counters.app_probes.saturating_add(1);
            return self.emit(Output::AppProbe { ip, mac });
        }
        let hint = e.queue.front().and_then(|p| packet_source(p));
        let me = self.config.mac;
        let frame = match ip {
            IpAddr::V4(target) => {
                let Some(src) = self.config.ipv4_source(target, hint) else {
                    return;
                };
                let mut f = Frame::arp_request(me, src, target);
                if let Some(mac) = unicast {
                    f.eth.dst = mac;
                }
                f
            }
            IpAddr::V6(target) => {
                let Some(src) = self.config.ipv6_source(target, hint) else {
                    return;
                };
                Frame::neighbor_solicit(me, src, target, unicast.map(|mac| (mac, target)))
            }
        };
        let counter = if unicast.is_some() {
            &mut self.counters.ucast_probes
        } else {
            &mut self.counters.mcast_probes
        };
        *counter = counter.saturating_add(1);
        self.transmit(frame);
    }
}
