//! IPv6 (Neighbor Discovery) behaviour of the neighbour cache: resolution,
//! NS handling, RFC 4861 §7.2.5 NA rules (Override, Solicited, IsRouter),
//! untracked NAs, validation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::unchecked_time_subtraction,
    reason = "test code"
)]

mod neighbor_support;

use std::net::{IpAddr, Ipv6Addr};

use arp::MacAddr;
use arp::neighbor::{AcceptPolicy, Config, DropReason, NeighborState::*, Output};
use arp::wire::{Frame, NaFlags, NdiscRepr, Payload};
use neighbor_support::*;

const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

fn flags(s: bool, o: bool, r: bool) -> NaFlags {
    NaFlags {
        router: r,
        solicited: s,
        override_: o,
    }
}

/// An NA from `mac` for PEER6 to us, with Target LLA `tlla`.
fn na(mac: MacAddr, f: NaFlags, tlla: Option<MacAddr>) -> Vec<u8> {
    let mut frame = Frame::neighbor_advert(mac, PEER6, ME, MY6, PEER6, f);
    if let Payload::Ndisc(nd) = &mut frame.payload {
        nd.repr = NdiscRepr::NeighborAdvert {
            flags: f,
            target: PEER6,
            target_lladdr: tlla,
        };
    }
    frame.to_bytes()
}

fn solicited(mac: MacAddr) -> Vec<u8> {
    na(mac, flags(true, true, false), Some(mac))
}

fn ns_from_peer(slla: bool) -> Vec<u8> {
    let mut frame = Frame::neighbor_solicit(PEER, PEER6, MY6, None);
    if !slla && let Payload::Ndisc(nd) = &mut frame.payload {
        nd.repr = NdiscRepr::NeighborSolicit {
            target: MY6,
            source_lladdr: None,
        };
    }
    frame.to_bytes()
}

fn reachable(sim: &mut Sim, mac: MacAddr) {
    let _ = sim.send(PEER6, packet(0));
    let _ = sim.frame(&solicited(mac));
    assert_eq!(sim.state(PEER6), Some(Reachable));
}

fn mac_of(sim: &Sim) -> Option<MacAddr> {
    sim.cache.lookup(PEER6.into()).unwrap().mac
}

#[test]
fn resolution_by_multicast_ns_and_solicited_na() {
    let mut sim = Sim::default();
    let outs = sim.send(PEER6, packet(1));
    let ns = Frame::neighbor_solicit(ME, MY6, PEER6, None).to_bytes();
    assert_eq!(transmits(&outs), std::slice::from_ref(&ns));
    // To the solicited-node group ff02::1:ff00:2, hop limit 255, type 135, SLLA = ME.
    assert_eq!(ns[..6], [0x33, 0x33, 0xff, 0, 0, 0x02]);
    assert_eq!(ns[12..14], [0x86, 0xdd]);
    assert_eq!(ns[14 + 7], 255);
    assert_eq!(
        ns[14 + 24..14 + 40],
        "ff02::1:ff00:2".parse::<Ipv6Addr>().unwrap().octets()
    );
    assert_eq!(ns[54], 135);
    assert_eq!(ns[54 + 24..], [1, 1, 0x02, 0, 0, 0, 0, 0x01]);

    let log = sim.run_until(ms(1500));
    assert_eq!(timed_transmits(&log), [(secs(1), ns)]);
    let outs = sim.frame(&solicited(PEER));
    assert_eq!(
        outs,
        [
            Output::StateChanged {
                ip: PEER6.into(),
                from: Some(Incomplete),
                to: Some(Reachable),
                mac: Some(PEER)
            },
            Output::Deliver {
                dst: PEER6.into(),
                mac: PEER,
                packet: packet(1)
            },
        ]
    );
}

#[test]
fn resolution_failure_after_three_ns() {
    let mut sim = Sim::default();
    let _ = sim.send(PEER6, packet(1));
    let log = sim.run_until(secs(5));
    assert_eq!(
        timed_transmits(&log)
            .iter()
            .map(|t| t.0)
            .collect::<Vec<_>>(),
        [secs(1), secs(2)]
    );
    assert_eq!(changes(&log), [(secs(3), Some(Incomplete), Some(Failed))]);
    assert!(log.iter().any(|(_, o)| *o
        == Output::Unreachable {
            dst: PEER6.into(),
            dropped: vec![packet(1)]
        }));
}

