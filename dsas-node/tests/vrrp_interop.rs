//! dsas-node against keepalived 2.2.7 and FRR 8.4 vrrpd in network
//! namespaces (vrrp-arp.md §9), each pairing both ways. Router 0 ("A") has
//! the higher priority, router 1 ("B") the lower one, unless stated. The
//! client namespace checks who owns the VIP at every step (its ARP entry →
//! bridge FDB port → router, ping answered) and a background `ping -i
//! 0.05` measures the outage. Root only; skipped without the peers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "test code"
)]

mod vrrp_support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use testkit::capture::Capture;
use vrrp_support::{
    Daemon, DsasNode, IFNAME, Impl, Lan, Spec, VIP, VrrpState, epoch_now, have, load_margin, start,
};

type D = Box<dyn Daemon + Send>;

/// Margin on protocol timers: process scheduling, notify script fork,
/// 10 ms polling, two busy cores.
const MARGIN: f64 = 0.35;

fn ready(a: Impl, b: Impl) -> bool {
    if !testkit::is_root() {
        testkit::print_skip("needs root (network namespaces)");
        return false;
    }
    have(a) && have(b)
}

/// Waits until `d[m]` is Master and the other Backup (one Master), and the
/// client reaches the VIP at router `m` (unless `client` is false).
fn expect_master(lan: &Lan, d: [&D; 2], m: usize, timeout: Duration, client: bool) {
    d[m].wait_state(VrrpState::Master, timeout).unwrap();
    let other = 1 - m;
    d[other]
        .wait_state(VrrpState::Backup, Duration::from_secs(3))
        .unwrap();
    if client && let Err(seen) = lan.wait_client_owner(m, Duration::from_secs(4)) {
        panic!("client sees the VIP at {seen:?}, expected router {m}");
    }
}

/// Seconds from `t0` to when `d` last entered Master.
fn took(d: &D, t0: f64) -> f64 {
    d.entered(VrrpState::Master).unwrap() - t0
}

/// `t` in `lo..=hi`, `hi` widened by [`load_margin`] (fork latency now).
fn within(what: &str, t: f64, lo: f64, hi: f64) {
    let hi = hi + load_margin();
    println!("{what}: {t:.3} s (expected {lo:.3}..{hi:.3})");
    assert!(
        t >= lo && t <= hi,
        "{what}: {t:.3} s outside {lo:.3}..{hi:.3}"
    );
}

