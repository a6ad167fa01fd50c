#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "test code"
)]

//! Conformance: vrrp-arp.md §9.13–14 (checksum modes, Fault), tracking,
//! unicast mode, sync groups, VRRPv2 (RFC 3768), IPv6, configuration
//! validation and the multi-instance router.

mod common;

use std::time::{Duration, Instant};

use common::*;
use vrrp::{
    AcceptChecksum, Auth, Config, ConfigError, DropReason, Family, FaultCause, Input, InstanceKey,
    Output, Reason, Router, RouterConfig, RouterConfigError, State, TrackConfig, TrackState,
    Unicast, V3Ipv4Checksum, Version, VrrpRepr,
};

/// vrrp-arp.md §3 vector: keepalived 10.0.0.1 → 224.0.0.18, VRID 52,
/// priority 150, 10 cs, VIP 10.0.0.101.
fn keepalived_vector_config() -> Config {
    let mut cfg = Config::new(IF, 52, ip("10.0.0.1"), vec![ip("10.0.0.101")], MAC);
    cfg.priority = 150;
    cfg.advert_interval = ms(100);
    cfg
}

/// §9.13: exact bytes for both sending forms.
#[test]
fn s13_checksum_send_forms() {
    let mut s = Sim::started(keepalived_vector_config());
    s.run_until(secs(1));
    let Output::Transmit { bytes, .. } = s
        .log
        .iter()
        .find(|(_, o)| matches!(o, Output::Transmit { .. }))
        .unwrap()
        .1
        .clone()
    else {
        panic!("not a transmit")
    };
    assert_eq!(
        bytes,
        [
            0x31, 0x34, 0x96, 0x01, 0x00, 0x0a, 0x43, 0xcb, 0x0a, 0x00, 0x00, 0x65
        ]
    );
    let mut cfg = keepalived_vector_config();
    cfg.checksum_send = V3Ipv4Checksum::Rfc9568;
    let mut s = Sim::started(cfg);
    s.run_until(secs(1));
    let sent: Vec<Vec<u8>> = s
        .log
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Transmit { bytes, .. } => Some(bytes.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(sent[0][6..8], [0x2e, 0x5b]);
}

/// §9.13: a receiver accepting one form drops the other; `Either` hears
/// both.
#[test]
fn s13_checksum_accept_modes() {
    let pseudo = advert(Version::V3, 200, 100);
    let plain = VrrpRepr::parse(&pseudo, ip("10.0.0.2"), group(), AcceptChecksum::Either)
        .unwrap()
        .repr
        .to_bytes(ip("10.0.0.2"), group(), V3Ipv4Checksum::Rfc9568)
        .unwrap();
    for (accept, pseudo_ok, plain_ok) in [
        (AcceptChecksum::PseudoHeader, true, false),
        (AcceptChecksum::Rfc9568, false, true),
        (AcceptChecksum::Either, true, true),
    ] {
        let mut cfg = config();
        cfg.checksum_accept = accept;
        let mut s = Sim::started(cfg);
        s.recv(ms(10), "10.0.0.2", &pseudo);
        s.recv(ms(20), "10.0.0.2", &plain);
        let c = s.vr.counters();
        assert_eq!(
            c.rcvd_advertisements,
            u64::from(pseudo_ok) + u64::from(plain_ok),
            "{accept:?}"
        );
        assert_eq!(
            c.checksum_errors,
            u64::from(!pseudo_ok) + u64::from(!plain_ok)
        );
    }
}

/// §9.14: link down on the Master: Fault, priority-0 advert, address
/// removed, silent; link up: Backup with a fresh down timer.
#[test]
fn s14_fault_on_link_down() {
    let mut s = Sim::started(config());
    s.run_until(secs(5));
    s.take();
    s.input(
        secs(5),
        Input::Link {
            ifindex: IF,
            up: false,
        },
    );
    assert_eq!(
        s.log[0].1,
        Output::StateChanged {
            from: State::Master,
            to: State::Fault,
            reason: Reason::Fault(FaultCause::LinkDown)
        }
    );
    let a = adverts(&s.log);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].2.priority, 0);
    assert!(matches!(s.log[2].1, Output::RemoveAddress { .. }));
    assert_eq!(s.vr.poll_timeout(), None);
    s.recv(secs(6), "10.0.0.2", &advert(Version::V3, 200, 100));
    assert_eq!(
        drops(&s.log).last().unwrap().1,
        DropReason::NotListening(State::Fault)
    );
    s.take();
    s.input(
        secs(7),
        Input::Link {
            ifindex: IF,
            up: true,
        },
    );
    assert_eq!(s.states(), vec![(secs(7), State::Fault, State::Backup)]);
    s.run_until(secs(20));
    assert_eq!(
        s.states()[1],
        (secs(7) + ns(3_609_375_000), State::Backup, State::Master)
    );
}

