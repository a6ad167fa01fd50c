//! Table-wide behaviour of the neighbour cache: size bounds and forced GC,
//! periodic GC, the unresolved-packet queue, static entries, probe counts,
//! group destinations and timer hygiene.
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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use arp::MacAddr;
use arp::neighbor::{Config, DropReason, Input, NeighborState, NeighborState::*, Output};
use arp::wire::{ArpRepr, Frame, Payload};
use neighbor_support::*;

fn host(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, n)
}

fn mac(n: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0x01, n])
}

/// Host `n` asks for MY4: creates a STALE entry for it.
fn request_from(sim: &mut Sim, n: u8) -> Vec<Output> {
    sim.frame(&Frame::arp_request(mac(n), host(n), MY4).to_bytes())
}

fn small_table(t1: usize, t2: usize, t3: usize) -> Config {
    Config {
        gc_thresh1: t1,
        gc_thresh2: t2,
        gc_thresh3: t3,
        ..config()
    }
}

fn removed(outs: &[Output]) -> Vec<(IpAddr, Option<NeighborState>)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::StateChanged {
                ip, from, to: None, ..
            } => Some((*ip, *from)),
            _ => None,
        })
        .collect()
}

#[test]
fn full_table_evicts_failed_first_then_least_recently_updated() {
    let mut sim = Sim::new(small_table(2, 4, 4));
    let _ = request_from(&mut sim, 10);
    sim.run_until(secs(1));
    let _ = request_from(&mut sim, 11);
    sim.run_until(secs(2));
    let _ = sim.send(host(12), packet(1));
    sim.run_until(secs(6));
    assert_eq!(sim.state(host(12)), Some(Failed));
    let _ = request_from(&mut sim, 13);
    assert_eq!(sim.cache.dynamic_len(), 4);

    sim.run_until(secs(7));
    let outs = request_from(&mut sim, 14);
    assert_eq!(removed(&outs), [(host(12).into(), Some(Failed))]);
    sim.run_until(secs(8));
    let outs = request_from(&mut sim, 15);
    assert_eq!(removed(&outs), [(host(10).into(), Some(Stale))]);
    assert_eq!(sim.cache.dynamic_len(), 4);
    let c = sim.cache.counters();
    assert_eq!((c.forced_gc_runs, c.gc_removed, c.table_full), (2, 2, 0));
}

#[test]
fn full_table_of_busy_entries_refuses_new_ones() {
    let mut sim = Sim::new(small_table(4, 4, 4));
    for n in 10..14 {
        let _ = sim.send(host(n), packet(n));
    }
    let outs = sim.send(host(14), packet(14));
    assert_eq!(
        outs,
        [
            Output::Dropped {
                reason: DropReason::TableFull {
                    ip: host(14).into()
                }
            },
            Output::Unreachable {
                dst: host(14).into(),
                dropped: vec![packet(14)]
            },
        ]
    );
    // A request from a new host is still answered, but creates no entry.
    let outs = request_from(&mut sim, 15);
    assert_eq!(
        outs,
        [
            Output::Dropped {
                reason: DropReason::TableFull {
                    ip: host(15).into()
                }
            },
            Output::Transmit(Frame::arp_reply(ME, MY4, mac(15), host(15)).to_bytes()),
        ]
    );
    assert_eq!(sim.cache.len(), 4);
    assert_eq!(sim.cache.counters().table_full, 2);
    // Permanent entries do not count against the dynamic limit.
    let _ = sim.input(Input::AddStatic(host(20).into(), mac(20)));
    assert_eq!((sim.cache.len(), sim.cache.dynamic_len()), (5, 4));
}