/// B (100) alone → Master after MDI; A (200) joins and preempts; SIGSTOP A
/// → B Master after MDI; SIGCONT → one Master, A; SIGTERM A → priority 0,
/// B Master after Skew_Time; A restarted preempts; SIGKILL A → B Master
/// after MDI. The client follows at each step.
fn lifecycle(tag: &str, a_impl: Impl, b_impl: Impl, version: u8) {
    if !ready(a_impl, b_impl) {
        return;
    }
    let lan = Lan::new(tag, 2);
    let spec_a = Spec::new(version, 200);
    let spec_b = Spec::new(version, 100);
    let (i, mdi_b, skew_b) = (
        spec_b.advert_int.as_secs_f64(),
        spec_b.master_down_interval().as_secs_f64(),
        spec_b.skew_time().as_secs_f64(),
    );
    let prober = lan.prober();

    // Cold start of B alone.
    let t0 = epoch_now();
    let b = start(b_impl, &lan.routers[1], &spec_b);
    b.wait_state(VrrpState::Master, Duration::from_secs(8))
        .unwrap();
    within(
        "cold start",
        took(&b, t0),
        mdi_b - 0.2,
        mdi_b + MARGIN + 0.5,
    );
    lan.wait_client_owner(1, Duration::from_secs(4)).unwrap();

    // A joins with the higher priority and preempts.
    let mut a = start(a_impl, &lan.routers[0], &spec_a);
    expect_master(&lan, [&a, &b], 0, Duration::from_secs(8), true);

    // Frozen Master: B takes over after MDI.
    std::thread::sleep(Duration::from_millis(300));
    let t_stop = epoch_now();
    a.freeze();
    b.wait_state(VrrpState::Master, Duration::from_secs(8))
        .unwrap();
    within(
        "SIGSTOP takeover",
        took(&b, t_stop),
        mdi_b - i - 0.05,
        mdi_b + MARGIN,
    );
    lan.wait_client_owner(1, Duration::from_secs(4)).unwrap();

    // Split brain heals to one Master, A (the higher priority).
    std::thread::sleep(Duration::from_millis(500));
    a.thaw();
    // FRR does not re-announce on hearing a lower priority (keepalived#166
    // in reverse): the client only follows after its ARP entry expires.
    expect_master(
        &lan,
        [&a, &b],
        0,
        Duration::from_secs(5),
        a_impl != Impl::Frr,
    );
    assert_eq!(a.state(), Some(VrrpState::Master));

    // Graceful stop: priority 0, B Master after Skew_Time.
    std::thread::sleep(Duration::from_millis(1500));
    let t_term = epoch_now();
    a.stop();
    b.wait_state(VrrpState::Master, Duration::from_secs(5))
        .unwrap();
    within(
        "graceful handover",
        took(&b, t_term),
        skew_b - 0.05,
        skew_b + MARGIN,
    );
    lan.wait_client_owner(1, Duration::from_secs(4)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let gap = prober.longest_gap(t_term, epoch_now());
    within("client outage (graceful)", gap, 0.0, skew_b + MARGIN + 0.1);

    // Restarted A preempts again.
    drop(a);
    let mut a = start(a_impl, &lan.routers[0], &spec_a);
    expect_master(&lan, [&a, &b], 0, Duration::from_secs(8), true);

    // SIGKILL of the Master: B after MDI.
    std::thread::sleep(Duration::from_millis(1300));
    let t_kill = epoch_now();
    a.kill();
    lan.flush_vip(0);
    b.wait_state(VrrpState::Master, Duration::from_secs(8))
        .unwrap();
    within(
        "SIGKILL takeover",
        took(&b, t_kill),
        mdi_b - i - 0.05,
        mdi_b + MARGIN,
    );
    lan.wait_client_owner(1, Duration::from_secs(4)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let gap = prober.longest_gap(t_kill, epoch_now());
    within(
        "client outage (SIGKILL)",
        gap,
        mdi_b - i - 0.1,
        mdi_b + MARGIN + 0.1,
    );
}

#[test]
fn keepalived_v3_lifecycle_dsas_higher() {
    lifecycle("lkd", Impl::Dsas, Impl::Keepalived, 3);
}

#[test]
fn keepalived_v3_lifecycle_keepalived_higher() {
    lifecycle("lkk", Impl::Keepalived, Impl::Dsas, 3);
}

#[test]
fn keepalived_v2_lifecycle_dsas_higher() {
    lifecycle("l2d", Impl::Dsas, Impl::Keepalived, 2);
}

#[test]
fn keepalived_v2_lifecycle_keepalived_higher() {
    lifecycle("l2k", Impl::Keepalived, Impl::Dsas, 2);
}

#[test]
fn frr_v3_lifecycle_dsas_higher() {
    lifecycle("lfd", Impl::Dsas, Impl::Frr, 3);
}

#[test]
fn frr_v3_lifecycle_frr_higher() {
    lifecycle("lff", Impl::Frr, Impl::Dsas, 3);
}

/// B (100) is Master; A (200, `nopreempt`) joins and stays Backup.
fn nopreempt(tag: &str, a_impl: Impl, b_impl: Impl) {
    if !ready(a_impl, b_impl) {
        return;
    }
    let lan = Lan::new(tag, 2);
    let mut spec_a = Spec::new(3, 200);
    spec_a.nopreempt = true;
    let spec_b = Spec::new(3, 100);
    let b = start(b_impl, &lan.routers[1], &spec_b);
    b.wait_state(VrrpState::Master, Duration::from_secs(8))
        .unwrap();
    let a = start(a_impl, &lan.routers[0], &spec_a);
    // Well past A's Master_Down_Interval.
    std::thread::sleep(spec_a.master_down_interval() + Duration::from_millis(1500));
    assert_eq!(
        a.state(),
        Some(VrrpState::Backup),
        "{} preempted",
        a.label()
    );
    assert_eq!(b.state(), Some(VrrpState::Master));
    lan.wait_client_owner(1, Duration::from_secs(3)).unwrap();
}

#[test]
fn keepalived_nopreempt_dsas_stays_backup() {
    nopreempt("npd", Impl::Dsas, Impl::Keepalived);
}

#[test]
fn keepalived_nopreempt_keepalived_stays_backup() {
    nopreempt("npk", Impl::Keepalived, Impl::Dsas);
}

#[test]
fn frr_nopreempt_frr_stays_backup() {
    nopreempt("npf", Impl::Frr, Impl::Dsas);
}

/// Equal priorities. A Backup accepts an equal-priority Master (RFC 5798
/// §6.4.2: no preemption); when both are Master the higher primary address
/// (router 1, 10.0.0.2) wins (§6.4.3). Router 0 starts alone and is
/// Master; router 1 joins and stays Backup; router 0 frozen → router 1
/// Master; router 0 thawed → two Masters → router 1 stays, router 0 Backup.
fn equal_priority(tag: &str, r0: Impl, r1: Impl) {
    if !ready(r0, r1) {
        return;
    }
    let lan = Lan::new(tag, 2);
    let spec = Spec::new(3, 100);
    let mut a = start(r0, &lan.routers[0], &spec);
    a.wait_state(VrrpState::Master, Duration::from_secs(8))
        .unwrap();
    let b = start(r1, &lan.routers[1], &spec);
    std::thread::sleep(spec.master_down_interval() + Duration::from_millis(1000));
    assert_eq!(
        b.state(),
        Some(VrrpState::Backup),
        "equal priority preempted"
    );
    assert_eq!(a.state(), Some(VrrpState::Master));
    lan.wait_client_owner(0, Duration::from_secs(3)).unwrap();
    a.freeze();
    b.wait_state(VrrpState::Master, Duration::from_secs(8))
        .unwrap();
    a.thaw();
    expect_master(&lan, [&a, &b], 1, Duration::from_secs(5), true);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(b.state(), Some(VrrpState::Master));
    assert_eq!(a.state(), Some(VrrpState::Backup));
}

/// dsas-node (Master since T) frozen just before its second GARP burst
/// (T + `garp_master_delay` 5 s) and thawed after keepalived (equal
/// priority, higher address) took over: it steps down to Backup and the
/// client keeps reaching keepalived (an overdue burst sent before hearing
/// keepalived would re-point the client at the node, which then leaves
/// the VIP unreachable until the client's ARP entry expires).
#[test]
fn thawed_master_hears_the_new_master_before_its_overdue_garps() {
    if !ready(Impl::Dsas, Impl::Keepalived) {
        return;
    }
    let lan = Lan::new("thw", 2);
    let spec = Spec::new(3, 100);
    let mut a = start(Impl::Dsas, &lan.routers[0], &spec);
    a.wait_state(VrrpState::Master, Duration::from_secs(8))
        .unwrap();
    let t_master = a.entered(VrrpState::Master).unwrap();
    let b = start(Impl::Keepalived, &lan.routers[1], &spec);
    let until = t_master + 4.5 - epoch_now();
    assert!(until > 0.0, "keepalived took too long to start");
    std::thread::sleep(Duration::from_secs_f64(until));
    a.freeze();
    b.wait_state(VrrpState::Master, Duration::from_secs(8))
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    a.thaw();
    a.wait_state(VrrpState::Backup, Duration::from_secs(3))
        .unwrap();
    // The client keeps reaching keepalived, and never sees the node again.
    lan.wait_client_owner(1, Duration::from_secs(2)).unwrap();
    for _ in 0..5 {
        assert_eq!(lan.client_owner(), Some(1));
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn keepalived_equal_priority_dsas_higher_address() {
    equal_priority("eqd", Impl::Keepalived, Impl::Dsas);
}

#[test]
fn keepalived_equal_priority_keepalived_higher_address() {
    equal_priority("eqk", Impl::Dsas, Impl::Keepalived);
}

#[test]
fn frr_equal_priority_dsas_higher_address() {
    equal_priority("eqf", Impl::Frr, Impl::Dsas);
}

/// A (200) Master, B (100) Backup, then SIGKILL of A: B after MDI, with
/// `spec` tweaks (unicast, sub-second v3, v2 auth).
fn elect_kill(tag: &str, a_impl: Impl, b_impl: Impl, tweak: impl Fn(&mut Spec, usize)) {
    if !ready(a_impl, b_impl) {
        return;
    }
    let lan = Lan::new(tag, 2);
    let mut spec_a = Spec::new(3, 200);
    let mut spec_b = Spec::new(3, 100);
    tweak(&mut spec_a, 0);
    tweak(&mut spec_b, 1);
    let mut a = start(a_impl, &lan.routers[0], &spec_a);
    let b = start(b_impl, &lan.routers[1], &spec_b);
    expect_master(&lan, [&a, &b], 0, Duration::from_secs(8), true);
    let prober = lan.prober();
    std::thread::sleep(Duration::from_millis(1200));
    let (i, mdi) = (
        spec_b.advert_int.as_secs_f64(),
        spec_b.master_down_interval().as_secs_f64(),
    );
    let t_kill = epoch_now();
    a.kill();
    lan.flush_vip(0);
    b.wait_state(VrrpState::Master, Duration::from_secs(8))
        .unwrap();
    within(
        "SIGKILL takeover",
        took(&b, t_kill),
        mdi - i - 0.05,
        mdi + MARGIN,
    );
    lan.wait_client_owner(1, Duration::from_secs(4)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let gap = prober.longest_gap(t_kill, epoch_now());
    within("client outage", gap, 0.0, mdi + MARGIN + 0.1);
}

fn unicast(s: &mut Spec, me: usize) {
    s.unicast_peers = vec![IpAddr::V4(Ipv4Addr::new(
        10,
        0,
        0,
        if me == 0 { 2 } else { 1 },
    ))];
}

#[test]
fn keepalived_unicast_dsas_higher() {
    elect_kill("ucd", Impl::Dsas, Impl::Keepalived, unicast);
}

#[test]
fn keepalived_unicast_keepalived_higher() {
    elect_kill("uck", Impl::Keepalived, Impl::Dsas, unicast);
}

#[test]
fn keepalived_v3_subsecond_both_ways() {
    let fast = |s: &mut Spec, _: usize| s.advert_int = Duration::from_millis(100);
    elect_kill("ssd", Impl::Dsas, Impl::Keepalived, fast);
    elect_kill("ssk", Impl::Keepalived, Impl::Dsas, fast);
}

#[test]
fn keepalived_v2_password_both_ways() {
    let pass = |s: &mut Spec, _: usize| {
        s.version = 2;
        s.auth_pass = Some("dsas".into());
    };
    elect_kill("pwd", Impl::Dsas, Impl::Keepalived, pass);
    elect_kill("pwk", Impl::Keepalived, Impl::Dsas, pass);
}

#[test]
fn frr_v2_dsas_higher() {
    elect_kill("f2d", Impl::Dsas, Impl::Frr, |s, _| s.version = 2);
}

/// Every VRRP packet dsas-node sends decodes in tshark with the expected
/// fields, a good checksum and TTL 255: adverts of v3 while Master, v2 with
/// a password, and the priority-0 advert of a graceful stop.
#[test]
fn tshark_decodes_what_dsas_node_sends() {
    testkit::require_root!();
    testkit::require_tool!("dumpcap");
    let lan = Lan::new("tsk", 1);
    let r = &lan.routers[0];
    for (version, auth) in [(3_u8, None), (2, Some("dsas"))] {
        let capture = Capture::start_filtered(&r.ns, IFNAME, Some("ip proto 112")).unwrap();
        let mut spec = Spec::new(version, 150);
        spec.auth_pass = auth.map(str::to_owned);
        let mut node = DsasNode::start(r, &spec);
        node.wait_state(VrrpState::Master, Duration::from_secs(8))
            .unwrap();
        std::thread::sleep(Duration::from_millis(2200));
        let status = node.status().unwrap();
        node.stop();
        let packets = capture.stop_after(Duration::from_millis(300)).unwrap();
        let packets = packets.decode().unwrap();
        let vrrp: Vec<_> = packets.iter().filter(|p| p.has_protocol("vrrp")).collect();
        assert!(vrrp.len() >= 3, "{} VRRP packets", vrrp.len());
        for p in &vrrp {
            let f = |n: &str| p.field(n).unwrap_or_else(|| panic!("no {n} in {p:#?}"));
            assert_eq!(f("ip.src"), r.addr.to_string());
            assert_eq!(f("ip.dst"), "224.0.0.18");
            assert_eq!(f("ip.ttl"), "255");
            assert_eq!(f("vrrp.version"), version.to_string());
            assert_eq!(f("vrrp.type"), "1");
            assert_eq!(f("vrrp.virt_rtr_id"), "51");
            assert_eq!(f("vrrp.addr_count"), "1");
            assert_eq!(f("vrrp.ip_addr"), VIP.to_string());
            assert_eq!(f("vrrp.checksum.status"), "1", "bad checksum: {p:#?}");
            if version == 2 {
                assert_eq!(f("vrrp.auth_type"), "1");
                assert_eq!(f("vrrp.adver_int"), "1");
                assert_eq!(f("vrrp.auth_string"), "dsas");
            } else {
                assert_eq!(f("vrrp.short_adver_int"), "100");
            }
        }
        let prios: Vec<String> = vrrp.iter().map(|p| p.field("vrrp.prio").unwrap()).collect();
        let (last, rest) = prios.split_last().unwrap();
        assert!(rest.iter().all(|p| p == "150"), "{prios:?}");
        assert_eq!(last, "0", "graceful stop sends priority 0: {prios:?}");
        // `dsas-node status` reported the instance while it ran.
        let inst = &status["roles"]["vrrp"][0];
        assert_eq!(inst["state"], "MASTER", "{status:#}");
        assert_eq!(inst["vrid"], 51);
        assert_eq!(inst["effective_priority"], 150);
        assert_eq!(inst["master"], r.addr.to_string());
        assert!(
            inst["counters"]["adverts_tx"].as_u64().unwrap() >= 2,
            "{status:#}"
        );
    }
}