#[test]
fn na_without_target_lla_does_not_resolve() {
    let mut sim = Sim::default();
    let _ = sim.send(PEER6, packet(1));
    assert_eq!(sim.frame(&na(PEER, flags(true, true, false), None)), []);
    assert_eq!(sim.state(PEER6), Some(Incomplete));
    // An unsolicited NA with TLLA resolves to STALE (§7.2.5).
    let outs = sim.frame(&na(PEER, flags(false, true, false), Some(PEER)));
    assert_eq!(delivered(&outs).len(), 1);
    assert_eq!(sim.state(PEER6), Some(Stale));
}

#[test]
fn ns_for_us_creates_stale_entry_and_gets_solicited_na() {
    let mut sim = Sim::default();
    let outs = sim.frame(&ns_from_peer(true));
    let reply = Frame::neighbor_advert(ME, MY6, PEER, PEER6, MY6, flags(true, true, false));
    assert_eq!(
        outs,
        [
            Output::StateChanged {
                ip: PEER6.into(),
                from: None,
                to: Some(Stale),
                mac: Some(PEER)
            },
            Output::Transmit(reply.to_bytes()),
        ]
    );
    let bytes = reply.to_bytes();
    assert_eq!(bytes[..6], PEER.0);
    assert_eq!(bytes[54], 136);
    assert_eq!(bytes[58], 0x60, "S and O set, R clear");
    assert_eq!(bytes[78..], [2, 1, 0x02, 0, 0, 0, 0, 0x01]);
    assert!(!sim.cache.lookup(PEER6.into()).unwrap().router);
}

#[test]
fn ns_router_flag_follows_forwarding() {
    let mut sim = Sim::new(Config {
        forwarding: true,
        ..config()
    });
    let outs = sim.frame(&ns_from_peer(true));
    let reply = Frame::neighbor_advert(ME, MY6, PEER, PEER6, MY6, flags(true, true, true));
    assert_eq!(transmits(&outs), [reply.to_bytes()]);
}

#[test]
fn ns_without_slla_is_answered_without_touching_the_cache() {
    let mut sim = Sim::default();
    let outs = sim.frame(&ns_from_peer(false));
    let reply = Frame::neighbor_advert(ME, MY6, PEER, PEER6, MY6, flags(true, true, false));
    assert_eq!(outs, [Output::Transmit(reply.to_bytes())]);
    assert!(sim.cache.is_empty());
}

#[test]
fn dad_ns_for_our_address_is_answered_to_all_nodes() {
    let mut sim = Sim::default();
    let dad = Frame::neighbor_solicit(PEER, Ipv6Addr::UNSPECIFIED, MY6, None).to_bytes();
    let outs = sim.frame(&dad);
    let reply = Frame::neighbor_advert(
        ME,
        MY6,
        MacAddr::ipv6_multicast(ALL_NODES),
        ALL_NODES,
        MY6,
        flags(false, true, false),
    );
    assert_eq!(outs, [Output::Transmit(reply.to_bytes())]);
    assert!(sim.cache.is_empty());
}

#[test]
fn ns_for_someone_else_is_ignored() {
    let mut sim = Sim::default();
    let other = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9);
    let ns = Frame::neighbor_solicit(PEER, PEER6, other, None).to_bytes();
    assert_eq!(sim.frame(&ns), []);
    assert!(sim.cache.is_empty());
    assert_eq!(sim.cache.counters().rx_ignored, 1);
}

#[test]
fn na_override_clear_with_new_address_turns_reachable_stale_keeping_the_old_one() {
    let mut sim = Sim::default();
    reachable(&mut sim, PEER);
    let outs = sim.frame(&na(OTHER, flags(true, false, false), Some(OTHER)));
    assert_eq!(
        outs,
        [Output::StateChanged {
            ip: PEER6.into(),
            from: Some(Reachable),
            to: Some(Stale),
            mac: Some(PEER)
        }]
    );
    // In STALE the same NA changes nothing.
    assert_eq!(
        sim.frame(&na(OTHER, flags(true, false, false), Some(OTHER))),
        []
    );
    assert_eq!((sim.state(PEER6), mac_of(&sim)), (Some(Stale), Some(PEER)));
}