/// §9.14: a weight-0 track failing is a Fault; startup while faulted goes
/// straight to Fault.
#[test]
fn s14_fault_on_weight_zero_track() {
    let mut cfg = config();
    cfg.tracks = vec![TrackConfig::script(7, 0)];
    let mut s = Sim::started(cfg.clone());
    s.run_until(secs(4));
    s.take();
    s.input(
        secs(4),
        Input::TrackChanged {
            id: 7,
            state: TrackState::Down,
        },
    );
    assert_eq!(s.states(), vec![(secs(4), State::Master, State::Fault)]);
    assert!(s.log.contains(&(
        secs(4),
        Output::StateChanged {
            from: State::Master,
            to: State::Fault,
            reason: Reason::Fault(FaultCause::Track(7))
        }
    )));
    assert_eq!(s.vr.counters().sent_pri_zero_packets, 1);

    let mut s = Sim::new(cfg);
    s.input(
        Duration::ZERO,
        Input::TrackChanged {
            id: 7,
            state: TrackState::Down,
        },
    );
    s.input(Duration::ZERO, Input::Startup);
    assert_eq!(
        s.states(),
        vec![(Duration::ZERO, State::Initialize, State::Fault)]
    );
}

/// Track weights change the advertised priority (keepalived rules), and
/// a lowered Master is preempted by a peer.
#[test]
fn track_weights_change_priority() {
    let mut cfg = config();
    cfg.priority = 150;
    cfg.tracks = vec![
        TrackConfig::interface(1, -60),
        TrackConfig::script(2, 10),
        TrackConfig::file(3, 2),
    ];
    let mut s = Sim::started(cfg);
    assert_eq!(s.vr.priority(), 160);
    s.run_until(secs(4));
    let t = |id, state| Input::TrackChanged { id, state };
    s.input(secs(4), t(1, TrackState::Down));
    assert_eq!(s.vr.priority(), 100);
    s.input(secs(4), t(3, TrackState::Value(-20)));
    assert_eq!(s.vr.priority(), 60);
    s.input(secs(4), t(3, TrackState::Value(100)));
    assert_eq!(s.vr.priority(), 254, "clamped");
    s.input(secs(4), t(3, TrackState::Value(0)));
    s.take();
    s.run_until(ms(4500));
    assert_eq!(adverts(&s.log)[0].2.priority, 100);
    // Peer at 120 preempts after the lowered Master's next advert.
    s.recv(ms(4600), "10.0.0.2", &advert(Version::V3, 120, 100));
    assert_eq!(s.vr.state(), State::Backup);
}

/// Owner priority ignores weights.
#[test]
fn owner_ignores_weights() {
    let mut cfg = config();
    cfg.priority = 255;
    cfg.tracks = vec![TrackConfig::interface(1, -60)];
    let mut s = Sim::started(cfg);
    s.input(
        secs(1),
        Input::TrackChanged {
            id: 1,
            state: TrackState::Down,
        },
    );
    assert_eq!(s.vr.priority(), 255);
    assert_eq!(s.vr.state(), State::Master);
}

