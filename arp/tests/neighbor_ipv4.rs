//! IPv4 (ARP) behaviour of the neighbour cache on a virtual clock:
//! resolution, NUD (STALE → DELAY → PROBE), `arp_process` updates,
//! gratuitous ARP with `arp_accept` 0/1/2, `locktime`.
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

use std::net::{IpAddr, Ipv4Addr};

use arp::MacAddr;
use arp::neighbor::{AcceptPolicy, Config, DropReason, Input, NeighborState::*, Output};
use arp::wire::{ArpRepr, Frame, Payload};
use neighbor_support::*;

/// The broadcast request we send for PEER4, byte for byte.
const REQUEST: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06, //
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, //
    0x02, 0, 0, 0, 0, 0x01, 192, 0, 2, 1, //
    0, 0, 0, 0, 0, 0, 192, 0, 2, 2,
];

/// Our reply to PEER's request, byte for byte.
const REPLY: [u8; 42] = [
    0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06, //
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, //
    0x02, 0, 0, 0, 0, 0x01, 192, 0, 2, 1, //
    0x02, 0, 0, 0, 0, 0x02, 192, 0, 2, 2,
];

fn unicast_probe() -> Vec<u8> {
    let mut f = REQUEST.to_vec();
    f[..6].copy_from_slice(&PEER.0);
    f
}

fn peer_reply(mac: MacAddr) -> Vec<u8> {
    Frame::arp_reply(mac, PEER4, ME, MY4).to_bytes()
}

/// Frame with the given ARP payload, from `sha`, to `dst`.
fn arp(dst: MacAddr, repr: ArpRepr) -> Vec<u8> {
    let mut f = Frame::arp_request(repr.sha, repr.spa, repr.tpa);
    f.eth.dst = dst;
    f.payload = Payload::Arp(repr);
    f.to_bytes()
}

/// Resolves PEER4 to `mac` at the current time; the entry is REACHABLE.
fn resolved(sim: &mut Sim, mac: MacAddr) {
    let _ = sim.send(PEER4, packet(0));
    let outs = sim.frame(&peer_reply(mac));
    assert_eq!(delivered(&outs).len(), 1);
    assert_eq!(sim.state(PEER4), Some(Reachable));
}

#[test]
fn resolution_succeeds_and_releases_queued_packets_in_order() {
    let mut sim = Sim::default();
    let outs = sim.send(PEER4, packet(1));
    assert_eq!(
        outs,
        [
            Output::StateChanged {
                ip: PEER4.into(),
                from: None,
                to: Some(Incomplete),
                mac: None
            },
            Output::Transmit(REQUEST.to_vec()),
        ]
    );
    assert_eq!(sim.deadline(PEER4), Some(secs(1)));
    sim.at(ms(300));
    assert_eq!(sim.send(PEER4, packet(2)), []);
    assert_eq!(sim.cache.lookup(PEER4.into()).unwrap().queued, 2);

    sim.at(ms(500));
    let outs = sim.frame(&peer_reply(PEER));
    assert_eq!(
        outs,
        [
            Output::StateChanged {
                ip: PEER4.into(),
                from: Some(Incomplete),
                to: Some(Reachable),
                mac: Some(PEER)
            },
            Output::Deliver {
                dst: PEER4.into(),
                mac: PEER,
                packet: packet(1)
            },
            Output::Deliver {
                dst: PEER4.into(),
                mac: PEER,
                packet: packet(2)
            },
        ]
    );
    let e = sim.cache.lookup(PEER4.into()).unwrap();
    assert_eq!(e.confirmed, Some(sim.t0 + ms(500)));
    assert_eq!(
        e.deadline,
        Some(sim.t0 + ms(500) + sim.cache.reachable_time())
    );
    // Known neighbour: delivered at once, no frame.
    assert_eq!(
        sim.send(PEER4, packet(3)),
        [Output::Deliver {
            dst: PEER4.into(),
            mac: PEER,
            packet: packet(3)
        }]
    );
}

