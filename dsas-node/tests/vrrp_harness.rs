//! Validates the VRRP interop harness with real peers only: keepalived ↔
//! keepalived and FRR vrrpd ↔ keepalived elect by priority, and a SIGKILLed
//! Master is replaced within Master_Down_Interval while the client sees the
//! VIP move (root only; skipped without the daemons).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::print_stdout,
    reason = "test code"
)]

mod vrrp_support;

use std::time::Duration;

use vrrp_support::{Impl, Lan, Spec, VrrpState, epoch_now, have, load_margin, start};

/// Router 0 runs `hi` at priority 200, router 1 `lo` at 100: router 0 wins;
/// SIGKILL of it → router 1 Master within its MDI (+ margin), the client's
/// ARP entry follows and pings resume.
fn elect_and_kill(tag: &str, hi: Impl, lo: Impl) {
    testkit::require_root!();
    if !have(hi) || !have(lo) {
        return;
    }
    let lan = Lan::new(tag, 2);
    let spec_hi = Spec::new(3, 200);
    let spec_lo = Spec::new(3, 100);
    let mut a = start(hi, &lan.routers[0], &spec_hi);
    let b = start(lo, &lan.routers[1], &spec_lo);
    a.wait_state(VrrpState::Master, Duration::from_secs(8))
        .unwrap();
    lan.wait_client_owner(0, Duration::from_secs(5)).unwrap();
    assert_eq!(b.state(), Some(VrrpState::Backup));
    let prober = lan.prober();
    std::thread::sleep(Duration::from_millis(1500));
    let t_kill = epoch_now();
    a.kill();
    lan.flush_vip(0);
    b.wait_state(VrrpState::Master, Duration::from_secs(8))
        .unwrap();
    let took = b.entered(VrrpState::Master).unwrap() - t_kill;
    let mdi = spec_lo.master_down_interval().as_secs_f64();
    // Between MDI − one interval (the last advert came up to 1 s before
    // the kill) and MDI + margin (+ fork latency under load).
    let hi = mdi + 0.3 + load_margin();
    assert!(
        took > mdi - 1.05 && took < hi,
        "takeover after {took:.3} s, expected {:.3}..{hi:.3} (MDI {mdi:.3} s)",
        mdi - 1.05
    );
    lan.wait_client_owner(1, Duration::from_secs(3)).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let gap = prober.longest_gap(t_kill, epoch_now());
    assert!(gap < mdi + 0.5, "client outage {gap:.3} s");
    assert!(prober.replies_after(t_kill + took + 0.2) > 0);
    println!("{tag}: takeover {took:.3} s (MDI {mdi:.3}), client outage {gap:.3} s");
}

#[test]
fn keepalived_pair_elects_and_fails_over() {
    elect_and_kill("hka", Impl::Keepalived, Impl::Keepalived);
}

#[test]
fn frr_and_keepalived_elect_and_fail_over() {
    elect_and_kill("hfk", Impl::Frr, Impl::Keepalived);
}
