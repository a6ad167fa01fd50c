#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    clippy::unchecked_time_subtraction,
    reason = "test code"
)]
//! Exact-time tests of the announcer schedule on a virtual clock.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use arp::MacAddr;
use arp::announcer::{Announcer, BurstKind, Config, ConfigError, Input, Output};

const MAC: MacAddr = MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, 0x33]);

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn v6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Drained outputs: transmitted addresses and completed bursts.
#[derive(Debug, Default, PartialEq)]
struct Drained {
    sent: Vec<IpAddr>,
    done: Vec<BurstKind>,
}

fn drain(a: &mut Announcer) -> Drained {
    let mut d = Drained::default();
    while let Some(o) = a.poll_output() {
        match o {
            Output::Transmit { address, .. } => d.sent.push(address),
            Output::BurstDone { kind } => d.done.push(kind),
        }
    }
    d
}

/// Steps the clock from timeout to timeout until `end`, recording
/// `(offset from t0, addresses sent)` for each step that sent something.
fn run_until(a: &mut Announcer, t0: Instant, end: Duration) -> Vec<(Duration, Vec<IpAddr>)> {
    let mut log = Vec::new();
    let d = drain(a);
    if !d.sent.is_empty() {
        log.push((Duration::ZERO, d.sent));
    }
    for _ in 0..10_000 {
        let Some(t) = a.poll_timeout() else { break };
        if t > t0 + end {
            break;
        }
        a.handle_timeout(t);
        let d = drain(a);
        if !d.sent.is_empty() {
            log.push((t - t0, d.sent));
        }
    }
    log
}

fn repeat(addrs: &[IpAddr], n: usize) -> Vec<IpAddr> {
    addrs
        .iter()
        .copied()
        .cycle()
        .take(addrs.len() * n)
        .collect()
}

#[test]
fn keepalived_defaults_five_now_five_after_five_seconds() {
    let t0 = Instant::now();
    let addrs = [v4(100), v4(101)];
    let mut cfg = Config::keepalived(MAC);
    cfg.addresses = addrs.to_vec();
    let mut a = Announcer::new(cfg, t0).unwrap();
    assert_eq!(a.poll_timeout(), None, "stopped announcer has no timer");

    a.handle(t0, Input::Start);
    let d = drain(&mut a);
    assert_eq!(d.sent, repeat(&addrs, 5), "one frame per address per round");
    assert_eq!(d.done, vec![BurstKind::Takeover]);
    assert_eq!(a.poll_timeout(), Some(t0 + Duration::from_secs(5)));

    // Spurious and early timeouts do nothing.
    a.handle_timeout(t0);
    a.handle_timeout(t0 + ms(4999));
    assert_eq!(drain(&mut a), Drained::default());

    a.handle_timeout(t0 + Duration::from_secs(5));
    let d = drain(&mut a);
    assert_eq!(d.sent, repeat(&addrs, 5));
    assert_eq!(d.done, vec![BurstKind::Second]);
    assert_eq!(a.poll_timeout(), None, "no refresh by default");
    assert_eq!(a.counters().garp_sent, 20);
    assert_eq!(a.counters().bursts_completed, 2);

    // A second call at the same instant is a no-op.
    a.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(drain(&mut a), Drained::default());
}

#[test]
fn refresh_every_period_with_refresh_repeat() {
    let t0 = Instant::now();
    let mut cfg = Config::keepalived(MAC);
    cfg.addresses = vec![v4(1)];
    cfg.refresh = Duration::from_secs(10);
    cfg.refresh_repeat = 2;
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    let log = run_until(&mut a, t0, Duration::from_secs(35));
    let s = Duration::from_secs;
    assert_eq!(
        log,
        vec![
            (s(0), repeat(&[v4(1)], 5)),
            (s(5), repeat(&[v4(1)], 5)),
            (s(10), repeat(&[v4(1)], 2)),
            (s(20), repeat(&[v4(1)], 2)),
            (s(30), repeat(&[v4(1)], 2)),
        ]
    );
    assert_eq!(a.poll_timeout(), Some(t0 + s(40)));
}

