#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "test code"
)]

//! Conformance: the scenarios of vrrp-arp.md §9 (1–12) on a virtual clock,
//! one scripted instance, exact times (RFC 5798 §6.4 as updated by
//! RFC 9568; keepalived defaults for GARP and Fault).

mod common;

use std::time::Duration;

use common::*;
use vrrp::{
    DropReason, Input, NewMasterReason, Output, Reason, State, V3Ipv4Checksum, Version, VrrpRepr,
};

const MDI_100: u64 = 3_609_375_000;
const MDI_150: u64 = 3_414_062_500;
const SKEW_100: u64 = 609_375_000;

/// §9.1: Backup → Master after exactly 3 + 156/256 s; advert first, then
/// 5 GARPs, 5 more after 5 s (keepalived), adverts every second.
#[test]
fn s01_cold_start() {
    let mut s = Sim::started(config());
    assert_eq!(s.vr.state(), State::Backup);
    assert_eq!(
        s.log,
        vec![(
            Duration::ZERO,
            Output::StateChanged {
                from: State::Initialize,
                to: State::Backup,
                reason: Reason::Startup
            }
        )]
    );
    s.take();
    s.run_until(ns(MDI_100 - 1));
    assert!(s.log.is_empty(), "nothing before the down timer");
    s.run_until(secs(10));
    let t = ns(MDI_100);
    let advert0 = VrrpRepr {
        version: Version::V3,
        vrid: VRID,
        priority: 100,
        adver_int: 100,
        addresses: vec![ip("10.0.0.100")],
        auth: vrrp::Auth::None,
    }
    .to_bytes(ip("10.0.0.1"), group(), V3Ipv4Checksum::PseudoHeader)
    .unwrap();
    let mut expect = vec![
        (
            t,
            Output::StateChanged {
                from: State::Backup,
                to: State::Master,
                reason: Reason::MasterDown,
            },
        ),
        (
            t,
            Output::AddAddress {
                ifindex: IF,
                address: ip("10.0.0.100"),
                accept: false,
            },
        ),
        (
            t,
            Output::Transmit {
                ifindex: IF,
                src: ip("10.0.0.1"),
                dst: group(),
                ttl: 255,
                bytes: advert0.clone(),
            },
        ),
    ];
    for _ in 0..5 {
        expect.push((
            t,
            Output::TransmitFrame {
                ifindex: IF,
                frame: garp("10.0.0.100"),
            },
        ));
    }
    assert_eq!(s.log[..8], expect[..]);
    let adverts = advert_times(&s.log);
    let want: Vec<Duration> = (0..7).map(|k| t + secs(k)).collect();
    assert_eq!(adverts, want, "every second from takeover");
    let garps: Vec<Duration> = frames(&s.log).into_iter().map(|(t, _)| t).collect();
    assert_eq!(garps, [vec![t; 5], vec![t + secs(5); 5]].concat());
    let c = s.vr.counters();
    assert_eq!(c.master_transitions, 1);
    assert_eq!(c.new_master_reason, NewMasterReason::MasterNoResponse);
    assert_eq!(c.sent_advertisements, 7);
}

/// §9.2: priority 255 is Master at once, accepts for its addresses, no
/// down timer.
#[test]
fn s02_owner_start() {
    let mut cfg = config();
    cfg.priority = 255;
    let mut s = Sim::started(cfg);
    let log = s.take();
    assert_eq!(
        log[0].1,
        Output::StateChanged {
            from: State::Initialize,
            to: State::Master,
            reason: Reason::Owner
        }
    );
    assert_eq!(
        log[1].1,
        Output::AddAddress {
            ifindex: IF,
            address: ip("10.0.0.100"),
            accept: true
        }
    );
    let a = adverts(&log);
    assert_eq!(a.len(), 1);
    assert_eq!((a[0].0, a[0].2.priority), (Duration::ZERO, 255));
    assert_eq!(frames(&log).len(), 5);
    assert!(log.iter().all(|(t, _)| *t == Duration::ZERO));
    assert_eq!(s.vr.master_down_timer(), None);
    s.run_until(ms(2500));
    assert_eq!(advert_times(&s.log), vec![secs(1), secs(2)]);
    assert_eq!(s.vr.counters().new_master_reason, NewMasterReason::Priority);
}

