//! Tracking in the dsas-node VRRP role against keepalived 2.2.7
//! (keepalived.conf(5) `vrrp_script`, `vrrp_track_file`): a real check
//! script (a shell script failing while a flag file exists) and real
//! tracked files change the node's priority; ownership of the VIP moves to
//! keepalived when the node's priority drops below it (or the node enters
//! FAULT) and back when it recovers. Root only; skipped without keepalived.
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

use std::path::Path;
use std::time::Duration;

use testkit::exec::TempDir;
use vrrp_support::{
    Daemon, DsasNode, Impl, Keepalived, Lan, Spec, VrrpState, epoch_now, have, load_margin,
};

/// The node's `effective_priority` and state from `dsas-node status`.
fn node_view(node: &DsasNode) -> Option<(u64, String)> {
    let s = node.status()?;
    let i = &s["roles"]["vrrp"][0];
    Some((
        i["effective_priority"].as_u64()?,
        i["state"].as_str()?.to_owned(),
    ))
}

fn wait_view(node: &DsasNode, priority: u64, state: &str) {
    let mut last = None;
    let ok = testkit::wait_for(
        || {
            last = node_view(node);
            last.as_ref()
                .is_some_and(|(p, s)| *p == priority && s == state)
        },
        Duration::from_secs(10),
    );
    assert!(ok, "expected {priority}/{state}, node reports {last:?}");
}

/// Waits for `m` Master (the other Backup or, for the node, `other_state`)
/// and the client reaching the VIP at router `m`.
fn owner(lan: &Lan, d: [&dyn Daemon; 2], m: usize, other_state: VrrpState) -> f64 {
    d[m].wait_state(VrrpState::Master, Duration::from_secs(10))
        .unwrap();
    d[1 - m]
        .wait_state(other_state, Duration::from_secs(4))
        .unwrap();
    if let Err(seen) = lan.wait_client_owner(m, Duration::from_secs(4)) {
        panic!("client sees the VIP at {seen:?}, expected router {m}");
    }
    d[m].entered(VrrpState::Master).unwrap()
}

fn write(path: &Path, text: &str) {
    // Whole-file replace, as an operator's `echo N > file` would.
    std::fs::write(path, text).unwrap();
}

/// Router 0: dsas-node, priority 150, tracking a script (weight −100,
/// rise 2 / fall 2), a file `load` (weight −2) and a file `hard` (weight 0);
/// router 1: keepalived, priority 100. Each change moves the VIP:
/// script fails → 50 < 100 → keepalived; script OK → node; `load` = 60 →
/// 150 − 120 = 30 → keepalived; `load` removed (= 0) → node; `hard` = 1 →
/// node FAULT → keepalived; `hard` = 0 → node.
#[test]
fn track_script_and_file_move_the_vip_to_keepalived_and_back() {
    testkit::require_root!();
    if !have(Impl::Keepalived) {
        return;
    }
    let lan = Lan::new("vtk", 2);
    let dir = TempDir::new().unwrap();
    let flag = dir.path().join("fail");
    let script = dir.path().join("chk.sh");
    std::fs::write(&script, format!("#!/bin/sh\n[ ! -e {} ]\n", flag.display())).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let load = dir.path().join("load");
    let hard = dir.path().join("hard");
    let mut spec_a = Spec::new(3, 150);
    spec_a.node_instance = "track_script = [{ name = \"chk\" }]\n\
         track_file = [{ name = \"load\", weight = -2 }, { name = \"hard\" }]\n"
        .to_owned();
    spec_a.node_tables = format!(
        "[vrrp.script.chk]\nscript = \"{}\"\ninterval = 0.2\ntimeout = 1\nweight = -100\n\
         rise = 2\nfall = 2\n\
         [vrrp.track_file.load]\nfile = \"{}\"\n\
         [vrrp.track_file.hard]\nfile = \"{}\"\nweight = 0\n",
        script.display(),
        load.display(),
        hard.display()
    );
    let spec_b = Spec::new(3, 100);
    let mdi_b = spec_b.master_down_interval().as_secs_f64();
    let a = DsasNode::start(&lan.routers[0], &spec_a);
    let b = Keepalived::start(&lan.routers[1], &spec_b);
    owner(&lan, [&a, &b], 0, VrrpState::Backup);
    wait_view(&a, 150, "MASTER");

    // Each step: the change, the node's view, the new owner, and how long
    // keepalived took. It ignores the lower-priority adverts (preempt) and
    // takes over when its Master_Down_Timer, last reset by an advert at
    // the old priority (≤ 1 s before the change), expires; detection adds
    // at most fall × interval + a script run.
    let handover = |what: &str, t0: f64, t: f64| {
        let took = t - t0;
        let hi = mdi_b + 1.2 + load_margin();
        println!("{what}: keepalived Master after {took:.3} s (MDI {mdi_b:.3}, at most {hi:.3})");
        assert!(
            took > mdi_b - 1.05 && took < hi,
            "{what}: keepalived Master after {took:.3} s, MDI {mdi_b:.3}"
        );
    };

    // Script fails (fall 2): 150 − 100 = 50.
    let t0 = epoch_now();
    write(&flag, "");
    wait_view(&a, 50, "MASTER");
    let t = owner(&lan, [&a, &b], 1, VrrpState::Backup);
    handover("script failed", t0, t);
    wait_view(&a, 50, "BACKUP");

    // Script succeeds again (rise 2): back to 150, the node preempts.
    std::fs::remove_file(&flag).unwrap();
    owner(&lan, [&a, &b], 0, VrrpState::Backup);
    wait_view(&a, 150, "MASTER");

    // A file value times its weight: 150 + 60 × (−2) = 30.
    std::thread::sleep(Duration::from_millis(500));
    let t0 = epoch_now();
    write(&load, "60\n");
    wait_view(&a, 30, "MASTER");
    let t = owner(&lan, [&a, &b], 1, VrrpState::Backup);
    handover("track file 60 x -2", t0, t);

    // A missing file counts as 0.
    std::fs::remove_file(&load).unwrap();
    owner(&lan, [&a, &b], 0, VrrpState::Backup);
    wait_view(&a, 150, "MASTER");

    // Weight 0: a non-zero value is a fault; the node sends priority 0
    // and keepalived takes over after its Skew_Time.
    std::thread::sleep(Duration::from_millis(500));
    let t0 = epoch_now();
    write(&hard, "1\n");
    let t = owner(&lan, [&a, &b], 1, VrrpState::Fault);
    let skew = spec_b.skew_time().as_secs_f64();
    println!(
        "weight-0 file fault: keepalived Master after {:.3} s",
        t - t0
    );
    let hi = 0.2 + skew + 0.5 + load_margin();
    assert!(
        t - t0 < hi,
        "fault handover took {:.3} s (at most {hi:.3})",
        t - t0
    );
    wait_view(&a, 150, "FAULT");

    write(&hard, "0\n");
    owner(&lan, [&a, &b], 0, VrrpState::Backup);
    wait_view(&a, 150, "MASTER");
}
