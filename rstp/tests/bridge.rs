#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "test code"
)]
//! One [`Bridge`] driven by hand: exact BPDU bytes, 9.3.4 validation,
//! Unknown role processed as Config, agreement, TxHoldCount, protocol
//! parameters and the protection features.

use std::time::{Duration, Instant};

use rstp::bpdu::{Bpdu, BpduBody, BpduFrame, BpduRole, BpduTimes, Flags};
use rstp::{
    AdminP2p, Bridge, BridgeConfig, BridgeId, ConfigError, DropReason, Duplex, Input, Output,
    PortConfig, PortId, PortRole, PortState, ProtectionEvent,
};

const MAC: [u8; 6] = [0xda, 0x68, 0xe0, 0x43, 0x99, 0x03];
const PEER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x77];

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    s.as_bytes()
        .chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect()
}

fn drain(b: &mut Bridge) -> Vec<Output> {
    std::iter::from_fn(|| b.poll_output()).collect()
}

fn sent(outs: &[Output], port: u16) -> Vec<Bpdu> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Transmit { port: p, frame } if *p == port => {
                Some(BpduFrame::parse(frame).unwrap().bpdu)
            }
            _ => None,
        })
        .collect()
}

fn up(b: &mut Bridge, now: Instant, port: u16) -> Vec<Output> {
    b.handle(
        now,
        Input::LinkUp {
            port,
            speed_mbps: 1000,
            duplex: Duplex::Full,
        },
    );
    drain(b)
}

fn bridge(cfg: impl FnOnce(&mut BridgeConfig)) -> (Bridge, Instant) {
    let mut c = BridgeConfig::new(MAC, 2);
    cfg(&mut c);
    let now = Instant::now();
    let mut b = Bridge::new(c, now).unwrap();
    drain(&mut b);
    (b, now)
}

/// A BPDU from the peer bridge with `root` and `role`.
fn rst(root: u16, cost: u32, role: BpduRole, flags: u8) -> Vec<u8> {
    let body = BpduBody {
        flags: Flags(flags).with_role(role),
        root: BridgeId::new(root, PEER),
        root_path_cost: cost,
        bridge: BridgeId::new(root, PEER),
        port: PortId::new(128, 1),
        times: BpduTimes::from_secs(0, 20, 2, 15),
    };
    BpduFrame {
        src: PEER,
        bpdu: Bpdu::Rst { version: 2, body },
    }
    .to_bytes()
}

fn config_bpdu(times: BpduTimes, flags: u8) -> Vec<u8> {
    let body = BpduBody {
        flags: Flags(flags),
        root: BridgeId::new(0x1000, PEER),
        root_path_cost: 0,
        bridge: BridgeId::new(0x1000, PEER),
        port: PortId::new(128, 1),
        times,
    };
    BpduFrame {
        src: PEER,
        bpdu: Bpdu::Config { version: 0, body },
    }
    .to_bytes()
}

fn feed(b: &mut Bridge, now: Instant, port: u16, frame: &[u8]) -> Vec<Output> {
    b.handle(now, Input::Bpdu { port, bytes: frame });
    drain(b)
}

#[test]
fn first_rst_bpdu_bytes() {
    let (mut b, now) = bridge(|_| {});
    let outs = up(&mut b, now, 1);
    let frame = outs
        .iter()
        .find_map(|o| match o {
            Output::Transmit { port: 1, frame } => Some(frame.clone()),
            _ => None,
        })
        .unwrap();
    // The captured mstpd root BPDU, with flags 0x0e (Designated | Proposal)
    // instead of 0x4e: a port that was never proposed to sends no Agreement.
    let mut expected = hex("0180c2000000 da68e0439903 0027 424203 0000 02 02 0e \
         8000da68e0439903 00000000 8000da68e0439903 8001 0000 1400 0200 0f00 00");
    expected.resize(60, 0);
    assert_eq!(frame, expected);
    // The same for a 10 Gb/s port 2 (cost does not appear on the root).
    assert_eq!(b.port_status(1).unwrap().path_cost, 20_000);
}