fn unicast_config() -> Config {
    let mut cfg = config();
    cfg.unicast = Some(Unicast {
        peers: vec![ip("10.0.0.2"), ip("10.0.0.3")],
        check_ttl: false,
    });
    cfg
}

/// Unicast: one advert per peer with the peer as destination (and in the
/// pseudo-header); only peers accepted; no TTL check; a peer summing
/// 224.0.0.18 into the pseudo-header is accepted.
#[test]
fn unicast_mode() {
    let mut s = Sim::started(unicast_config());
    s.run_until(ms(4000));
    let a = adverts(&s.log);
    let t = ns(3_609_375_000);
    assert_eq!(
        a.iter().map(|(t, d, _)| (*t, *d)).collect::<Vec<_>>(),
        vec![(t, ip("10.0.0.2")), (t, ip("10.0.0.3"))]
    );
    // Verify the checksum covered the peer address.
    for (_, o) in &s.log {
        if let Output::Transmit {
            src, dst, bytes, ..
        } = o
        {
            assert!(VrrpRepr::parse(bytes, *src, *dst, AcceptChecksum::PseudoHeader).is_ok());
            assert!(VrrpRepr::parse(bytes, *src, group(), AcceptChecksum::PseudoHeader).is_err());
        }
    }
    let me = ip("10.0.0.1");
    let from_stranger = advert_from(Version::V3, 200, 100, ip("10.0.0.9"), me);
    s.recv_full(secs(4), "10.0.0.9", me, 255, &from_stranger);
    assert_eq!(
        drops(&s.log).last().unwrap().1,
        DropReason::UnknownPeer(ip("10.0.0.9"))
    );
    assert_eq!(s.vr.counters().unknown_peer, 1);
    // Old-style checksum (group in the pseudo-header), TTL 64: accepted.
    let old = advert_from(Version::V3, 200, 100, ip("10.0.0.2"), group());
    s.recv_full(secs(4), "10.0.0.2", me, 64, &old);
    assert_eq!(s.vr.state(), State::Backup);
}

/// Unicast with the TTL check turned on drops a routed advert.
#[test]
fn unicast_ttl_check_optional() {
    let mut cfg = unicast_config();
    if let Some(u) = cfg.unicast.as_mut() {
        u.check_ttl = true;
    }
    let mut s = Sim::started(cfg);
    let me = ip("10.0.0.1");
    let pkt = advert_from(Version::V3, 200, 100, ip("10.0.0.2"), me);
    s.recv_full(ms(1), "10.0.0.2", me, 63, &pkt);
    assert_eq!(drops(&s.log)[0].1, DropReason::Ttl(63));
}

fn v2_config() -> Config {
    let mut cfg = Config::new(IF, 51, ip("10.0.1.1"), vec![ip("10.0.1.5")], MAC);
    cfg.version = Version::V2;
    cfg.priority = 30;
    cfg
}