#[test]
fn na_override_set_replaces_the_address() {
    let mut sim = Sim::default();
    reachable(&mut sim, PEER);
    // O = 1, S = 0: new address, STALE.
    let outs = sim.frame(&na(OTHER, flags(false, true, false), Some(OTHER)));
    assert_eq!(
        outs,
        [Output::StateChanged {
            ip: PEER6.into(),
            from: Some(Reachable),
            to: Some(Stale),
            mac: Some(OTHER)
        }]
    );
    // O = 1, S = 1 with yet another address: REACHABLE with it.
    let third = MacAddr([0x02, 0, 0, 0, 0, 0x04]);
    let _ = sim.frame(&na(third, flags(true, true, false), Some(third)));
    assert_eq!(
        (sim.state(PEER6), mac_of(&sim)),
        (Some(Reachable), Some(third))
    );
}

#[test]
fn na_same_address_or_no_tlla() {
    let mut sim = Sim::default();
    reachable(&mut sim, PEER);
    let _ = sim.run_until(sim.cache.reachable_time());
    assert_eq!(sim.state(PEER6), Some(Stale));
    // Unsolicited, same address, O = 0: no change.
    assert_eq!(
        sim.frame(&na(PEER, flags(false, false, false), Some(PEER))),
        []
    );
    assert_eq!(sim.state(PEER6), Some(Stale));
    // Solicited without TLLA: REACHABLE with the cached address.
    let outs = sim.frame(&na(PEER, flags(true, false, false), None));
    assert_eq!(
        outs,
        [Output::StateChanged {
            ip: PEER6.into(),
            from: Some(Stale),
            to: Some(Reachable),
            mac: Some(PEER)
        }]
    );
}

#[test]
fn na_router_flag_is_recorded() {
    let mut sim = Sim::default();
    reachable(&mut sim, PEER);
    let _ = sim.frame(&na(PEER, flags(true, true, true), Some(PEER)));
    assert!(sim.cache.lookup(PEER6.into()).unwrap().router);
    // Not when the NA is refused (O = 0, different address, STALE entry) ...
    let _ = sim.frame(&na(OTHER, flags(false, false, false), Some(OTHER)));
    assert_eq!(sim.state(PEER6), Some(Stale));
    assert!(sim.cache.lookup(PEER6.into()).unwrap().router);
    // ... but when accepted.
    let _ = sim.frame(&na(PEER, flags(false, false, false), Some(PEER)));
    assert!(!sim.cache.lookup(PEER6.into()).unwrap().router);
}

#[test]
fn unsolicited_na_for_unknown_target_is_ignored() {
    let mut sim = Sim::default();
    let una = Frame::unsolicited_na(PEER, PEER6, false).to_bytes();
    assert_eq!(sim.frame(&una), []);
    assert!(sim.cache.is_empty());
    assert_eq!(sim.cache.counters().na_ignored, 1);
}

#[test]
fn accept_untracked_na_needs_forwarding_and_policy() {
    let una = Frame::unsolicited_na(PEER, PEER6, true).to_bytes();
    let far = Ipv6Addr::new(0x2001, 0xdb9, 0, 0, 0, 0, 0, 5);
    let far_una = Frame::unsolicited_na(OTHER, far, false).to_bytes();
    let host = Config {
        accept_untracked_na: AcceptPolicy::Always,
        ..config()
    };
    let mut sim = Sim::new(host.clone());
    assert_eq!(sim.frame(&una), []);
    let mut sim = Sim::new(Config {
        forwarding: true,
        ..host
    });
    let outs = sim.frame(&una);
    assert_eq!(
        outs,
        [Output::StateChanged {
            ip: PEER6.into(),
            from: None,
            to: Some(Stale),
            mac: Some(PEER)
        }]
    );
    assert!(sim.cache.lookup(PEER6.into()).unwrap().router);
    let _ = sim.frame(&far_una);
    assert_eq!(sim.state(far), Some(Stale));

    let mut sim = Sim::new(Config {
        forwarding: true,
        accept_untracked_na: AcceptPolicy::SameSubnet,
        ..config()
    });
    assert_eq!(sim.frame(&far_una), []);
    assert_eq!(sim.state(far), None);
    let _ = sim.frame(&una);
    assert_eq!(sim.state(PEER6), Some(Stale));
}