#[test]
fn late_caller_coalesces_missed_refreshes() {
    let t0 = Instant::now();
    let mut cfg = Config::keepalived(MAC);
    cfg.addresses = vec![v4(1)];
    cfg.second_burst_delay = Duration::ZERO;
    cfg.refresh = Duration::from_secs(10);
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    drain(&mut a);
    assert_eq!(a.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    a.handle_timeout(t0 + Duration::from_secs(35));
    let d = drain(&mut a);
    assert_eq!(d.sent, vec![v4(1)], "three missed periods, one refresh");
    assert_eq!(d.done, vec![BurstKind::Refresh]);
    assert_eq!(a.poll_timeout(), Some(t0 + Duration::from_secs(45)));
}

#[test]
fn bonding_num_grat_arp_spaced_by_peer_notif_delay() {
    let t0 = Instant::now();
    let mut cfg = Config::bonding(MAC, 3, ms(200));
    cfg.addresses = vec![v4(1), v6(1)];
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    let log = run_until(&mut a, t0, Duration::from_secs(60));
    let both = vec![v4(1), v6(1)];
    assert_eq!(
        log,
        vec![
            (ms(0), both.clone()),
            (ms(200), both.clone()),
            (ms(400), both)
        ]
    );
    assert_eq!(a.poll_timeout(), None);
    assert_eq!(a.counters().garp_sent, 3);
    assert_eq!(a.counters().na_sent, 3);
}

#[test]
fn initial_delay_shifts_the_whole_schedule() {
    let t0 = Instant::now();
    let mut cfg = Config::bonding(MAC, 3, ms(200));
    cfg.initial_delay = ms(100);
    cfg.refresh = Duration::from_secs(1);
    cfg.addresses = vec![v4(1)];
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    assert_eq!(
        drain(&mut a),
        Drained::default(),
        "nothing before the delay"
    );
    assert_eq!(a.poll_timeout(), Some(t0 + ms(100)));
    let log = run_until(&mut a, t0, ms(2200));
    assert_eq!(
        log,
        vec![
            (ms(100), vec![v4(1)]),
            (ms(300), vec![v4(1)]),
            (ms(500), vec![v4(1)]),
            (ms(1100), vec![v4(1)]),
            (ms(2100), vec![v4(1)]),
        ]
    );
}

#[test]
fn lower_priority_burst_and_its_second_set() {
    let t0 = Instant::now();
    let mut cfg = Config::keepalived(MAC);
    cfg.addresses = vec![v4(1)];
    cfg.lower_prio_repeat = 2;
    cfg.lower_prio_delay = Duration::from_secs(3);
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    drain(&mut a);
    a.handle(t0 + Duration::from_secs(1), Input::LowerPriorityHeard);
    let d = drain(&mut a);
    assert_eq!(d.sent, vec![v4(1); 2]);
    assert_eq!(d.done, vec![BurstKind::LowerPriority]);
    let log = run_until(&mut a, t0, Duration::from_secs(60));
    let s = Duration::from_secs;
    assert_eq!(
        log,
        vec![(s(4), vec![v4(1); 2]), (s(5), vec![v4(1); 5])],
        "second lower-priority set at 1 + 3 s, takeover second set at 5 s"
    );
}

#[test]
fn lower_priority_while_stopped_is_ignored() {
    let t0 = Instant::now();
    let mut cfg = Config::keepalived(MAC);
    cfg.addresses = vec![v4(1)];
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::LowerPriorityHeard);
    a.handle(t0, Input::RefreshNow);
    assert_eq!(drain(&mut a), Drained::default());
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn refresh_now_sends_refresh_repeat_rounds() {
    let t0 = Instant::now();
    let mut cfg = Config::keepalived(MAC);
    cfg.addresses = vec![v4(1), v4(2)];
    cfg.refresh_repeat = 3;
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    drain(&mut a);
    a.handle(t0 + ms(10), Input::RefreshNow);
    let d = drain(&mut a);
    assert_eq!(d.sent, repeat(&[v4(1), v4(2)], 3));
    assert_eq!(d.done, vec![BurstKind::Refresh]);
    assert_eq!(a.poll_timeout(), Some(t0 + Duration::from_secs(5)));
}

#[test]
fn stop_cancels_everything_including_undrained_frames() {
    let t0 = Instant::now();
    let mut cfg = Config::keepalived(MAC);
    cfg.addresses = vec![v4(1)];
    cfg.refresh = Duration::from_secs(2);
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    a.handle(t0, Input::Stop);
    assert_eq!(a.poll_output(), None, "undrained GARPs are withdrawn");
    assert_eq!(a.poll_timeout(), None);
    a.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(drain(&mut a), Drained::default());
    assert!(!a.is_running());

    // A new takeover starts from scratch.
    a.handle(t0 + Duration::from_secs(6), Input::Start);
    assert_eq!(drain(&mut a).sent, vec![v4(1); 5]);
    assert_eq!(a.poll_timeout(), Some(t0 + Duration::from_secs(8)));
}

#[test]
fn stop_mid_burst_cancels_later_rounds() {
    let t0 = Instant::now();
    let mut cfg = Config::bonding(MAC, 5, ms(100));
    cfg.addresses = vec![v4(1)];
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    assert_eq!(drain(&mut a).sent, vec![v4(1)]);
    a.handle_timeout(t0 + ms(100));
    assert_eq!(drain(&mut a).sent, vec![v4(1)]);
    a.handle(t0 + ms(150), Input::Stop);
    a.handle_timeout(t0 + ms(200));
    assert_eq!(drain(&mut a), Drained::default());
}

#[test]
fn add_and_remove_between_rounds() {
    let t0 = Instant::now();
    let mut cfg = Config::bonding(MAC, 3, ms(100));
    cfg.addresses = vec![v4(1), v4(2)];
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    assert_eq!(drain(&mut a).sent, vec![v4(1), v4(2)]);
    a.handle(t0 + ms(50), Input::AddAddress(v6(3)));
    assert_eq!(drain(&mut a), Drained::default(), "no extra burst");
    a.handle_timeout(t0 + ms(100));
    assert_eq!(drain(&mut a).sent, vec![v4(1), v4(2), v6(3)]);
    a.handle(t0 + ms(150), Input::RemoveAddress(v4(1)));
    a.handle_timeout(t0 + ms(200));
    assert_eq!(drain(&mut a).sent, vec![v4(2), v6(3)]);
    assert_eq!(a.addresses(), &[v4(2), v6(3)]);
}

#[test]
fn add_and_remove_within_a_paced_round() {
    let t0 = Instant::now();
    let mut cfg = Config::keepalived(MAC);
    cfg.repeat = 1;
    cfg.second_burst_delay = Duration::ZERO;
    cfg.min_gap = ms(10);
    cfg.addresses = vec![v4(1), v4(2), v4(3)];
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    assert_eq!(drain(&mut a).sent, vec![v4(1)]);
    assert_eq!(a.poll_timeout(), Some(t0 + ms(10)));
    a.handle_timeout(t0 + ms(10));
    assert_eq!(drain(&mut a).sent, vec![v4(2)]);
    a.handle(t0 + ms(15), Input::AddAddress(v4(4)));
    a.handle(t0 + ms(15), Input::RemoveAddress(v4(3)));
    // Re-adding a present address changes nothing.
    a.handle(t0 + ms(15), Input::AddAddress(v4(4)));
    a.handle_timeout(t0 + ms(20));
    let d = drain(&mut a);
    assert_eq!(
        d.sent,
        vec![v4(4)],
        "the round in progress picks up the new address"
    );
    assert_eq!(d.done, vec![BurstKind::Takeover]);
    assert_eq!(a.poll_timeout(), None);

    // Removing the last pending address ends the round and the burst.
    let mut cfg = Config::keepalived(MAC);
    cfg.repeat = 1;
    cfg.second_burst_delay = Duration::ZERO;
    cfg.min_gap = ms(10);
    cfg.addresses = vec![v4(1), v4(2)];
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    assert_eq!(drain(&mut a).sent, vec![v4(1)]);
    a.handle(t0 + ms(5), Input::RemoveAddress(v4(2)));
    let d = drain(&mut a);
    assert!(d.sent.is_empty());
    assert_eq!(d.done, vec![BurstKind::Takeover]);
}

#[test]
fn per_family_intervals_pace_frames_in_queue_order() {
    let t0 = Instant::now();
    let mut cfg = Config::keepalived(MAC);
    cfg.repeat = 1;
    cfg.second_burst_delay = Duration::ZERO;
    cfg.garp_interval = ms(10);
    cfg.gna_interval = ms(20);
    cfg.addresses = vec![v4(1), v6(1), v4(2), v6(2)];
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    let log = run_until(&mut a, t0, Duration::from_secs(1));
    assert_eq!(
        log,
        vec![
            (ms(0), vec![v4(1), v6(1)]),
            (ms(10), vec![v4(2)]),
            (ms(20), vec![v6(2)]),
        ]
    );
}

#[test]
fn min_gap_spreads_a_burst_and_delays_the_next() {
    let t0 = Instant::now();
    let mut cfg = Config::keepalived(MAC);
    cfg.addresses = vec![v4(1)];
    cfg.min_gap = Duration::from_millis(1500);
    cfg.second_burst_delay = Duration::from_secs(5);
    cfg.repeat = 3;
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    let log = run_until(&mut a, t0, Duration::from_secs(60));
    let times: Vec<Duration> = log.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        vec![ms(0), ms(1500), ms(3000), ms(5000), ms(6500), ms(8000)]
    );
}