#[test]
fn initial_outputs_and_link_up() {
    let now = Instant::now();
    let mut b = Bridge::new(BridgeConfig::new(MAC, 2), now).unwrap();
    let outs = drain(&mut b);
    for port in [1, 2] {
        assert!(outs.contains(&Output::SetPortState {
            port,
            state: PortState::Discarding
        }));
        assert!(outs.contains(&Output::FlushFdb { port }));
        assert!(
            sent(&outs, port).is_empty(),
            "no BPDU while the link is down"
        );
    }
    assert_eq!(b.port_status(1).unwrap().role, PortRole::Disabled);
    let outs = up(&mut b, now, 1);
    assert!(outs.contains(&Output::RoleChanged {
        port: 1,
        role: PortRole::Designated
    }));
    let st = b.status();
    assert!(st.is_root);
    assert_eq!(st.root_port, None);
    assert_eq!(st.bridge_id.to_string(), "8000.da68e0439903");
}

#[test]
fn proposal_agreement_on_p2p() {
    // We are not root: the peer (priority 0x1000) proposes; our root port
    // answers with an Agreement at once and forwards.
    let (mut b, now) = bridge(|_| {});
    up(&mut b, now, 1);
    let outs = feed(
        &mut b,
        now,
        1,
        &rst(0x1000, 0, BpduRole::Designated, Flags::PROPOSAL),
    );
    let reply = sent(&outs, 1);
    let agreement = reply.iter().any(|x| match x {
        Bpdu::Rst { body, .. } => {
            body.flags.has(Flags::AGREEMENT) && body.flags.role() == BpduRole::Root
        }
        _ => false,
    });
    assert!(agreement, "{reply:?}");
    let p = b.port_status(1).unwrap();
    assert_eq!((p.role, p.state), (PortRole::Root, PortState::Forwarding));
    assert_eq!(b.status().root_path_cost, 20_000);
    assert_eq!(b.status().root_port, Some(1));
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::RootChanged {
            root_port: Some(1),
            root_path_cost: 20_000,
            ..
        }
    )));
}

/// The peer's Root Port answering our proposal: it names our bridge as the
/// root, at its own root path cost.
fn agreement_for_root(root: BridgeId) -> Vec<u8> {
    let body = BpduBody {
        flags: Flags(Flags::AGREEMENT).with_role(BpduRole::Root),
        root,
        root_path_cost: 20_000,
        bridge: BridgeId::new(0x8000, PEER),
        port: PortId::new(128, 1),
        times: BpduTimes::from_secs(1, 20, 2, 15),
    };
    BpduFrame {
        src: PEER,
        bpdu: Bpdu::Rst { version: 2, body },
    }
    .to_bytes()
}

#[test]
fn agreement_makes_designated_forward() {
    let (mut b, now) = bridge(|c| c.priority = 0);
    up(&mut b, now, 1);
    assert_eq!(b.port_status(1).unwrap().state, PortState::Discarding);
    // Peer's root port agrees (its vector is worse than ours, same root).
    feed(&mut b, now, 1, &agreement_for_root(BridgeId::new(0, MAC)));
    assert_eq!(b.port_status(1).unwrap().state, PortState::Forwarding);
}

/// An RST BPDU from `bridge` port 1 naming `root` at `cost`.
fn rst_from(root: BridgeId, cost: u32, bridge: BridgeId, role: BpduRole, flags: u8) -> Vec<u8> {
    let body = BpduBody {
        flags: Flags(flags).with_role(role),
        root,
        root_path_cost: cost,
        bridge,
        port: PortId::new(128, 1),
        times: BpduTimes::from_secs(1, 20, 2, 15),
    };
    BpduFrame {
        src: bridge.mac(),
        bpdu: Bpdu::Rst { version: 2, body },
    }
    .to_bytes()
}

/// Information withdrawn by its designated port (it now sends a Root role
/// BPDU) is aged out at once (deviation, see the crate docs), not kept for
/// 3 × HelloTime.
#[test]
fn root_role_from_designated_port_withdraws_information() {
    let (mut b, now) = bridge(|_| {});
    up(&mut b, now, 1);
    let upstream = BridgeId::new(0x1000, PEER);
    let fwd = Flags::LEARNING | Flags::FORWARDING;
    feed(
        &mut b,
        now,
        1,
        &rst_from(upstream, 0, upstream, BpduRole::Designated, fwd),
    );
    assert_eq!(b.status().root, upstream);
    assert_eq!(b.port_status(1).unwrap().role, PortRole::Root);
    // The same port now says it is a Root Port (worse vector): withdrawn.
    let worse = BridgeId::new(0x2000, [0x02, 0, 0, 0, 0, 0x22]);
    feed(
        &mut b,
        now,
        1,
        &rst_from(worse, 40_000, upstream, BpduRole::Root, fwd),
    );
    assert!(b.status().is_root);
    assert_eq!(b.port_status(1).unwrap().role, PortRole::Designated);
}