#[test]
fn above_gc_thresh2_forced_gc_runs_at_most_every_five_seconds() {
    let mut sim = Sim::new(small_table(1, 2, 10));
    let _ = request_from(&mut sim, 10);
    sim.at(secs(1));
    let _ = request_from(&mut sim, 11);
    sim.at(secs(2));
    assert_eq!(removed(&request_from(&mut sim, 12)), []);
    sim.at(secs(6));
    assert_eq!(
        removed(&request_from(&mut sim, 13)),
        [(host(10).into(), Some(Stale))]
    );
    sim.at(secs(7));
    assert_eq!(removed(&request_from(&mut sim, 14)), []);
    assert_eq!(sim.cache.dynamic_len(), 4);
    assert_eq!(sim.cache.counters().forced_gc_runs, 1);
}

#[test]
fn periodic_gc_removes_unused_stale_and_failed_entries_above_gc_thresh1() {
    let mut sim = Sim::new(small_table(1, 512, 1024));
    let _ = request_from(&mut sim, 10);
    assert_eq!(sim.cache.poll_timeout(), Some(sim.t0 + secs(15)));
    let _ = request_from(&mut sim, 11);
    assert_eq!(sim.run_until(secs(20)), [], "nothing to collect at 15 s");
    let _ = sim.input(Input::Confirm(host(11).into()));
    let _ = sim.send(host(12), packet(1));
    let log = sim.run_until(secs(200));
    let gone: Vec<_> = log
        .iter()
        .filter_map(|(t, o)| match o {
            Output::StateChanged {
                ip, from, to: None, ..
            } => Some((*t, *ip, *from)),
            _ => None,
        })
        .collect();
    assert_eq!(
        gone,
        [
            // FAILED at 23 s, collected by the run at 30 s.
            (secs(30), host(12).into(), Some(Failed)),
            // Unused since 0 s: gc_stale_time 60 s.
            (secs(60), host(10).into(), Some(Stale)),
            // Confirmed at 20 s: 80 s, next run at 90 s.
            (secs(90), host(11).into(), Some(Stale)),
        ]
    );
    assert!(sim.cache.is_empty());
    assert_eq!(
        sim.cache.poll_timeout(),
        None,
        "GC disarmed below gc_thresh1"
    );
    assert_eq!(sim.cache.counters().gc_removed, 3);
}

#[test]
fn default_thresholds_keep_a_small_table_forever() {
    let mut sim = Sim::default();
    let _ = request_from(&mut sim, 10);
    assert_eq!(sim.cache.poll_timeout(), None);
    sim.run_until(secs(100_000));
    assert_eq!(sim.state(host(10)), Some(Stale));
}

#[test]
fn queue_limit_drops_the_oldest_packets() {
    let mut sim = Sim::new(Config {
        unres_qlen: 3,
        ..config()
    });
    let mut outs = Vec::new();
    for tag in 1..=5 {
        outs.extend(sim.send(PEER4, packet(tag)));
    }
    let overflow: Vec<_> = outs
        .iter()
        .filter(|o| matches!(o, Output::QueueOverflow { .. }))
        .cloned()
        .collect();
    assert_eq!(
        overflow,
        [
            Output::QueueOverflow {
                dst: PEER4.into(),
                packet: packet(1)
            },
            Output::QueueOverflow {
                dst: PEER4.into(),
                packet: packet(2)
            },
        ]
    );
    assert_eq!(sim.cache.counters().queue_dropped, 2);
    let outs = sim.frame(&Frame::arp_reply(PEER, PEER4, ME, MY4).to_bytes());
    let tags: Vec<u8> = delivered(&outs)
        .iter()
        .map(|d| *d.2.last().unwrap())
        .collect();
    assert_eq!(tags, [3, 4, 5]);
}

#[test]
fn default_queue_holds_101_packets() {
    let mut sim = Sim::default();
    for i in 0..=101u8 {
        let outs = sim.send(PEER4, packet(i));
        if i < 101 {
            assert!(
                !outs
                    .iter()
                    .any(|o| matches!(o, Output::QueueOverflow { .. }))
            );
        } else {
            assert!(outs.contains(&Output::QueueOverflow {
                dst: PEER4.into(),
                packet: packet(0)
            }));
        }
    }
    assert_eq!(sim.cache.lookup(PEER4.into()).unwrap().queued, 101);
}