#[test]
fn start_while_running_restarts_the_schedule() {
    let t0 = Instant::now();
    let mut cfg = Config::keepalived(MAC);
    cfg.addresses = vec![v4(1)];
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    drain(&mut a);
    a.handle(t0 + Duration::from_secs(3), Input::Start);
    assert_eq!(drain(&mut a).sent, vec![v4(1); 5]);
    assert_eq!(a.poll_timeout(), Some(t0 + Duration::from_secs(8)));
}

#[test]
fn start_with_replaces_addresses_and_counts_rejects() {
    let t0 = Instant::now();
    let mut cfg = Config::keepalived(MAC);
    cfg.repeat = 1;
    cfg.addresses = vec![v4(1)];
    let mut a = Announcer::new(cfg, t0).unwrap();
    let list = [
        v6(7),
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        v4(9),
        v6(7),
        IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
    ];
    a.handle(t0, Input::StartWith(&list));
    assert_eq!(drain(&mut a).sent, vec![v6(7), v4(9)]);
    assert_eq!(a.counters().addresses_rejected, 2);
    assert_eq!(a.addresses(), &[v6(7), v4(9)]);
}

#[test]
fn empty_address_list_still_completes_bursts() {
    let t0 = Instant::now();
    let mut a = Announcer::new(Config::keepalived(MAC), t0).unwrap();
    a.handle(t0, Input::Start);
    let d = drain(&mut a);
    assert!(d.sent.is_empty());
    assert_eq!(d.done, vec![BurstKind::Takeover]);
}