/// An agreement holds only for the root it was given for (deviation, see
/// the crate docs): one naming another root, although its vector is worse
/// than ours, is stale and leaves the port discarding.
#[test]
fn agreement_for_another_root_is_ignored() {
    let (mut b, now) = bridge(|c| c.priority = 0);
    up(&mut b, now, 1);
    feed(
        &mut b,
        now,
        1,
        &rst(0x8000, 20_000, BpduRole::Root, Flags::AGREEMENT),
    );
    assert_eq!(b.port_status(1).unwrap().state, PortState::Discarding);
    assert_eq!(b.port_status(1).unwrap().role, PortRole::Designated);
    feed(
        &mut b,
        now,
        1,
        &agreement_for_root(BridgeId::new(0x1000, MAC)),
    );
    assert_eq!(b.port_status(1).unwrap().state, PortState::Discarding);
    feed(&mut b, now, 1, &agreement_for_root(BridgeId::new(0, MAC)));
    assert_eq!(b.port_status(1).unwrap().state, PortState::Forwarding);
}

#[test]
fn agreement_needs_point_to_point() {
    let (mut b, now) = bridge(|c| c.priority = 0);
    b.handle(
        now,
        Input::LinkUp {
            port: 1,
            speed_mbps: 100,
            duplex: Duplex::Half,
        },
    );
    drain(&mut b);
    assert!(!b.port_status(1).unwrap().oper_p2p);
    feed(
        &mut b,
        now,
        1,
        &rst(0x8000, 20_000, BpduRole::Root, Flags::AGREEMENT),
    );
    assert_eq!(b.port_status(1).unwrap().state, PortState::Discarding);
}

#[test]
fn unknown_role_is_processed_as_config() {
    // An RST BPDU of role Alternate/Backup with a superior vector carries no
    // designated information: ignored.
    let (mut b, now) = bridge(|_| {});
    up(&mut b, now, 1);
    feed(
        &mut b,
        now,
        1,
        &rst(0x1000, 0, BpduRole::AlternateOrBackup, 0),
    );
    assert!(b.status().is_root);
    // The same with role Unknown is a Config BPDU: designated information.
    feed(
        &mut b,
        now,
        1,
        &rst(0x1000, 0, BpduRole::Unknown, Flags::PROPOSAL),
    );
    assert!(!b.status().is_root);
    assert_eq!(b.port_status(1).unwrap().role, PortRole::Root);
    // ...and an Agreement in an Unknown-role BPDU is not an agreement.
    let (mut b, now) = bridge(|c| c.priority = 0);
    up(&mut b, now, 1);
    feed(
        &mut b,
        now,
        1,
        &rst(0x8000, 20_000, BpduRole::Unknown, Flags::AGREEMENT),
    );
    assert_eq!(b.port_status(1).unwrap().state, PortState::Discarding);
}

#[test]
fn validation_drops() {
    let (mut b, now) = bridge(|_| {});
    up(&mut b, now, 1);
    let dropped = |outs: &[Output]| {
        outs.iter().find_map(|o| match o {
            Output::Dropped { reason, .. } => Some(*reason),
            _ => None,
        })
    };
    // Unknown port, link down, malformed.
    let good = config_bpdu(BpduTimes::from_secs(0, 20, 2, 15), 0);
    assert_eq!(
        dropped(&feed(&mut b, now, 9, &good)),
        Some(DropReason::UnknownPort)
    );
    assert_eq!(
        dropped(&feed(&mut b, now, 2, &good)),
        Some(DropReason::PortDisabled)
    );
    assert!(matches!(
        dropped(&feed(&mut b, now, 1, &good[..30])),
        Some(DropReason::Malformed(_))
    ));
    // Message Age >= Max Age.
    let aged = config_bpdu(
        BpduTimes {
            message_age: 20 * 256,
            ..BpduTimes::from_secs(0, 20, 2, 15)
        },
        0,
    );
    assert_eq!(
        dropped(&feed(&mut b, now, 1, &aged)),
        Some(DropReason::MessageAgeExceeded)
    );
    // Invalid timers (FreeBSD stp.py): max age 41/5, hello 3/(1/256), fwd 31/3.
    for t in [
        BpduTimes::from_secs(0, 41, 2, 15),
        BpduTimes::from_secs(0, 5, 2, 15),
        BpduTimes::from_secs(0, 20, 3, 15),
        BpduTimes {
            hello_time: 1,
            ..BpduTimes::from_secs(0, 20, 2, 15)
        },
        BpduTimes::from_secs(0, 20, 2, 31),
        BpduTimes::from_secs(0, 20, 2, 3),
    ] {
        assert_eq!(
            dropped(&feed(&mut b, now, 1, &config_bpdu(t, 0))),
            Some(DropReason::InvalidTimers),
            "{t:?}"
        );
    }
    assert!(b.status().is_root, "nothing invalid was processed");
    // Our own BPDU looped back to the port that sent it.
    let own = sent(&up(&mut b, now, 2), 2);
    let frame = BpduFrame {
        src: MAC,
        bpdu: own[0],
    }
    .to_bytes();
    assert_eq!(
        dropped(&feed(&mut b, now, 2, &frame)),
        Some(DropReason::Loopback)
    );
    assert_eq!(b.port_status(2).unwrap().counters.rx_dropped, 2);
    // The valid one is processed.
    assert_eq!(dropped(&feed(&mut b, now, 1, &good)), None);
    assert!(!b.status().is_root);
}