#[test]
fn resolution_fails_after_three_broadcasts_one_second_apart() {
    let mut sim = Sim::default();
    let _ = sim.send(PEER4, packet(1));
    let mut log = sim.run_until(ms(1500));
    let _ = sim.send(PEER4, packet(2));
    log.extend(sim.run_until(secs(10)));
    assert_eq!(
        timed_transmits(&log),
        [(secs(1), REQUEST.to_vec()), (secs(2), REQUEST.to_vec())]
    );
    assert_eq!(changes(&log), [(secs(3), Some(Incomplete), Some(Failed))]);
    assert!(log.contains(&(
        secs(3),
        Output::Unreachable {
            dst: PEER4.into(),
            dropped: vec![packet(1), packet(2)]
        }
    )));
    assert_eq!(sim.state(PEER4), Some(Failed));
    assert_eq!(sim.cache.poll_timeout(), None);
    let c = sim.cache.counters();
    assert_eq!((c.mcast_probes, c.unreachable_dropped), (3, 2));

    // A new packet restarts resolution from FAILED.
    let outs = sim.send(PEER4, packet(3));
    assert_eq!(transmits(&outs), [REQUEST.to_vec()]);
    assert_eq!(sim.state(PEER4), Some(Incomplete));
}

#[test]
fn reachable_goes_stale_after_the_seeded_random_reachable_time() {
    let times: Vec<_> = (0..20)
        .map(|seed| {
            let mut sim = Sim::new(Config { seed, ..config() });
            resolved(&mut sim, PEER);
            let rt = sim.cache.reachable_time();
            assert!(rt >= secs(15) && rt < secs(45), "{rt:?}");
            sim.run_until(rt - ms(1));
            assert_eq!(sim.state(PEER4), Some(Reachable));
            let log = sim.run_until(rt);
            assert_eq!(changes(&log), [(rt, Some(Reachable), Some(Stale))]);
            assert_eq!(sim.cache.poll_timeout(), None);
            rt
        })
        .collect();
    // Deterministic per seed, and the seed matters.
    let again = Sim::new(Config {
        seed: 7,
        ..config()
    })
    .cache
    .reachable_time();
    assert_eq!(again, times[7]);
    assert!(times.iter().any(|&t| t != times[0]));
}

#[test]
fn reachable_time_is_redrawn_after_300_seconds() {
    let mut sim = Sim::new(Config {
        seed: 3,
        ..config()
    });
    let first = sim.cache.reachable_time();
    resolved(&mut sim, PEER);
    sim.at(secs(300));
    let _ = sim.input(Input::Confirm(PEER4.into()));
    assert_eq!(sim.cache.reachable_time(), first, "not more than 300 s yet");
    sim.at(secs(301));
    let _ = sim.input(Input::Confirm(PEER4.into()));
    let second = sim.cache.reachable_time();
    assert_ne!(second, first);
    assert!(second >= secs(15) && second < secs(45));
    assert_eq!(sim.deadline(PEER4), Some(secs(301) + second));
}

#[test]
fn stale_send_delay_probe_failed_timeline() {
    let mut sim = Sim::default();
    resolved(&mut sim, PEER);
    let rt = sim.cache.reachable_time();
    sim.run_until(rt);
    assert_eq!(sim.state(PEER4), Some(Stale));

    let t = rt + secs(10);
    sim.at(t);
    let outs = sim.send(PEER4, packet(9));
    assert_eq!(
        outs,
        [
            Output::Deliver {
                dst: PEER4.into(),
                mac: PEER,
                packet: packet(9)
            },
            Output::StateChanged {
                ip: PEER4.into(),
                from: Some(Stale),
                to: Some(Delay),
                mac: Some(PEER)
            },
        ]
    );
    assert_eq!(sim.deadline(PEER4), Some(t + secs(5)));
    let log = sim.run_until(t + secs(20));
    assert_eq!(
        timed_transmits(&log),
        [
            (t + secs(5), unicast_probe()),
            (t + secs(6), unicast_probe()),
            (t + secs(7), unicast_probe()),
        ]
    );
    assert_eq!(
        changes(&log),
        [
            (t + secs(5), Some(Delay), Some(Probe)),
            (t + secs(8), Some(Probe), Some(Failed)),
        ]
    );
    assert!(log.contains(&(
        t + secs(8),
        Output::Unreachable {
            dst: PEER4.into(),
            dropped: vec![]
        }
    )));
    assert_eq!(sim.cache.counters().ucast_probes, 3);
}

#[test]
fn probe_answered_by_unicast_reply_becomes_reachable() {
    let mut sim = Sim::default();
    resolved(&mut sim, PEER);
    let rt = sim.cache.reachable_time();
    sim.run_until(rt);
    sim.at(rt + secs(1));
    let _ = sim.send(PEER4, packet(1));
    let log = sim.run_until(rt + secs(7));
    assert_eq!(timed_transmits(&log).len(), 2, "probes at +5 s and +6 s");
    assert_eq!(sim.state(PEER4), Some(Probe));
    assert_eq!(sim.cache.lookup(PEER4.into()).unwrap().probes, 2);
    sim.at(rt + secs(7) + ms(100));
    let outs = sim.frame(&peer_reply(PEER));
    assert_eq!(
        outs,
        [Output::StateChanged {
            ip: PEER4.into(),
            from: Some(Probe),
            to: Some(Reachable),
            mac: Some(PEER)
        }]
    );
    assert_eq!(sim.deadline(PEER4), Some(rt + secs(7) + ms(100) + rt));
}