#[test]
fn queue_byte_limit_keeps_at_least_the_newest_packet() {
    let mut sim = Sim::new(Config {
        unres_qlen_bytes: 50,
        ..config()
    });
    for tag in 1..=3 {
        let _ = sim.send(PEER4, packet(tag)); // 21 bytes each
    }
    assert_eq!(sim.cache.lookup(PEER4.into()).unwrap().queued, 2);
    let big = vec![0x45; 80];
    let outs = sim.send(PEER4, big.clone());
    assert_eq!(
        outs.iter()
            .filter(|o| matches!(o, Output::QueueOverflow { .. }))
            .count(),
        2
    );
    let outs = sim.frame(&Frame::arp_reply(PEER, PEER4, ME, MY4).to_bytes());
    assert_eq!(delivered(&outs), [(IpAddr::V4(PEER4), PEER, big)]);
}

#[test]
fn static_entries_are_permanent() {
    let mut sim = Sim::default();
    let _ = sim.send(PEER4, packet(1));
    let outs = sim.input(Input::AddStatic(PEER4.into(), PEER));
    assert_eq!(
        outs,
        [
            Output::StateChanged {
                ip: PEER4.into(),
                from: Some(Incomplete),
                to: Some(Permanent),
                mac: Some(PEER)
            },
            Output::Deliver {
                dst: PEER4.into(),
                mac: PEER,
                packet: packet(1)
            },
        ]
    );
    assert_eq!(sim.cache.poll_timeout(), None);
    // Received frames never change it.
    let _ = sim.frame(&Frame::arp_reply(OTHER, PEER4, ME, MY4).to_bytes());
    let mut garp = Frame::gratuitous_arp(OTHER, PEER4);
    garp.payload = Payload::Arp(ArpRepr::gratuitous_request(OTHER, PEER4));
    let _ = sim.frame(&garp.to_bytes());
    let _ = sim.frame(&Frame::arp_request(OTHER, PEER4, MY4).to_bytes());
    assert_eq!(sim.cache.lookup(PEER4.into()).unwrap().mac, Some(PEER));
    assert_eq!(sim.input(Input::Confirm(PEER4.into())), []);
    assert_eq!(
        delivered(&sim.send(PEER4, packet(2))),
        [(IpAddr::V4(PEER4), PEER, packet(2))]
    );
    sim.run_until(secs(100_000));
    // Flush keeps it; Remove deletes it; AddStatic replaces the address.
    let _ = sim.input(Input::Flush);
    assert_eq!(sim.state(PEER4), Some(Permanent));
    let _ = sim.input(Input::AddStatic(PEER4.into(), OTHER));
    assert_eq!(sim.cache.lookup(PEER4.into()).unwrap().mac, Some(OTHER));
    let outs = sim.input(Input::Remove(PEER4.into()));
    assert_eq!(removed(&outs), [(PEER4.into(), Some(Permanent))]);
    assert!(sim.cache.is_empty());
}

#[test]
fn invalid_static_entries_are_refused() {
    let mut sim = Sim::default();
    for (ip, m) in [
        (IpAddr::V4(MY4), PEER),
        (Ipv4Addr::new(224, 0, 0, 5).into(), PEER),
        (Ipv4Addr::new(192, 0, 2, 255).into(), PEER),
        (PEER4.into(), MacAddr::BROADCAST),
        (PEER4.into(), ME),
    ] {
        assert_eq!(
            sim.input(Input::AddStatic(ip, m)),
            [Output::Dropped {
                reason: DropReason::BadDestination(ip)
            }]
        );
    }
    assert!(sim.cache.is_empty());
    assert_eq!(sim.cache.counters().input_invalid, 5);
}