/// §9.3: a higher priority (150) joins a Master at 100 with preempt: it
/// discards the lower adverts and takes over after its own MDI.
#[test]
fn s03_preemption_newcomer() {
    let mut cfg = config();
    cfg.priority = 150;
    let mut s = Sim::started(cfg);
    let low = advert(Version::V3, 100, 100);
    for k in 0..4 {
        s.recv(ms(500) + secs(k), "10.0.0.2", &low);
    }
    let st = s.states();
    assert_eq!(
        st.last().unwrap(),
        &(ns(MDI_150), State::Backup, State::Master)
    );
    assert_eq!(
        s.vr.counters().new_master_reason,
        NewMasterReason::Preempted
    );
    assert_eq!(s.vr.state(), State::Master);
    assert_eq!(
        s.vr.counters().rcvd_advertisements,
        4,
        "all valid, three discarded"
    );
    // The old Master's next advert (3.5 s) came after the takeover: the
    // winner answers at once and starts a lower-priority GARP burst.
    let log = s.take();
    let after: Vec<_> = log.iter().filter(|(t, _)| *t == ms(3500)).collect();
    assert_eq!(adverts(&log).iter().filter(|a| a.0 == ms(3500)).count(), 1);
    assert_eq!(
        after
            .iter()
            .filter(|(_, o)| matches!(o, Output::TransmitFrame { .. }))
            .count(),
        5
    );
}

/// §9.3, old Master's side: a higher advert turns it Backup without a
/// priority-0 advert; it then waits a full MDI.
#[test]
fn s03_preemption_old_master() {
    let mut s = Sim::started(config());
    s.run_until(secs(5));
    s.take();
    s.recv(secs(5), "10.0.0.2", &advert(Version::V3, 150, 100));
    assert_eq!(
        s.log,
        vec![
            (
                secs(5),
                Output::StateChanged {
                    from: State::Master,
                    to: State::Backup,
                    reason: Reason::HigherPriority {
                        master: ip("10.0.0.2"),
                        priority: 150
                    }
                }
            ),
            (
                secs(5),
                Output::RemoveAddress {
                    ifindex: IF,
                    address: ip("10.0.0.100")
                }
            ),
        ]
    );
    assert_eq!(s.vr.master_down_timer(), Some(s.t0 + secs(5) + ns(MDI_100)));
    assert_eq!(s.vr.master(), Some((ip("10.0.0.2"), 150)));
    assert_eq!(s.vr.counters().sent_pri_zero_packets, 0);
}

/// §9.4: nopreempt stays Backup under a lower Master; takes over MDI
/// after the lower Master goes silent.
#[test]
fn s04_nopreempt() {
    let mut cfg = config();
    cfg.priority = 150;
    cfg.preempt = false;
    let mut s = Sim::started(cfg);
    let low = advert(Version::V3, 100, 100);
    for k in 0..20 {
        s.recv(ms(500) + secs(k), "10.0.0.2", &low);
    }
    assert_eq!(s.vr.state(), State::Backup);
    s.run_until(secs(30));
    assert_eq!(
        s.states().last().unwrap(),
        &(ms(19_500) + ns(MDI_150), State::Backup, State::Master)
    );
}

/// §9.4: preempt_delay 2 s: the lower Master's adverts count as valid
/// until 2 s after the first was heard, then the down timer runs out.
#[test]
fn s04_preempt_delay() {
    let mut cfg = config();
    cfg.priority = 150;
    cfg.preempt_delay = secs(2);
    let mut s = Sim::started(cfg);
    let low = advert(Version::V3, 100, 100);
    for k in 0..5 {
        s.recv(ms(500) + secs(k), "10.0.0.2", &low);
    }
    s.run_until(secs(10));
    // Resets at 0.5 and 1.5; 2.5 is not before the deadline 2.5.
    assert_eq!(
        s.states().last().unwrap(),
        &(ms(1500) + ns(MDI_150), State::Backup, State::Master)
    );
}