#[test]
fn own_bpdu_on_another_port_makes_a_backup() {
    // Port 1's BPDU heard on port 2 (same LAN).
    let (mut b2, now2) = bridge(|_| {});
    let p1 = sent(&up(&mut b2, now2, 1), 1);
    up(&mut b2, now2, 2);
    let frame = BpduFrame {
        src: MAC,
        bpdu: p1[0],
    }
    .to_bytes();
    feed(&mut b2, now2, 2, &frame);
    let p = b2.port_status(2).unwrap();
    assert_eq!((p.role, p.state), (PortRole::Backup, PortState::Discarding));
}

#[test]
fn tx_hold_count_limits_bpdus_per_tick() {
    let (mut b, mut now) = bridge(|c| c.tx_hold_count = 3);
    up(&mut b, now, 1);
    b.handle_timeout(now + Duration::from_secs(1));
    drain(&mut b);
    now += Duration::from_secs(1);
    // Each alternation changes our designated information: newInfo.
    let mut count = 0;
    for i in 0..20 {
        let root = if i % 2 == 0 { 0x1000 } else { 0x2000 };
        count += sent(
            &feed(&mut b, now, 1, &rst(root, 0, BpduRole::Designated, 0)),
            1,
        )
        .len();
    }
    assert_eq!(count, 3);
    // One tick lets one more out.
    b.handle_timeout(now + Duration::from_secs(1));
    assert_eq!(sent(&drain(&mut b), 1).len(), 1);
}

#[test]
fn spurious_timeout_is_a_no_op() {
    let (mut b, now) = bridge(|_| {});
    up(&mut b, now, 1);
    b.handle_timeout(now);
    b.handle_timeout(now + Duration::from_millis(999));
    assert!(drain(&mut b).is_empty());
    assert_eq!(b.poll_timeout(), Some(now + Duration::from_secs(1)));
    // Hello: a BPDU every 2 s on a designated port.
    let mut n = 0;
    for s in 1..=10 {
        b.handle_timeout(now + Duration::from_secs(s));
        n += sent(&drain(&mut b), 1).len();
    }
    assert_eq!(n, 5);
}

#[test]
fn parameters() {
    let mut c = BridgeConfig::new(MAC, 1);
    c.max_age = 40;
    c.forward_delay = 20;
    assert!(matches!(
        Bridge::new(c, Instant::now()),
        Err(ConfigError::TimerRelation { .. })
    ));
    let (mut b, now) = bridge(|c| {
        c.ports[1].path_cost = Some(1234);
        c.ports[1].admin_p2p = AdminP2p::ForceFalse;
    });
    b.handle(
        now,
        Input::LinkUp {
            port: 1,
            speed_mbps: 10_000,
            duplex: Duplex::Half,
        },
    );
    b.handle(
        now,
        Input::LinkUp {
            port: 2,
            speed_mbps: 10,
            duplex: Duplex::Full,
        },
    );
    drain(&mut b);
    let (p1, p2) = (b.port_status(1).unwrap(), b.port_status(2).unwrap());
    assert_eq!((p1.path_cost, p1.oper_p2p), (2000, false));
    assert_eq!((p2.path_cost, p2.oper_p2p), (1234, false));
    // Invalid runtime configuration is reported, not applied.
    let mut bad = p1.config;
    bad.priority = 7;
    b.handle(now, Input::SetPortConfig(bad));
    assert!(drain(&mut b).contains(&Output::Dropped {
        port: 1,
        reason: DropReason::InvalidConfig(ConfigError::PortPriority(7))
    }));
    let mut good = p1.config;
    good.priority = 0x10;
    b.handle(now, Input::SetPortConfig(good));
    drain(&mut b);
    assert_eq!(b.port_status(1).unwrap().port_id, PortId(0x1001));
}