#[test]
fn flush_and_remove_hand_back_queued_packets() {
    let mut sim = Sim::default();
    let _ = sim.send(PEER4, packet(1));
    let _ = sim.send(PEER6, packet(2));
    let _ = request_from(&mut sim, 10);
    let outs = sim.input(Input::Remove(PEER6.into()));
    assert!(outs.contains(&Output::Unreachable {
        dst: PEER6.into(),
        dropped: vec![packet(2)]
    }));
    let outs = sim.input(Input::Flush);
    assert_eq!(removed(&outs).len(), 2);
    assert!(outs.contains(&Output::Unreachable {
        dst: PEER4.into(),
        dropped: vec![packet(1)]
    }));
    assert!(sim.cache.is_empty());
    assert_eq!(sim.cache.poll_timeout(), None);
    // Removing an absent entry does nothing.
    assert_eq!(sim.input(Input::Remove(PEER4.into())), []);
}

#[test]
fn group_destinations_need_no_resolution() {
    let mut sim = Sim::default();
    let cases: [(IpAddr, MacAddr); 4] = [
        (
            Ipv4Addr::new(224, 0, 0, 18).into(),
            MacAddr([0x01, 0, 0x5e, 0, 0, 18]),
        ),
        (Ipv4Addr::BROADCAST.into(), MacAddr::BROADCAST),
        (Ipv4Addr::new(192, 0, 2, 255).into(), MacAddr::BROADCAST),
        (
            Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2).into(),
            MacAddr([0x33, 0x33, 0, 1, 0, 2]),
        ),
    ];
    for (dst, m) in cases {
        assert_eq!(
            sim.input(Input::Send {
                dst,
                packet: packet(1)
            }),
            [Output::Deliver {
                dst,
                mac: m,
                packet: packet(1)
            }]
        );
    }
    assert!(sim.cache.is_empty());
}

#[test]
fn unusable_destinations_are_refused() {
    let mut sim = Sim::default();
    let bad: [IpAddr; 5] = [
        Ipv4Addr::UNSPECIFIED.into(),
        Ipv4Addr::LOCALHOST.into(),
        MY4.into(),
        Ipv6Addr::LOCALHOST.into(),
        MY6.into(),
    ];
    for dst in bad {
        assert_eq!(
            sim.input(Input::Send {
                dst,
                packet: packet(1)
            }),
            [
                Output::Dropped {
                    reason: DropReason::BadDestination(dst)
                },
                Output::Unreachable {
                    dst,
                    dropped: vec![packet(1)]
                },
            ]
        );
    }
    assert!(sim.cache.is_empty());
}

#[test]
fn app_solicit_comes_before_broadcasts() {
    let mut sim = Sim::new(Config {
        app_solicit: 1,
        ..config()
    });
    let outs = sim.send(PEER4, packet(1));
    assert!(outs.contains(&Output::AppProbe {
        ip: PEER4.into(),
        mac: None
    }));
    assert!(transmits(&outs).is_empty());
    let log = sim.run_until(secs(10));
    assert_eq!(
        timed_transmits(&log)
            .iter()
            .map(|t| t.0)
            .collect::<Vec<_>>(),
        [secs(1), secs(2), secs(3)]
    );
    assert_eq!(changes(&log), [(secs(4), Some(Incomplete), Some(Failed))]);
}

#[test]
fn no_multicast_solicits_means_immediate_failure() {
    let mut sim = Sim::new(Config {
        mcast_solicit: 0,
        ..config()
    });
    let outs = sim.send(PEER4, packet(1));
    assert_eq!(
        outs,
        [
            Output::StateChanged {
                ip: PEER4.into(),
                from: None,
                to: Some(Failed),
                mac: None
            },
            Output::Unreachable {
                dst: PEER4.into(),
                dropped: vec![packet(1)]
            },
        ]
    );
    assert_eq!(sim.cache.poll_timeout(), None);
}