/// §9.5: silent Master death: takeover MDI after the last advert, and the
/// learned interval is the Master's.
#[test]
fn s05_silent_master_death() {
    let mut s = Sim::started(config());
    let high = advert(Version::V3, 200, 100);
    for k in 0..3 {
        s.recv(ms(200) + secs(k), "10.0.0.2", &high);
    }
    assert_eq!(s.vr.master(), Some((ip("10.0.0.2"), 200)));
    s.run_until(secs(10));
    assert_eq!(
        s.states()[1],
        (ms(2200) + ns(MDI_100), State::Backup, State::Master)
    );
}

/// §9.6: priority 0 from the Master: takeover after Skew_Time (0.609 s).
#[test]
fn s06_graceful_handover_receiver() {
    let mut s = Sim::started(config());
    let high = advert(Version::V3, 200, 100);
    s.recv(ms(200), "10.0.0.2", &high);
    s.recv(ms(1200), "10.0.0.2", &high);
    s.recv(ms(1700), "10.0.0.2", &advert(Version::V3, 0, 100));
    s.run_until(secs(5));
    assert_eq!(
        s.states()[1],
        (ms(1700) + ns(SKEW_100), State::Backup, State::Master)
    );
    assert_eq!(s.vr.counters().rcvd_pri_zero_packets, 1);
}

/// §9.6, sender side: Shutdown sends priority 0 and removes the address.
#[test]
fn s06_graceful_handover_sender() {
    let mut s = Sim::started(config());
    s.run_until(secs(5));
    s.take();
    s.input(secs(5), Input::Shutdown);
    let a = adverts(&s.log);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].2.priority, 0);
    assert!(s.log.contains(&(
        secs(5),
        Output::RemoveAddress {
            ifindex: IF,
            address: ip("10.0.0.100")
        }
    )));
    assert_eq!(s.vr.state(), State::Initialize);
    assert_eq!(s.vr.poll_timeout(), None);
    assert_eq!(s.vr.counters().sent_pri_zero_packets, 1);
}

/// §9.7: a Master receiving priority 0 re-adverts at once and restarts
/// its Adver_Timer.
#[test]
fn s07_master_receives_priority_zero() {
    let mut s = Sim::started(config());
    s.run_until(secs(4));
    s.take();
    s.recv(secs(4), "10.0.0.2", &advert(Version::V3, 0, 100));
    s.run_until(ms(6500));
    assert_eq!(
        advert_times(&s.log),
        vec![secs(4), secs(5), secs(6)],
        "4.609 replaced by 4 + 1 s"
    );
    assert_eq!(s.vr.state(), State::Master);
}

/// §9.8: equal priorities: the higher primary address wins.
#[test]
fn s08_equal_priority_tie_break() {
    // Ours 10.0.0.1 loses to 10.0.0.2.
    let mut s = Sim::started(config());
    s.run_until(secs(4));
    s.recv(secs(4), "10.0.0.2", &advert(Version::V3, 100, 100));
    assert_eq!(s.vr.state(), State::Backup);
    // Ours 10.0.0.5 beats 10.0.0.2 and answers it.
    let mut cfg = config();
    cfg.primary_address = ip("10.0.0.5");
    let mut s = Sim::started(cfg);
    s.run_until(secs(4));
    s.take();
    s.recv(secs(4), "10.0.0.2", &advert(Version::V3, 100, 100));
    assert_eq!(s.vr.state(), State::Master);
    assert_eq!(adverts(&s.log).len(), 1);
}