#[test]
fn na_for_failed_entry_is_ignored_like_linux() {
    let mut sim = Sim::default();
    let _ = sim.send(PEER6, packet(1));
    let _ = sim.run_until(secs(3));
    assert_eq!(sim.state(PEER6), Some(Failed));
    assert_eq!(sim.frame(&solicited(PEER)), []);
    assert_eq!(sim.state(PEER6), Some(Failed));
}

#[test]
fn bad_hop_limit_is_dropped_and_counted() {
    let mut sim = Sim::default();
    let mut frame = Frame::neighbor_solicit(PEER, PEER6, MY6, None);
    if let Payload::Ndisc(nd) = &mut frame.payload {
        nd.hop_limit = 254;
    }
    assert_eq!(
        sim.frame(&frame.to_bytes()),
        [Output::Dropped {
            reason: DropReason::HopLimit(254)
        }]
    );
    assert!(sim.cache.is_empty());
    assert_eq!(sim.cache.counters().rx_invalid, 1);
    // A corrupted checksum is malformed.
    let mut bytes = ns_from_peer(true);
    bytes[56] ^= 0xff;
    assert!(matches!(
        sim.frame(&bytes)[..],
        [Output::Dropped {
            reason: DropReason::Malformed(_)
        }]
    ));
}

#[test]
fn na_claiming_our_address_is_a_conflict() {
    let mut sim = Sim::default();
    let una = Frame::unsolicited_na(PEER, MY6, false).to_bytes();
    assert_eq!(
        sim.frame(&una),
        [Output::Dropped {
            reason: DropReason::AddressConflict {
                ip: MY6.into(),
                mac: PEER
            }
        }]
    );
}

#[test]
fn probe_sends_unicast_ns_and_solicited_na_confirms() {
    let mut sim = Sim::default();
    reachable(&mut sim, PEER);
    let rt = sim.cache.reachable_time();
    let _ = sim.run_until(rt);
    let _ = sim.send(PEER6, packet(2));
    assert_eq!(sim.state(PEER6), Some(Delay));
    let log = sim.run_until(rt + secs(6));
    let probe = Frame::neighbor_solicit(ME, MY6, PEER6, Some((PEER, PEER6))).to_bytes();
    assert_eq!(
        timed_transmits(&log),
        [(rt + secs(5), probe.clone()), (rt + secs(6), probe.clone())]
    );
    assert_eq!(probe[..6], PEER.0);
    assert_eq!(probe[38..54], PEER6.octets());
    // An unsolicited NA does not confirm reachability ...
    let _ = sim.frame(&na(PEER, flags(false, false, false), Some(PEER)));
    assert_eq!(sim.state(PEER6), Some(Probe));
    // ... a solicited one does.
    let _ = sim.frame(&solicited(PEER));
    assert_eq!(sim.state(PEER6), Some(Reachable));
}

#[test]
fn link_local_target_is_solicited_from_link_local_source() {
    let ll = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    let mut sim = Sim::new(Config::new(ME, vec![], vec![(MY6, 64), (ll, 64)]));
    let target = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
    let outs = sim.send(target, b"opaque".to_vec());
    assert_eq!(
        transmits(&outs),
        [Frame::neighbor_solicit(ME, ll, target, None).to_bytes()]
    );
    // No IPv4 address: an IPv4 send cannot be solicited.
    let dst = IpAddr::from([192, 0, 2, 2]);
    let outs = sim.send(dst, packet(1));
    assert_eq!(
        outs,
        [
            Output::Dropped {
                reason: DropReason::NoSourceAddress(dst)
            },
            Output::Unreachable {
                dst,
                dropped: vec![packet(1)]
            }
        ]
    );
}