#[test]
fn confirmation_in_delay_avoids_probing() {
    let mut sim = Sim::default();
    resolved(&mut sim, PEER);
    let rt = sim.cache.reachable_time();
    sim.run_until(rt);
    let _ = sim.send(PEER4, packet(1));
    sim.at(rt + secs(2));
    let outs = sim.input(Input::Confirm(PEER4.into()));
    assert_eq!(
        outs,
        [Output::StateChanged {
            ip: PEER4.into(),
            from: Some(Delay),
            to: Some(Reachable),
            mac: Some(PEER)
        }]
    );
    let log = sim.run_until(rt + secs(10));
    assert!(timed_transmits(&log).is_empty());
    // Confirming an unknown or INCOMPLETE address changes nothing.
    let _ = sim.send(Ipv4Addr::new(192, 0, 2, 3), packet(2));
    assert_eq!(
        sim.input(Input::Confirm(Ipv4Addr::new(192, 0, 2, 3).into())),
        []
    );
    assert_eq!(
        sim.input(Input::Confirm(Ipv4Addr::new(192, 0, 2, 4).into())),
        []
    );
}

#[test]
fn broadcast_reply_only_makes_stale() {
    let mut sim = Sim::default();
    let _ = sim.send(PEER4, packet(1));
    let mut f = Frame::arp_reply(PEER, PEER4, ME, MY4);
    f.eth.dst = MacAddr::BROADCAST;
    let outs = sim.frame(&f.to_bytes());
    assert_eq!(delivered(&outs).len(), 1);
    assert_eq!(sim.state(PEER4), Some(Stale));
}

#[test]
fn request_for_us_creates_stale_entry_and_is_answered() {
    let mut sim = Sim::default();
    let request = Frame::arp_request(PEER, PEER4, MY4).to_bytes();
    let outs = sim.frame(&request);
    assert_eq!(
        outs,
        [
            Output::StateChanged {
                ip: PEER4.into(),
                from: None,
                to: Some(Stale),
                mac: Some(PEER)
            },
            Output::Transmit(REPLY.to_vec()),
        ]
    );
    // A REACHABLE entry with the same MAC stays REACHABLE (neigh_update keeps
    // the state for STALE with an unchanged address) ...
    let _ = sim.input(Input::Confirm(PEER4.into()));
    let outs = sim.frame(&request);
    assert_eq!(outs, [Output::Transmit(REPLY.to_vec())]);
    assert_eq!(sim.state(PEER4), Some(Reachable));
    // ... and a different MAC overrides at once, locktime notwithstanding.
    let outs = sim.frame(&Frame::arp_request(OTHER, PEER4, MY4).to_bytes());
    assert_eq!(
        outs[0],
        Output::StateChanged {
            ip: PEER4.into(),
            from: Some(Reachable),
            to: Some(Stale),
            mac: Some(OTHER)
        }
    );
    assert_eq!(sim.cache.counters().replies, 3);
}

#[test]
fn request_for_another_host_refreshes_existing_entries_only() {
    let mut sim = Sim::default();
    let req = Frame::arp_request(PEER, PEER4, Ipv4Addr::new(192, 0, 2, 77)).to_bytes();
    assert_eq!(sim.frame(&req), []);
    assert_eq!(sim.state(PEER4), None);
    // An INCOMPLETE entry is resolved by the sender's request (STALE).
    let _ = sim.send(PEER4, packet(1));
    let outs = sim.frame(&req);
    assert_eq!(delivered(&outs), [(IpAddr::V4(PEER4), PEER, packet(1))]);
    assert_eq!(sim.state(PEER4), Some(Stale));
}

#[test]
fn arp_probe_for_our_address_is_answered_without_an_entry() {
    let mut sim = Sim::default();
    let probe = Frame::arp_request(PEER, Ipv4Addr::UNSPECIFIED, MY4).to_bytes();
    let outs = sim.frame(&probe);
    assert_eq!(
        outs,
        [Output::Transmit(
            Frame::arp_reply(ME, MY4, PEER, Ipv4Addr::UNSPECIFIED).to_bytes()
        )]
    );
    assert!(sim.cache.is_empty());
}