#[test]
fn admin_edge_forwards_at_once() {
    let (mut b, now) = bridge(|c| c.ports[0].admin_edge = true);
    let outs = up(&mut b, now, 1);
    assert!(outs.contains(&Output::SetPortState {
        port: 1,
        state: PortState::Forwarding
    }));
    assert!(b.port_status(1).unwrap().oper_edge);
    // A BPDU takes the edge status away.
    feed(&mut b, now, 1, &rst(0xf000, 0, BpduRole::Designated, 0));
    assert!(!b.port_status(1).unwrap().oper_edge);
}

/// A bridge that is root port on 1 (peer root) with port 2 forwarding.
fn two_port_non_root(cfg: impl FnOnce(&mut BridgeConfig)) -> (Bridge, Instant) {
    let (mut b, now) = bridge(cfg);
    up(&mut b, now, 1);
    up(&mut b, now, 2);
    feed(
        &mut b,
        now,
        1,
        &rst(0x1000, 0, BpduRole::Designated, Flags::PROPOSAL),
    );
    let peer2 = BpduFrame {
        src: [2, 0, 0, 0, 0, 0x99],
        bpdu: Bpdu::Rst {
            version: 2,
            body: BpduBody {
                flags: Flags(Flags::AGREEMENT).with_role(BpduRole::Root),
                root: BridgeId::new(0x1000, PEER),
                root_path_cost: 40_000,
                bridge: BridgeId::new(0x8000, [2, 0, 0, 0, 0, 0x99]),
                port: PortId::new(128, 1),
                times: BpduTimes::from_secs(1, 20, 2, 15),
            },
        },
    }
    .to_bytes();
    feed(&mut b, now, 2, &peer2);
    assert_eq!(b.port_status(2).unwrap().state, PortState::Forwarding);
    (b, now)
}

#[test]
fn topology_change_flushes_other_ports() {
    let (mut b, now) = two_port_non_root(|_| {});
    // Let TxHoldCount recover from the start-up burst.
    let now = now + Duration::from_secs(3);
    b.handle_timeout(now);
    drain(&mut b);
    let outs = feed(
        &mut b,
        now,
        1,
        &rst(0x1000, 0, BpduRole::Designated, Flags::TC),
    );
    assert!(outs.contains(&Output::FlushFdb { port: 2 }), "{outs:?}");
    assert!(!outs.contains(&Output::FlushFdb { port: 1 }));
    // And the TC is propagated on port 2.
    assert!(
        sent(&outs, 2)
            .iter()
            .any(|x| x.body().unwrap().flags.has(Flags::TC))
    );
    assert!(b.port_status(2).unwrap().topology_change);
    assert_eq!(b.port_status(1).unwrap().counters.rx_tc, 1);
}

#[test]
fn restricted_tcn_does_not_propagate() {
    let (mut b, now) = two_port_non_root(|c| c.ports[0].restricted_tcn = true);
    let outs = feed(
        &mut b,
        now,
        1,
        &rst(0x1000, 0, BpduRole::Designated, Flags::TC),
    );
    assert!(
        !outs.iter().any(|o| matches!(o, Output::FlushFdb { .. })),
        "{outs:?}"
    );
}

#[test]
fn tc_flood_limit() {
    let (mut b, now) = two_port_non_root(|c| c.tc_flood_limit = Some(2));
    let mut flushes = 0;
    let mut limited = 0;
    for _ in 0..10 {
        let outs = feed(
            &mut b,
            now,
            1,
            &rst(0x1000, 0, BpduRole::Designated, Flags::TC),
        );
        flushes += outs
            .iter()
            .filter(|o| matches!(o, Output::FlushFdb { port: 2 }))
            .count();
        limited += outs
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    Output::Protection {
                        event: ProtectionEvent::TcFloodLimited,
                        ..
                    }
                )
            })
            .count();
    }
    assert!(flushes <= 2, "{flushes} flushes");
    assert_eq!(limited, 1);
    // A TCN beyond the limit is dropped.
    let tcn = BpduFrame {
        src: PEER,
        bpdu: Bpdu::Tcn { version: 0 },
    }
    .to_bytes();
    assert!(
        feed(&mut b, now, 2, &tcn)
            .iter()
            .all(|o| !matches!(o, Output::Dropped { .. }))
    );
    feed(&mut b, now, 2, &tcn);
    assert!(feed(&mut b, now, 2, &tcn).contains(&Output::Dropped {
        port: 2,
        reason: DropReason::TcFloodLimit
    }));
}

