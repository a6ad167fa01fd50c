//! Received ARP (RFC 826) as Linux `arp_process` (net/ipv4/arp.c) handles it.
//!
//! * A request for one of our addresses creates or updates the sender's
//!   entry (STALE, overriding, like `neigh_event_ns`) and is answered with a
//!   unicast reply. Unlike Linux we answer even when the table is full.
//! * An RFC 5227 probe (sender 0.0.0.0) for our address is answered (Linux's
//!   DHCP duplicate-address special case) and changes no entry.
//! * Any other ARP updates an existing entry for its sender: REACHABLE for a
//!   reply unicast to us, STALE otherwise. A different MAC is taken only if
//!   the message is gratuitous (`arp_is_garp`) or the entry's last update is
//!   more than `locktime` ago.
//! * No entry exists: a gratuitous ARP, or any reply, creates one only if
//!   `arp_accept` allows it (0 never, 1 always, 2 sender on one of our
//!   prefixes); requests between other hosts create nothing.

use std::net::IpAddr;

use super::config::usable_v4;
use super::transition::{Update, UpdateFlags};
use super::{DropReason, NeighborCache, NeighborState, Output};
use crate::time::add;
use crate::wire::{ArpOperation, ArpRepr, Frame};

impl NeighborCache {
    /// `to_host`: the frame was unicast to our MAC (`PACKET_HOST`).
    pub(super) fn arp_process(&mut self, arp: &ArpRepr, to_host: bool) {
        let (sha, spa, tpa) = (arp.sha, arp.spa, arp.tpa);
        let request = arp.operation == ArpOperation::Request;
        if !sha.is_unicast()
            || sha == self.config.mac
            || tpa.is_multicast()
            || tpa.is_loopback()
            || tpa.is_broadcast()
        {
            return self.invalid(DropReason::BadAddress);
        }
        if spa.is_unspecified() {
            if request && self.config.is_ours(tpa.into()) {
                self.reply_arp(tpa, sha, spa);
            } else {
                self.ignored();
            }
            return;
        }
        if !usable_v4(spa) || self.config.is_subnet_broadcast(spa) {
            return self.invalid(DropReason::BadAddress);
        }
        let sender = IpAddr::V4(spa);
        if self.config.is_ours(sender) {
            self.counters.address_conflicts = self.counters.address_conflicts.saturating_add(1);
            return self.emit(Output::Dropped {
                reason: DropReason::AddressConflict {
                    ip: sender,
                    mac: sha,
                },
            });
        }
        if request && self.config.is_ours(tpa.into()) {
            if self.entries.contains_key(&sender) {
                let flags = UpdateFlags {
                    override_: true,
                    ..UpdateFlags::default()
                };
                let _ = self.update(sender, Some(sha), NeighborState::Stale, flags);
            } else if self.insert(sender, false) {
                self.enter(sender, NeighborState::Stale, Some(sha));
            }
            return self.reply_arp(tpa, sha, spa);
        }
        let is_garp = arp.is_gratuitous();
        let state = if !request && to_host {
            NeighborState::Reachable
        } else {
            NeighborState::Stale
        };
        let Some(e) = self.entries.get(&sender) else {
            let wanted = is_garp || !request;
            if wanted && self.config.accepts(self.config.arp_accept, sender) {
                if self.insert(sender, false) {
                    self.enter(sender, state, Some(sha));
                }
            } else if is_garp {
                self.counters.garp_ignored = self.counters.garp_ignored.saturating_add(1);
            } else if wanted {
                self.counters.arp_unsolicited_ignored =
                    self.counters.arp_unsolicited_ignored.saturating_add(1);
            } else {
                self.ignored();
            }
            return;
        };
        let flags = UpdateFlags {
            override_: is_garp || self.now > add(e.updated, self.config.locktime),
            ..UpdateFlags::default()
        };
        let locked = !flags.override_ && e.state.is_valid() && e.mac != Some(sha);
        if self.update(sender, Some(sha), state, flags) == Update::Ignored && locked {
            self.counters.locktime_ignored = self.counters.locktime_ignored.saturating_add(1);
        }
    }

    /// A unicast reply from our address `ours` to `mac` / `ip`.
    fn reply_arp(&mut self, ours: std::net::Ipv4Addr, mac: crate::MacAddr, ip: std::net::Ipv4Addr) {
        self.counters.replies = self.counters.replies.saturating_add(1);
        let frame = Frame::arp_reply(self.config.mac, ours, mac, ip);
        self.transmit(frame);
    }
}