/// §9.9: split brain: a Master hearing a lower priority answers with an
/// advert and a lower-priority GARP burst (5 now, 5 after 5 s); GARPs
/// come from the winner only.
#[test]
fn s09_split_brain_heal_winner() {
    let mut cfg = config();
    cfg.priority = 150;
    let mut s = Sim::started(cfg);
    s.run_until(secs(20)); // past the takeover bursts
    s.take();
    s.recv(secs(20), "10.0.0.2", &advert(Version::V3, 100, 100));
    s.run_until(ms(25_500));
    let f: Vec<Duration> = frames(&s.log).into_iter().map(|(t, _)| t).collect();
    assert_eq!(f, [vec![secs(20); 5], vec![secs(25); 5]].concat());
    let a = adverts(&s.log);
    assert_eq!(a[0].0, secs(20));
    assert_eq!(a[0].2.priority, 150);
    assert_eq!(s.vr.state(), State::Master);
    // lower_prio_no_advert: GARPs only.
    let mut cfg = config();
    cfg.priority = 150;
    cfg.lower_prio_advert = false;
    let mut s = Sim::started(cfg);
    s.run_until(secs(20));
    s.take();
    s.recv(secs(20), "10.0.0.2", &advert(Version::V3, 100, 100));
    assert!(adverts(&s.log).is_empty());
    assert_eq!(frames(&s.log).len(), 5);
}

/// §9.10: v3 at 10 cs: takeover 0.3609375 s, adverts every 100 ms,
/// priority-0 hand-over after 60.9375 ms.
#[test]
fn s10_subsecond_v3() {
    let mut cfg = config();
    cfg.advert_interval = ms(100);
    let mut s = Sim::started(cfg.clone());
    s.run_until(secs(1));
    assert_eq!(s.states()[1].0, ns(360_937_500));
    let t = advert_times(&s.log);
    assert_eq!(t[..3], [ns(360_937_500), ns(460_937_500), ns(560_937_500)]);
    assert_eq!(adverts(&s.log)[0].2.adver_int, 10);

    let mut s = Sim::started(cfg);
    s.recv(ms(50), "10.0.0.2", &advert(Version::V3, 200, 10));
    s.recv(ms(100), "10.0.0.2", &advert(Version::V3, 0, 10));
    s.run_until(secs(1));
    assert_eq!(s.states()[1].0, ms(100) + ns(60_937_500));
}

/// §9.11: a Backup adopts the Master's Max Adver Int as
/// Master_Adver_Interval and derives skew and MDI from it; as Master it
/// sends its own interval.
#[test]
fn s11_interval_learning() {
    let mut s = Sim::started(config());
    s.recv(Duration::ZERO, "10.0.0.2", &advert(Version::V3, 200, 50));
    assert_eq!(s.vr.master_adver_interval(), ms(500));
    assert_eq!(s.vr.skew_time(), ns(304_687_500));
    s.run_until(secs(5));
    assert_eq!(s.states()[1].0, ns(1_804_687_500));
    assert_eq!(adverts(&s.log)[0].2.adver_int, 100);

    // A Master yielding to a higher priority with 2 s adverts.
    let mut s = Sim::started(config());
    s.run_until(secs(6));
    s.recv(secs(6), "10.0.0.2", &advert(Version::V3, 200, 200));
    assert_eq!(s.vr.master_adver_interval(), secs(2));
    assert_eq!(
        s.vr.master_down_timer(),
        Some(s.t0 + secs(6) + secs(6) + ns(1_218_750_000))
    );
}