#[test]
fn zero_repeat_sends_nothing() {
    let t0 = Instant::now();
    let mut cfg = Config::bonding(MAC, 0, ms(100));
    cfg.addresses = vec![v4(1)];
    let mut a = Announcer::new(cfg, t0).unwrap();
    a.handle(t0, Input::Start);
    assert_eq!(drain(&mut a), Drained::default());
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn config_errors() {
    let t0 = Instant::now();
    let bad = |f: &dyn Fn(&mut Config)| {
        let mut cfg = Config::keepalived(MAC);
        f(&mut cfg);
        Announcer::new(cfg, t0).unwrap_err()
    };
    assert_eq!(
        bad(&|c| c.source_mac = MacAddr::BROADCAST),
        ConfigError::SourceMacNotUnicast(MacAddr::BROADCAST)
    );
    assert_eq!(
        bad(&|c| c.source_mac = MacAddr::ZERO),
        ConfigError::SourceMacNotUnicast(MacAddr::ZERO)
    );
    let zero = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    assert_eq!(
        bad(&|c| c.addresses = vec![zero]),
        ConfigError::BadAddress(zero)
    );
    let mc = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
    assert_eq!(
        bad(&|c| c.addresses = vec![mc]),
        ConfigError::BadAddress(mc)
    );
    assert_eq!(
        bad(&|c| c.addresses = vec![v4(1), v4(1)]),
        ConfigError::DuplicateAddress(v4(1))
    );
    assert_eq!(
        bad(&|c| c.repeat = 256),
        ConfigError::RepeatTooLarge("repeat")
    );
    assert_eq!(
        bad(&|c| c.vlans = vec![arp::wire::ethernet::VlanTag::dot1q(1); 3]),
        ConfigError::TooManyVlans
    );
}