/// The three GARP forms of vrrp-arp.md §5 from PEER for PEER4.
fn garps(mac: MacAddr, ip: Ipv4Addr) -> [Vec<u8>; 3] {
    [
        arp(MacAddr::BROADCAST, ArpRepr::gratuitous_request(mac, ip)),
        arp(MacAddr::BROADCAST, ArpRepr::gratuitous_reply(mac, ip)),
        arp(MacAddr::BROADCAST, ArpRepr::gratuitous_kernel(mac, ip)),
    ]
}

#[test]
fn garp_for_unknown_address_with_arp_accept_0_leaves_no_entry() {
    let mut sim = Sim::default();
    for g in garps(PEER, PEER4) {
        assert_eq!(sim.frame(&g), []);
    }
    assert!(sim.cache.is_empty());
    assert_eq!(sim.cache.counters().garp_ignored, 3);
    // Nor does an unsolicited unicast reply.
    assert_eq!(sim.frame(&peer_reply(PEER)), []);
    assert!(sim.cache.is_empty());
    assert_eq!(sim.cache.counters().arp_unsolicited_ignored, 1);
}

#[test]
fn garp_with_arp_accept_1_creates_stale_entries() {
    let mut sim = Sim::new(Config {
        arp_accept: AcceptPolicy::Always,
        ..config()
    });
    for (i, g) in garps(PEER, PEER4).iter().enumerate() {
        let _ = sim.input(Input::Remove(PEER4.into()));
        let outs = sim.frame(g);
        assert_eq!(
            outs,
            [Output::StateChanged {
                ip: PEER4.into(),
                from: None,
                to: Some(Stale),
                mac: Some(PEER)
            }],
            "form {i}"
        );
    }
    // Off-subnet senders too.
    let far = Ipv4Addr::new(203, 0, 113, 9);
    let _ = sim.frame(&garps(OTHER, far)[0]);
    assert_eq!(sim.state(far), Some(Stale));
    // A unicast unsolicited reply creates a REACHABLE entry.
    let _ = sim.input(Input::Remove(PEER4.into()));
    let _ = sim.frame(&peer_reply(PEER));
    assert_eq!(sim.state(PEER4), Some(Reachable));
}

#[test]
fn garp_with_arp_accept_2_creates_only_same_subnet_entries() {
    let mut sim = Sim::new(Config {
        arp_accept: AcceptPolicy::SameSubnet,
        ..config()
    });
    let far = Ipv4Addr::new(203, 0, 113, 9);
    assert_eq!(sim.frame(&garps(OTHER, far)[0]), []);
    assert_eq!(sim.state(far), None);
    assert_eq!(sim.cache.counters().garp_ignored, 1);
    let _ = sim.frame(&garps(PEER, PEER4)[1]);
    assert_eq!(sim.state(PEER4), Some(Stale));
}

#[test]
fn garp_updates_existing_entry_and_overrides_locktime() {
    let mut sim = Sim::default();
    resolved(&mut sim, PEER);
    // 100 ms later, a takeover GARP from OTHER moves the address at once.
    sim.at(ms(100));
    let outs = sim.frame(&garps(OTHER, PEER4)[0]);
    assert_eq!(
        outs,
        [Output::StateChanged {
            ip: PEER4.into(),
            from: Some(Reachable),
            to: Some(Stale),
            mac: Some(OTHER)
        }]
    );
    assert_eq!(sim.cache.lookup(PEER4.into()).unwrap().mac, Some(OTHER));
}

#[test]
fn locktime_ignores_a_second_different_reply_within_one_second() {
    let mut sim = Sim::default();
    let _ = sim.send(PEER4, packet(1));
    sim.at(ms(10));
    let _ = sim.frame(&peer_reply(PEER));
    // A proxy's reply 500 ms later is ignored: the first reply wins.
    sim.at(ms(510));
    assert_eq!(sim.frame(&peer_reply(OTHER)), []);
    assert_eq!(sim.cache.lookup(PEER4.into()).unwrap().mac, Some(PEER));
    assert_eq!(sim.cache.counters().locktime_ignored, 1);
    // Exactly at updated + locktime it is still locked (time_after is strict).
    sim.at(ms(1010));
    assert_eq!(sim.frame(&peer_reply(OTHER)), []);
    // Later it overrides.
    sim.at(ms(1011));
    let outs = sim.frame(&peer_reply(OTHER));
    assert_eq!(
        outs,
        [Output::StateChanged {
            ip: PEER4.into(),
            from: Some(Reachable),
            to: Some(Reachable),
            mac: Some(OTHER)
        }]
    );
    // The same MAC is never locked: a reply refreshes REACHABLE.
    sim.at(ms(1100));
    assert_eq!(sim.frame(&peer_reply(OTHER)), []);
    assert_eq!(
        sim.deadline(PEER4),
        Some(ms(1100) + sim.cache.reachable_time())
    );
}