/// §9.12: invalid adverts are dropped, counted and never restart the
/// down timer (keepalived#562).
#[test]
fn s12_invalid_packets() {
    let mut s = Sim::started(config());
    let good = advert(Version::V3, 200, 100);
    s.recv(Duration::ZERO, "10.0.0.2", &good);
    let deadline = s.vr.master_down_timer().unwrap();
    assert_eq!(deadline, s.t0 + ns(MDI_100));
    let mut bad_sum = good.clone();
    bad_sum[7] ^= 1;
    let mut bad_type = good.clone();
    bad_type[0] = 0x32;
    let mut bad_count = good.clone();
    bad_count[3] = 2;
    let bad_vrid = VrrpRepr {
        vrid: 52,
        ..VrrpRepr::parse(&good, ip("10.0.0.2"), group(), vrrp::AcceptChecksum::Either)
            .unwrap()
            .repr
    }
    .to_bytes(ip("10.0.0.2"), group(), V3Ipv4Checksum::PseudoHeader)
    .unwrap();
    let other_list = VrrpRepr {
        version: Version::V3,
        vrid: VRID,
        priority: 200,
        adver_int: 100,
        addresses: vec![ip("10.0.0.101")],
        auth: vrrp::Auth::None,
    }
    .to_bytes(ip("10.0.0.2"), group(), V3Ipv4Checksum::PseudoHeader)
    .unwrap();
    let zero_int = advert(Version::V3, 200, 0);
    let v2 = advert(Version::V2, 200, 1);
    let t = ms(100);
    s.recv_full(t, "10.0.0.2", group(), 254, &good);
    s.recv(t, "10.0.0.2", &bad_sum);
    s.recv(t, "10.0.0.2", &v2);
    s.recv(t, "10.0.0.2", &bad_type);
    s.recv(t, "10.0.0.2", &bad_count);
    s.recv(t, "10.0.0.2", &good[..5]);
    s.recv(t, "10.0.0.2", &bad_vrid);
    s.recv(t, "10.0.0.2", &other_list);
    s.recv(t, "10.0.0.2", &zero_int);
    s.recv(
        t,
        "10.0.0.1",
        &advert_from(Version::V3, 200, 100, ip("10.0.0.1"), group()),
    );
    assert_eq!(
        drops(&s.log)
            .into_iter()
            .map(|(_, r)| r)
            .collect::<Vec<_>>(),
        vec![
            DropReason::Ttl(254),
            DropReason::Checksum,
            DropReason::Version(2),
            DropReason::Type(2),
            DropReason::Length,
            DropReason::Length,
            DropReason::Vrid(52),
            DropReason::AddressList,
            DropReason::AdverInterval { received: 0 },
            DropReason::OwnAdvert,
        ]
    );
    assert_eq!(s.vr.master_down_timer(), Some(deadline), "timer untouched");
    let c = *s.vr.counters();
    assert_eq!(
        (
            c.ip_ttl_errors,
            c.checksum_errors,
            c.version_errors,
            c.rcvd_invalid_type_packets,
            c.packet_length_errors,
            c.vrid_errors,
            c.address_list_errors,
            c.adv_interval_errors,
        ),
        (1, 1, 1, 1, 2, 1, 1, 1)
    );
    assert_eq!(c.rcvd_advertisements, 1);
    s.run_until(secs(5));
    assert_eq!(s.states()[1].0, ns(MDI_100));
}

/// RFC 5798 §7.1: an address-list mismatch from the owner (255) is
/// counted but processed.
#[test]
fn s12_owner_address_list_mismatch_is_processed() {
    let mut s = Sim::started(config());
    s.run_until(secs(4));
    let owner = VrrpRepr {
        version: Version::V3,
        vrid: VRID,
        priority: 255,
        adver_int: 100,
        addresses: vec![ip("10.0.0.100"), ip("10.0.0.101")],
        auth: vrrp::Auth::None,
    }
    .to_bytes(ip("10.0.0.2"), group(), V3Ipv4Checksum::PseudoHeader)
    .unwrap();
    s.recv(secs(4), "10.0.0.2", &owner);
    assert_eq!(s.vr.state(), State::Backup);
    assert_eq!(s.vr.counters().address_list_errors, 1);
}

/// Packets before Startup or in Fault are ignored without counting.
#[test]
fn not_listening_outside_backup_and_master() {
    let mut s = Sim::new(config());
    s.recv(Duration::ZERO, "10.0.0.2", &advert(Version::V3, 200, 100));
    assert_eq!(
        drops(&s.log)[0].1,
        DropReason::NotListening(State::Initialize)
    );
    assert_eq!(s.vr.counters().rcvd_advertisements, 0);
    assert_eq!(s.vr.poll_timeout(), None);
}
