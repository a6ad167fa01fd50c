//! Received Neighbor Solicitations and Advertisements: RFC 4861 §7.1
//! (validation), §7.2.3 / §7.2.4 (answering an NS), §7.2.5 (NA), as Linux
//! `ndisc_recv_ns` / `ndisc_recv_na` (net/ipv6/ndisc.c).
//!
//! * Hop limit must be 255; the IPv6 destination must be ours, ff02::1 or
//!   the solicited-node group of one of our addresses.
//! * An NS for one of our addresses with a Source LLA creates or updates the
//!   source's entry (STALE; a different address overrides) and is answered
//!   with a solicited NA (S = 1, O = 1, R = `forwarding`, Target LLA) sent to
//!   the source. Without a Source LLA the NA goes to the cached address, or
//!   else to the frame's Ethernet source (Linux would resolve it first).
//!   Linux sets O only when the NS was multicast; we follow RFC 4861 §7.2.4
//!   ("SHOULD be set to one"). A DAD NS (unspecified source) is answered with
//!   an NA to ff02::1 (S = 0, O = 1). NSs for other targets are ignored.
//! * An NA updates the target's entry per §7.2.5 (Override flag, IsRouter);
//!   for an unknown target it is ignored, unless `accept_untracked_na`
//!   allows creating a STALE entry (RFC 9131; Linux requires `forwarding`
//!   and a Target LLA). NAs for FAILED or permanent entries are ignored.

use std::net::{IpAddr, Ipv6Addr};

use super::transition::UpdateFlags;
use super::{DropReason, NeighborCache, NeighborState, Output};
use crate::MacAddr;
use crate::wire::ndisc::{ALL_NODES, HOP_LIMIT, solicited_node};
use crate::wire::{Frame, NaFlags, NdiscPacket, NdiscRepr};

impl NeighborCache {
    pub(super) fn ndisc_process(&mut self, nd: &NdiscPacket, eth_src: MacAddr) {
        if nd.hop_limit != HOP_LIMIT {
            return self.invalid(DropReason::HopLimit(nd.hop_limit));
        }
        let for_us = self.config.is_ours(nd.dst.into())
            || nd.dst == ALL_NODES
            || self
                .config
                .ipv6
                .iter()
                .any(|&(a, _)| solicited_node(a) == nd.dst);
        if !for_us {
            return self.ignored();
        }
        if nd.src.is_multicast() || nd.src.is_loopback() {
            return self.invalid(DropReason::BadAddress);
        }
        if !super::usable_v6(nd.repr.target())
            || nd
                .repr
                .lladdr()
                .is_some_and(|m| !m.is_unicast() || m == self.config.mac)
        {
            return self.invalid(DropReason::BadAddress);
        }
        match nd.repr {
            NdiscRepr::NeighborSolicit {
                target,
                source_lladdr,
            } => self.recv_ns(nd, target, source_lladdr, eth_src),
            NdiscRepr::NeighborAdvert {
                flags,
                target,
                target_lladdr,
            } => self.recv_na(nd.src, flags, target, target_lladdr, eth_src),
        }
    }

    fn recv_ns(
        &mut self,
        nd: &NdiscPacket,
        target: Ipv6Addr,
        lladdr: Option<MacAddr>,
        eth_src: MacAddr,
    ) {
        if !self.config.is_ours(target.into()) {
            return self.ignored();
        }
        let router = self.config.forwarding;
        if nd.src.is_unspecified() {
            // §7.2.4: answer DAD for an address we hold, to all-nodes.
            if nd.dst != solicited_node(target) {
                return self.invalid(DropReason::BadAddress);
            }
            let flags = NaFlags {
                router,
                solicited: false,
                override_: true,
            };
            return self.reply_na(target, MacAddr::ipv6_multicast(ALL_NODES), ALL_NODES, flags);
        }
        let source = IpAddr::V6(nd.src);
        if self.config.is_ours(source) {
            return self.conflict(source, lladdr.unwrap_or(eth_src));
        }
        let dst_mac = match lladdr {
            Some(mac) => {
                if self.entries.contains_key(&source) {
                    let flags = UpdateFlags {
                        override_: true,
                        weak_override: true,
                        router: None,
                    };
                    let _ = self.update(source, Some(mac), NeighborState::Stale, flags);
                } else if self.insert(source, false) {
                    self.enter(source, NeighborState::Stale, Some(mac));
                }
                mac
            }
            None => self
                .entries
                .get(&source)
                .filter(|e| e.state.is_valid())
                .and_then(|e| e.mac)
                .unwrap_or(eth_src),
        };
        let flags = NaFlags {
            router,
            solicited: true,
            override_: true,
        };
        self.reply_na(target, dst_mac, nd.src, flags);
    }

    fn recv_na(
        &mut self,
        src: Ipv6Addr,
        flags: NaFlags,
        target: Ipv6Addr,
        lladdr: Option<MacAddr>,
        eth_src: MacAddr,
    ) {
        let ip = IpAddr::V6(target);
        if self.config.is_ours(ip) {
            return self.conflict(ip, lladdr.unwrap_or(eth_src));
        }
        let new = if flags.solicited {
            NeighborState::Reachable
        } else {
            NeighborState::Stale
        };
        match self.entries.get(&ip).map(|e| e.state) {
            None => {
                let accept = self.config.forwarding
                    && self
                        .config
                        .accepts(self.config.accept_untracked_na, src.into());
                match lladdr {
                    Some(mac) if accept => {
                        if self.insert(ip, false) {
                            if let Some(e) = self.entries.get_mut(&ip) {
                                e.router = flags.router;
                            }
                            self.enter(ip, NeighborState::Stale, Some(mac));
                        }
                    }
                    _ => self.na_ignored(),
                }
            }
            Some(NeighborState::Failed | NeighborState::Permanent) => self.na_ignored(),
            Some(_) => {
                let update = UpdateFlags {
                    override_: flags.override_,
                    weak_override: true,
                    router: Some(flags.router),
                };
                let _ = self.update(ip, lladdr, new, update);
            }
        }
    }

    fn na_ignored(&mut self) {
        self.counters.na_ignored = self.counters.na_ignored.saturating_add(1);
    }

    fn conflict(&mut self, ip: IpAddr, mac: MacAddr) {
        self.counters.address_conflicts = self.counters.address_conflicts.saturating_add(1);
        self.emit(Output::Dropped {
            reason: DropReason::AddressConflict { ip, mac },
        });
    }

    /// An NA for our `target` from `target` itself.
    fn reply_na(&mut self, target: Ipv6Addr, dst_mac: MacAddr, dst: Ipv6Addr, flags: NaFlags) {
        self.counters.replies = self.counters.replies.saturating_add(1);
        let frame = Frame::neighbor_advert(self.config.mac, target, dst_mac, dst, target, flags);
        self.transmit(frame);
    }
}