#[test]
fn locktime_is_configurable() {
    let mut sim = Sim::new(Config {
        locktime: ms(0),
        ..config()
    });
    resolved(&mut sim, PEER);
    sim.at(ms(1));
    let _ = sim.frame(&peer_reply(OTHER));
    assert_eq!(sim.cache.lookup(PEER4.into()).unwrap().mac, Some(OTHER));
}

#[test]
fn claims_on_our_address_and_bad_senders_are_dropped() {
    let mut sim = Sim::default();
    let outs = sim.frame(&garps(PEER, MY4)[0]);
    assert_eq!(
        outs,
        [Output::Dropped {
            reason: DropReason::AddressConflict {
                ip: MY4.into(),
                mac: PEER
            }
        }]
    );
    let bad = [
        arp(
            MacAddr::BROADCAST,
            ArpRepr::request(MacAddr::BROADCAST, PEER4, MY4),
        ),
        arp(
            MacAddr::BROADCAST,
            ArpRepr::request(PEER, Ipv4Addr::new(224, 0, 0, 5), MY4),
        ),
        arp(
            MacAddr::BROADCAST,
            ArpRepr::request(PEER, Ipv4Addr::new(192, 0, 2, 255), MY4),
        ),
        arp(
            MacAddr::BROADCAST,
            ArpRepr::request(PEER, PEER4, Ipv4Addr::new(224, 0, 0, 5)),
        ),
    ];
    for f in &bad {
        assert_eq!(
            sim.frame(f),
            [Output::Dropped {
                reason: DropReason::BadAddress
            }]
        );
    }
    assert!(sim.cache.is_empty());
    let c = sim.cache.counters();
    assert_eq!((c.address_conflicts, c.rx_invalid), (1, 4));
}

#[test]
fn frames_not_for_us_are_ignored() {
    let mut sim = Sim::default();
    let request = Frame::arp_request(PEER, PEER4, MY4);
    // Unicast to another MAC.
    let mut f = request.clone();
    f.eth.dst = OTHER;
    assert_eq!(sim.frame(&f.to_bytes()), []);
    // Our own frame looped back.
    let own = Frame::arp_request(ME, MY4, PEER4).to_bytes();
    assert_eq!(sim.frame(&own), []);
    // A VLAN we are not on.
    let mut f = request.clone();
    f.eth.vlans.push(arp::wire::VlanTag::dot1q(10));
    assert_eq!(sim.frame(&f.to_bytes()), []);
    // Truncated ARP.
    let short = &REQUEST[..30];
    assert!(matches!(
        sim.frame(short)[..],
        [Output::Dropped {
            reason: DropReason::Malformed(_)
        }]
    ));
    assert!(sim.cache.is_empty());
    let c = sim.cache.counters();
    assert_eq!((c.rx_frames, c.rx_ignored, c.rx_invalid), (4, 3, 1));
}

#[test]
fn vlan_tags_are_matched_and_emitted() {
    let tag = arp::wire::VlanTag::dot1q(10);
    let mut sim = Sim::new(Config {
        vlans: vec![tag],
        ..config()
    });
    let mut f = Frame::arp_request(PEER, PEER4, MY4);
    f.eth.vlans.push(tag);
    let outs = sim.frame(&f.to_bytes());
    let mut reply = Frame::arp_reply(ME, MY4, PEER, PEER4);
    reply.eth.vlans.push(tag);
    assert_eq!(transmits(&outs), [reply.to_bytes()]);
    // Untagged frames are for another interface.
    assert_eq!(
        sim.frame(&Frame::arp_request(PEER, PEER4, MY4).to_bytes()),
        []
    );
}

#[test]
fn solicitation_source_follows_the_queued_packet_or_subnet() {
    let second = Ipv4Addr::new(198, 51, 100, 1);
    let mut sim = Sim::new(Config::new(ME, vec![(MY4, 24), (second, 24)], vec![]));
    let target = Ipv4Addr::new(198, 51, 100, 7);
    let outs = sim.send(target, packet(1)); // packet's source is MY4
    assert_eq!(
        transmits(&outs),
        [Frame::arp_request(ME, MY4, target).to_bytes()]
    );
    let other = Ipv4Addr::new(198, 51, 100, 8);
    let outs = sim.send(other, b"not ip".to_vec());
    assert_eq!(
        transmits(&outs),
        [Frame::arp_request(ME, second, other).to_bytes()]
    );
}