/// VRRPv2: holo's vector byte for byte; skew (256 − 30)/256 s.
#[test]
fn v2_holo_vector_and_timing() {
    let mut s = Sim::started(v2_config());
    s.run_until(secs(4));
    let t = secs(3) + ns(882_812_500);
    assert_eq!(s.states()[1].0, t);
    let sent = s
        .log
        .iter()
        .find_map(|(_, o)| match o {
            Output::Transmit { bytes, .. } => Some(bytes.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        sent,
        [
            0x21, 0x33, 0x1e, 0x01, 0x00, 0x01, 0xb5, 0xc5, 0x0a, 0x00, 0x01, 0x05, 0, 0, 0, 0, 0,
            0, 0, 0
        ]
    );
}

/// VRRPv2 skew ignores advert_int: 5 s at priority 100 → 15 + 156/256 s.
#[test]
fn v2_skew_ignores_interval() {
    let mut cfg = v2_config();
    cfg.priority = 100;
    cfg.advert_interval = secs(5);
    let mut s = Sim::started(cfg);
    s.run_until(secs(20));
    assert_eq!(s.states()[1].0, ns(15_609_375_000));
}

fn v2_advert(auth: Auth, adver_int: u16, priority: u8) -> Vec<u8> {
    VrrpRepr {
        version: Version::V2,
        vrid: 51,
        priority,
        adver_int,
        addresses: vec![ip("10.0.1.5")],
        auth,
    }
    .to_bytes(ip("10.0.1.2"), group(), V3Ipv4Checksum::PseudoHeader)
    .unwrap()
}

/// VRRPv2 receive checks: interval mismatch, authentication type and
/// password (RFC 3768 §7.1, RFC 2787 counters).
#[test]
fn v2_interval_and_auth_checks() {
    let mut cfg = v2_config();
    cfg.auth = Auth::password(b"secret");
    let mut s = Sim::started(cfg);
    let pw = Auth::password(b"secret");
    s.recv(ms(1), "10.0.1.2", &v2_advert(pw, 1, 100));
    let deadline = s.vr.master_down_timer();
    s.recv(ms(2), "10.0.1.2", &v2_advert(pw, 2, 100));
    s.recv(ms(3), "10.0.1.2", &v2_advert(Auth::None, 1, 100));
    s.recv(
        ms(4),
        "10.0.1.2",
        &v2_advert(Auth::password(b"wrong"), 1, 100),
    );
    s.recv(
        ms(5),
        "10.0.1.2",
        &v2_advert(
            Auth::Other {
                auth_type: 2,
                data: [0; 8],
            },
            1,
            100,
        ),
    );
    assert_eq!(
        drops(&s.log).into_iter().map(|d| d.1).collect::<Vec<_>>(),
        vec![
            DropReason::AdverInterval { received: 2 },
            DropReason::AuthTypeMismatch(0),
            DropReason::AuthFailure,
            DropReason::InvalidAuthType(2),
        ]
    );
    let c = s.vr.counters();
    assert_eq!(
        (
            c.adv_interval_errors,
            c.auth_type_mismatch,
            c.auth_failures,
            c.invalid_auth_type,
            c.rcvd_advertisements
        ),
        (1, 1, 1, 1, 1)
    );
    assert_eq!(s.vr.master_down_timer(), deadline);
}

/// IPv6: adverts to ff02::12 from the link-local address with the
/// pseudo-header checksum, unsolicited NAs for each VIP.
#[test]
fn ipv6_master() {
    let vips = vec![ip("fe80::100"), ip("2001:db8::100")];
    let cfg = Config::new(IF, 7, ip("fe80::1"), vips, MAC);
    assert_eq!(cfg.virtual_mac(), arp::MacAddr([0, 0, 0x5e, 0, 2, 7]));
    let mut s = Sim::started(cfg);
    s.run_until(secs(4));
    let a = adverts(&s.log);
    assert_eq!(a[0].1, ip("ff02::12"));
    assert_eq!(a[0].2.addresses.len(), 2);
    let f = frames(&s.log);
    assert_eq!(f.len(), 10);
    assert_eq!(f[0].1, garp("fe80::100"));
    assert_eq!(f[1].1, garp("2001:db8::100"));
    // A v3/IPv6 advert with a wrong pseudo-header source fails.
    let Output::Transmit { bytes, .. } = s
        .log
        .iter()
        .find(|(_, o)| matches!(o, Output::Transmit { .. }))
        .unwrap()
        .1
        .clone()
    else {
        panic!("not a transmit")
    };
    assert!(
        VrrpRepr::parse(
            &bytes,
            ip("fe80::2"),
            ip("ff02::12"),
            AcceptChecksum::Either
        )
        .is_err()
    );
}

#[test]
fn config_validation() {
    let t0 = Instant::now();
    let check = |f: &dyn Fn(&mut Config), want: ConfigError| {
        let mut c = config();
        f(&mut c);
        assert_eq!(vrrp::Instance::new(c, t0).unwrap_err(), want);
    };
    check(&|c| c.vrid = 0, ConfigError::Vrid);
    check(&|c| c.priority = 0, ConfigError::Priority);
    check(
        &|c| c.advert_interval = ms(5),
        ConfigError::AdvertInterval {
            version: Version::V3,
            interval: ms(5),
        },
    );
    check(
        &|c| c.advert_interval = ms(40_960),
        ConfigError::AdvertInterval {
            version: Version::V3,
            interval: ms(40_960),
        },
    );
    check(
        &|c| c.advert_interval = ms(105),
        ConfigError::AdvertInterval {
            version: Version::V3,
            interval: ms(105),
        },
    );
    check(
        &|c| {
            c.version = Version::V2;
            c.advert_interval = ms(1500);
        },
        ConfigError::AdvertInterval {
            version: Version::V2,
            interval: ms(1500),
        },
    );
    check(
        &|c| {
            c.version = Version::V2;
            c.advert_interval = secs(256);
        },
        ConfigError::AdvertInterval {
            version: Version::V2,
            interval: secs(256),
        },
    );
    check(&|c| c.addresses.clear(), ConfigError::NoAddresses);
    check(
        &|c| c.addresses.push(ip("10.0.0.100")),
        ConfigError::Address(ip("10.0.0.100")),
    );
    check(
        &|c| c.addresses.push(ip("fe80::1")),
        ConfigError::FamilyMismatch(ip("fe80::1")),
    );
    check(
        &|c| c.primary_address = ip("224.0.0.1"),
        ConfigError::PrimaryAddress(ip("224.0.0.1")),
    );
    check(
        &|c| {
            c.primary_address = ip("fe80::1");
            c.addresses = vec![ip("2001:db8::1"), ip("fe80::100")];
        },
        ConfigError::FirstIpv6NotLinkLocal(ip("2001:db8::1")),
    );
    check(
        &|c| {
            c.primary_address = ip("2001:db8::2");
            c.addresses = vec![ip("fe80::100")];
        },
        ConfigError::PrimaryAddress(ip("2001:db8::2")),
    );
    // Unicast over IPv6 (keepalived): a global source is fine.
    let mut v6 = Config::new(IF, 7, ip("2001:db8::2"), vec![ip("fe80::100")], MAC);
    v6.unicast = Some(Unicast {
        peers: vec![ip("2001:db8::3")],
        check_ttl: false,
    });
    assert!(vrrp::Instance::new(v6, t0).is_ok());
    check(
        &|c| {
            c.version = Version::V2;
            c.primary_address = ip("fe80::1");
            c.addresses = vec![ip("fe80::100")];
        },
        ConfigError::V2OverIpv6,
    );
    check(
        &|c| c.preempt_delay = secs(1001),
        ConfigError::PreemptDelay(secs(1001)),
    );
    check(&|c| c.down_timer_adverts = 0, ConfigError::DownTimerAdverts);
    check(&|c| c.auth = Auth::password(b"x"), ConfigError::AuthWithV3);
    check(
        &|c| {
            c.version = Version::V2;
            c.auth = Auth::Other {
                auth_type: 2,
                data: [0; 8],
            };
        },
        ConfigError::AuthType(2),
    );
    check(
        &|c| {
            c.unicast = Some(Unicast {
                peers: vec![],
                check_ttl: false,
            })
        },
        ConfigError::NoUnicastPeers,
    );
    check(
        &|c| {
            c.unicast = Some(Unicast {
                peers: vec![ip("10.0.0.1")],
                check_ttl: false,
            })
        },
        ConfigError::UnicastPeer(ip("10.0.0.1")),
    );
    check(
        &|c| c.tracks = vec![TrackConfig::script(1, 254)],
        ConfigError::TrackWeight { id: 1, weight: 254 },
    );
    check(
        &|c| c.tracks = vec![TrackConfig::script(1, 1), TrackConfig::file(1, 1)],
        ConfigError::DuplicateTrack(1),
    );
    check(
        &|c| c.announce.repeat = 1000,
        ConfigError::Announce(arp::announcer::ConfigError::RepeatTooLarge("repeat")),
    );
    // Boundaries accepted.
    for (v, i) in [
        (Version::V3, ms(10)),
        (Version::V3, ms(40_950)),
        (Version::V2, secs(1)),
        (Version::V2, secs(255)),
    ] {
        let mut c = config();
        c.version = v;
        c.advert_interval = i;
        assert!(vrrp::Instance::new(c, t0).is_ok(), "{v:?} {i:?}");
    }
}

fn key(ifindex: u32, vrid: u8) -> InstanceKey {
    InstanceKey {
        ifindex,
        family: Family::Ipv4,
        vrid,
    }
}

/// Sync group: a member becoming Master pulls the others; one yielding
/// to a higher priority pushes them back; a member's Fault holds all in
/// Fault until it clears.
#[test]
fn sync_group_members_move_together() {
    let mut a = config(); // VRID 51 on IF 2, priority 100
    a.vrid = 51;
    let mut b = Config::new(3, 52, ip("10.0.1.1"), vec![ip("10.0.1.100")], MAC);
    b.priority = 150;
    let t0 = Instant::now();
    let mut r = Router::new(
        RouterConfig {
            instances: vec![a, b],
            sync_groups: vec![vec![key(IF, 51), key(3, 52)]],
        },
        t0,
    )
    .unwrap();
    r.handle(t0, Input::Startup);
    let mut log: Vec<(Duration, InstanceKey, Output)> = Vec::new();
    let mut drain = |r: &mut Router, t: Instant, log: &mut Vec<_>| {
        while let Some((k, o)) = r.poll_output() {
            log.push((t - t0, k, o));
        }
    };
    drain(&mut r, t0, &mut log);
    let run = |r: &mut Router,
               until: Instant,
               log: &mut Vec<_>,
               drain: &mut dyn FnMut(&mut Router, Instant, &mut Vec<_>)| {
        while let Some(t) = r.poll_timeout().filter(|t| *t <= until) {
            r.handle_timeout(t);
            drain(r, t, log);
        }
    };
    run(&mut r, t0 + secs(4), &mut log, &mut drain);
    let states: Vec<_> = log
        .iter()
        .filter_map(|(t, k, o)| match o {
            Output::StateChanged { from, to, reason } => Some((*t, k.vrid, *from, *to, *reason)),
            _ => None,
        })
        .collect();
    let t = ns(3_414_062_500);
    assert_eq!(
        states[2..],
        [
            (t, 52, State::Backup, State::Master, Reason::MasterDown),
            (t, 51, State::Backup, State::Master, Reason::SyncGroup),
        ]
    );
    // VRID 51 hears a higher priority: both go Backup.
    log.clear();
    let bytes = advert(Version::V3, 200, 100);
    let now = t0 + secs(5);
    r.handle(
        now,
        Input::Packet {
            ifindex: IF,
            src: ip("10.0.0.2"),
            dst: group(),
            ttl: 255,
            bytes: &bytes,
        },
    );
    drain(&mut r, now, &mut log);
    let to: Vec<_> = log
        .iter()
        .filter_map(|(_, k, o)| match o {
            Output::StateChanged { to, reason, .. } => Some((k.vrid, *to, *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(to[1], (52, State::Backup, Reason::SyncGroup));
    // Link down on VRID 52's interface: both in Fault; up: both Backup.
    log.clear();
    r.handle(
        now,
        Input::Link {
            ifindex: 3,
            up: false,
        },
    );
    drain(&mut r, now, &mut log);
    assert_eq!(r.instance(key(3, 52)).unwrap().state(), State::Fault);
    assert_eq!(r.instance(key(IF, 51)).unwrap().state(), State::Fault);
    assert!(log.iter().any(|(_, k, o)| k.vrid == 51
        && *o
            == Output::StateChanged {
                from: State::Backup,
                to: State::Fault,
                reason: Reason::Fault(FaultCause::SyncGroup)
            }));
    r.handle(
        now,
        Input::Link {
            ifindex: 3,
            up: true,
        },
    );
    drain(&mut r, now, &mut log);
    assert_eq!(r.instance(key(3, 52)).unwrap().state(), State::Backup);
    assert_eq!(r.instance(key(IF, 51)).unwrap().state(), State::Backup);
}

/// Router demultiplexing: VRIDs per interface and family; unknown VRIDs
/// and short or unversioned packets are counted at router level.
#[test]
fn router_demultiplexes() {
    let t0 = Instant::now();
    let v4 = config();
    let mut v4b = config();
    v4b.vrid = 52;
    let v6 = Config::new(IF, 51, ip("fe80::1"), vec![ip("fe80::100")], MAC);
    let mut r = Router::new(
        RouterConfig {
            instances: vec![v4.clone(), v4b, v6],
            sync_groups: vec![],
        },
        t0,
    )
    .unwrap();
    r.handle(t0, Input::Startup);
    while r.poll_output().is_some() {}
    let bytes = advert(Version::V3, 200, 100);
    let pkt = |ifindex, bytes| Input::Packet {
        ifindex,
        src: ip("10.0.0.2"),
        dst: group(),
        ttl: 255,
        bytes,
    };
    assert_eq!(r.accepts(&pkt(IF, &bytes)), Some(key(IF, 51)));
    assert_eq!(r.accepts(&pkt(9, &bytes)), None);
    r.handle(t0, pkt(IF, &bytes));
    let i = r.instance(key(IF, 51)).unwrap();
    assert_eq!(i.counters().rcvd_advertisements, 1);
    assert_eq!(i.master(), Some((ip("10.0.0.2"), 200)));
    assert_eq!(
        r.instance(key(IF, 52))
            .unwrap()
            .counters()
            .rcvd_advertisements,
        0
    );
    let mut other = bytes.clone();
    other[1] = 99;
    r.handle(t0, pkt(IF, &other));
    r.handle(t0, pkt(IF, &bytes[..4]));
    let mut v5 = bytes.clone();
    v5[0] = 0x51;
    r.handle(t0, pkt(IF, &v5));
    let c = r.counters();
    assert_eq!(
        (c.vrid_errors, c.packet_length_errors, c.version_errors),
        (1, 1, 1)
    );
    // Errors.
    assert_eq!(
        Router::new(
            RouterConfig {
                instances: vec![v4.clone(), v4.clone()],
                sync_groups: vec![],
            },
            t0
        )
        .unwrap_err(),
        RouterConfigError::DuplicateInstance(key(IF, 51))
    );
    assert_eq!(
        Router::new(
            RouterConfig {
                instances: vec![v4.clone()],
                sync_groups: vec![vec![key(IF, 51), key(IF, 60)]],
            },
            t0
        )
        .unwrap_err(),
        RouterConfigError::UnknownMember(key(IF, 60))
    );
    assert_eq!(
        Router::new(
            RouterConfig {
                instances: vec![v4],
                sync_groups: vec![vec![key(IF, 51)]],
            },
            t0
        )
        .unwrap_err(),
        RouterConfigError::GroupTooSmall(0)
    );
}

/// The router's deadline index (a node may run thousands of instances)
/// agrees with the instances themselves after every step: `poll_timeout`
/// is the earliest instance deadline, and `handle_timeout` leaves no
/// instance due. Sixty instances on three interfaces, two sync groups,
/// a fixed pseudo-random mix of adverts, link flaps and timer runs.
#[test]
fn router_deadline_index_agrees_with_instances() {
    let mut instances = Vec::new();
    for n in 0..60u8 {
        let ifindex = 2 + u32::from(n % 3);
        let mut c = Config::new(
            ifindex,
            n + 1,
            ip(&format!("10.{ifindex}.0.1")),
            vec![ip(&format!("10.9.{n}.100"))],
            MAC,
        );
        c.priority = 50 + n;
        c.advert_interval = ms(100 + 10 * u64::from(n % 7));
        instances.push(c);
    }
    let groups = vec![
        vec![key(2, 1), key(3, 2), key(4, 3)],
        vec![key(2, 4), key(3, 5)],
    ];
    let t0 = Instant::now();
    let mut r = Router::new(
        RouterConfig {
            instances,
            sync_groups: groups,
        },
        t0,
    )
    .unwrap();
    let check = |r: &Router, now: Instant, step: usize| {
        let min = r.instances().filter_map(|(_, i)| i.poll_timeout()).min();
        assert_eq!(r.poll_timeout(), min, "step {step}");
        assert!(
            r.instances()
                .all(|(_, i)| i.poll_timeout().is_none_or(|t| t > now)),
            "step {step}: an instance left due"
        );
    };
    r.handle(t0, Input::Startup);
    while r.poll_output().is_some() {}
    check(&r, t0, 0);
    let mut now = t0;
    let mut seed: u64 = 0x5eed;
    let mut masters_seen = 0;
    for step in 1..3000 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let x = seed >> 33;
        match x % 8 {
            0..=3 => {
                // Run the timers up to a random point.
                let until = now + ms(x % 700);
                while let Some(t) = r.poll_timeout().filter(|t| *t <= until) {
                    now = t.max(now);
                    r.handle_timeout(now);
                    while let Some((_, o)) = r.poll_output() {
                        if matches!(
                            o,
                            Output::StateChanged {
                                to: State::Master,
                                ..
                            }
                        ) {
                            masters_seen += 1;
                        }
                    }
                    check(&r, now, step);
                }
                now = until;
            }
            4..=6 => {
                let vrid = u8::try_from(x % 60).unwrap() + 1;
                let ifindex = 2 + u32::from((vrid - 1) % 3);
                let prio = u8::try_from((x >> 8) % 256).unwrap();
                let src = ip(&format!("10.{ifindex}.0.2"));
                let bytes = VrrpRepr {
                    version: Version::V3,
                    vrid,
                    priority: prio,
                    adver_int: 10,
                    addresses: vec![ip(&format!("10.9.{}.100", vrid - 1))],
                    auth: Auth::None,
                }
                .to_bytes(src, group(), V3Ipv4Checksum::PseudoHeader)
                .unwrap();
                r.handle(
                    now,
                    Input::Packet {
                        ifindex,
                        src,
                        dst: group(),
                        ttl: 255,
                        bytes: &bytes,
                    },
                );
            }
            _ => {
                let ifindex = 2 + u32::try_from(x % 3).unwrap();
                r.handle(
                    now,
                    Input::Link {
                        ifindex,
                        up: !(x >> 4).is_multiple_of(3),
                    },
                );
            }
        }
        while r.poll_output().is_some() {}
        check(&r, now, step);
    }
    assert!(
        masters_seen > 60,
        "the mix must exercise elections: {masters_seen}"
    );
}

/// A caller that runs the Master_Down_Timer late (a busy loop) still takes
/// over at once, but the adverts keep the phase the timer set: the next one
/// is Advertisement_Interval after the deadline, not after the late call,
/// so instances that fell due together do not advertise in one burst for
/// ever after. A call later than a whole interval gets no catch-up burst.
#[test]
fn late_master_down_keeps_the_advert_phase() {
    let mdi = ns(3_609_375_000); // priority 100, 1 s
    for (late, next) in [
        (ms(30), mdi + secs(1)),              // phase kept
        (ms(1500), mdi + ms(1500) + secs(1)), // over an interval late: from the call
    ] {
        let mut s = Sim::started(config());
        let deadline = s.vr.poll_timeout().unwrap();
        assert_eq!(deadline - s.t0, mdi);
        s.now = deadline + late;
        s.vr.handle_timeout(s.now);
        assert_eq!(s.vr.state(), State::Master);
        let sent: Vec<_> = std::iter::from_fn(|| s.vr.poll_output())
            .filter(|o| matches!(o, Output::Transmit { .. }))
            .collect();
        assert_eq!(sent.len(), 1, "one advert on takeover");
        assert_eq!(s.vr.adver_timer().unwrap() - s.t0, next);
    }
}