#[test]
fn bpdu_guard_disables_the_port() {
    let (mut b, now) = bridge(|c| {
        c.ports[0].admin_edge = true;
        c.ports[0].bpdu_guard = true;
    });
    up(&mut b, now, 1);
    assert_eq!(b.port_status(1).unwrap().state, PortState::Forwarding);
    let outs = feed(&mut b, now, 1, &rst(0x1000, 0, BpduRole::Designated, 0));
    assert!(outs.contains(&Output::Protection {
        port: 1,
        event: ProtectionEvent::BpduGuardTripped
    }));
    assert!(outs.contains(&Output::SetPortState {
        port: 1,
        state: PortState::Discarding
    }));
    let p = b.port_status(1).unwrap();
    assert!(p.bpdu_guard_tripped && !p.enabled);
    assert_eq!(p.role, PortRole::Disabled);
    assert!(b.status().is_root, "the BPDU itself was not processed");
    // Link down and up re-enables it.
    b.handle(now, Input::LinkDown { port: 1 });
    up(&mut b, now, 1);
    assert_eq!(b.port_status(1).unwrap().state, PortState::Forwarding);
    // So does reapplying the configuration.
    feed(&mut b, now, 1, &rst(0x1000, 0, BpduRole::Designated, 0));
    assert!(!b.port_status(1).unwrap().enabled);
    let cfg = b.port_status(1).unwrap().config;
    b.handle(now, Input::SetPortConfig(cfg));
    drain(&mut b);
    let p = b.port_status(1).unwrap();
    assert!(p.enabled && !p.bpdu_guard_tripped);
}

#[test]
fn root_guard_keeps_the_port_alternate() {
    let (mut b, now) = bridge(|c| c.ports[0].restricted_role = true);
    up(&mut b, now, 1);
    let outs = feed(
        &mut b,
        now,
        1,
        &rst(0x1000, 0, BpduRole::Designated, Flags::PROPOSAL),
    );
    assert!(outs.contains(&Output::Protection {
        port: 1,
        event: ProtectionEvent::RootGuardBlocked
    }));
    let p = b.port_status(1).unwrap();
    assert_eq!(
        (p.role, p.state),
        (PortRole::Alternate, PortState::Discarding)
    );
    assert!(b.status().is_root);
}

#[test]
fn bpdu_filter_neither_sends_nor_processes() {
    let (mut b, now) = bridge(|c| c.ports[0].bpdu_filter = true);
    let mut outs = up(&mut b, now, 1);
    for s in 1..10 {
        b.handle_timeout(now + Duration::from_secs(s));
        outs.extend(drain(&mut b));
    }
    assert!(sent(&outs, 1).is_empty());
    let outs = feed(
        &mut b,
        now + Duration::from_secs(10),
        1,
        &rst(0x1000, 0, BpduRole::Designated, 0),
    );
    assert!(outs.contains(&Output::Dropped {
        port: 1,
        reason: DropReason::BpduFilter
    }));
    assert!(b.status().is_root);
    // With nobody answering, the port turns edge and forwards.
    let p = b.port_status(1).unwrap();
    assert!(p.oper_edge && p.state == PortState::Forwarding);
}

#[test]
fn port_numbers_above_255() {
    // Open vSwitch masks root_port_id & 0x00ff; the full 12 bits are used here.
    let mut c = BridgeConfig::new(MAC, 0);
    c.ports = vec![PortConfig::new(300), PortConfig::new(44)];
    let now = Instant::now();
    let mut b = Bridge::new(c, now).unwrap();
    drain(&mut b);
    up(&mut b, now, 300);
    up(&mut b, now, 44);
    feed(
        &mut b,
        now,
        300,
        &rst(0x1000, 0, BpduRole::Designated, Flags::PROPOSAL),
    );
    assert_eq!(b.status().root_port, Some(300));
    assert_eq!(b.port_status(300).unwrap().port_id, PortId(0x812c));
    assert_eq!(b.port_status(44).unwrap().role, PortRole::Designated);
}