#[test]
fn mcast_resolicit_adds_broadcast_probes_after_unicast_ones() {
    let mut sim = Sim::new(Config {
        mcast_resolicit: 1,
        ..config()
    });
    let _ = sim.send(PEER4, packet(0));
    let _ = sim.frame(&Frame::arp_reply(PEER, PEER4, ME, MY4).to_bytes());
    let rt = sim.cache.reachable_time();
    sim.run_until(rt);
    let _ = sim.send(PEER4, packet(1));
    let log = sim.run_until(rt + secs(20));
    let frames = timed_transmits(&log);
    let dsts: Vec<(Duration, [u8; 6])> = frames
        .iter()
        .map(|(t, f)| (*t - rt, f[..6].try_into().unwrap()))
        .collect();
    assert_eq!(
        dsts,
        [
            (secs(5), PEER.0),
            (secs(6), PEER.0),
            (secs(7), PEER.0),
            (secs(8), MacAddr::BROADCAST.0),
        ]
    );
    assert_eq!(sim.state(PEER4), Some(Failed));
    assert_eq!(
        sim.cache.lookup(PEER4.into()).unwrap().updated,
        sim.t0 + rt + secs(9)
    );
}

#[test]
fn spurious_and_repeated_timeouts_are_no_ops() {
    let mut sim = Sim::default();
    let _ = sim.send(PEER4, packet(1));
    let before = sim.cache.lookup(PEER4.into());
    sim.at(ms(999));
    sim.cache.handle_timeout(sim.now);
    assert_eq!(sim.drain(), []);
    assert_eq!(sim.cache.lookup(PEER4.into()), before);
    sim.at(secs(1));
    sim.cache.handle_timeout(sim.now);
    assert_eq!(transmits(&sim.drain()).len(), 1);
    sim.cache.handle_timeout(sim.now);
    assert_eq!(sim.drain(), []);
    // Going back in time changes nothing either.
    sim.cache.handle_timeout(sim.t0);
    assert_eq!(sim.drain(), []);
    assert_eq!(sim.cache.poll_timeout(), Some(sim.t0 + secs(2)));
    // An empty cache has no deadline.
    let empty = Sim::default();
    assert_eq!(empty.cache.poll_timeout(), None);
}

#[test]
fn late_timeout_processes_everything_due_once() {
    let mut sim = Sim::default();
    let _ = sim.send(PEER4, packet(1));
    // The caller oversleeps by 10 s: the next solicitation goes out then,
    // and the following deadlines count from there (Linux timers likewise).
    sim.at(secs(10));
    sim.cache.handle_timeout(sim.now);
    let outs = sim.drain();
    assert_eq!(transmits(&outs).len(), 1);
    assert_eq!(sim.cache.poll_timeout(), Some(sim.t0 + secs(11)));
}

#[test]
fn backwards_time_is_treated_as_the_latest_time() {
    let mut sim = Sim::default();
    sim.at(secs(10));
    let _ = sim.send(PEER4, packet(1));
    sim.at(secs(5));
    let _ = sim.frame(&Frame::arp_reply(PEER, PEER4, ME, MY4).to_bytes());
    let e = sim.cache.lookup(PEER4.into()).unwrap();
    assert_eq!(e.confirmed, Some(sim.t0 + secs(10)));
}

#[test]
fn invalid_configurations_are_rejected() {
    use arp::neighbor::{ConfigError, NeighborCache};
    let t = std::time::Instant::now();
    let bad = [
        Config {
            mac: MacAddr::ZERO,
            ..config()
        },
        Config {
            gc_thresh3: 0,
            gc_thresh2: 0,
            gc_thresh1: 0,
            ..config()
        },
        Config {
            base_reachable_time: Duration::ZERO,
            ..config()
        },
        Config {
            ipv4: vec![(Ipv4Addr::new(224, 0, 0, 1), 24)],
            ..config()
        },
        Config {
            ipv6: vec![(MY6, 129)],
            ..config()
        },
    ];
    for c in bad {
        assert!(NeighborCache::new(c, t).is_err());
    }
    assert_eq!(
        NeighborCache::new(
            Config {
                vlans: vec![arp::wire::VlanTag::dot1q(1); 3],
                ..config()
            },
            t
        )
        .err(),
        Some(ConfigError::TooManyVlans)
    );
}
