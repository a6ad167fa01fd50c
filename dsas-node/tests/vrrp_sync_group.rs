//! keepalived `vrrp_sync_group` notify scripts and group state in the
//! dsas-node VRRP role, with keepalived 2.2.7 as the peer that moves the
//! group: two instances (VRID 51, 52) in group `G1`; keepalived preempts
//! VRID 51 and the group follows to BACKUP; keepalived stops and the group
//! is MASTER again; the node stops (STOP). A real script records its
//! arguments (keepalived: `GROUP NAME STATE 0`, the priority always 0 for a
//! group). Root only; skipped without keepalived.
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
use vrrp_support::{Daemon, DsasNode, IFNAME, Impl, Keepalived, Lan, Spec, VrrpState, have};

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn wait_lines(path: &Path, want: &[&str]) {
    let ok = testkit::wait_for(|| lines(path) == want, Duration::from_secs(10));
    assert!(
        ok,
        "{} holds {:?}, expected {want:?}",
        path.display(),
        lines(path)
    );
}

/// `(instance, state, group state)` of every instance in `dsas-node status`.
fn view(node: &DsasNode) -> Vec<(String, String, String)> {
    let s = node.status().unwrap_or_default();
    s["roles"]["vrrp"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| {
                    (
                        i["name"].as_str().unwrap_or("").to_owned(),
                        i["state"].as_str().unwrap_or("").to_owned(),
                        format!(
                            "{}:{}",
                            i["sync_group"]["name"].as_str().unwrap_or("-"),
                            i["sync_group"]["state"].as_str().unwrap_or("-")
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn wait_view(node: &DsasNode, state: &str) {
    let want = vec![
        ("VI_1".to_owned(), state.to_owned(), format!("G1:{state}")),
        ("VI_2".to_owned(), state.to_owned(), format!("G1:{state}")),
    ];
    let mut last = Vec::new();
    let ok = testkit::wait_for(
        || {
            last = view(node);
            last == want
        },
        Duration::from_secs(10),
    );
    assert!(ok, "status {last:?}, expected {want:?}");
}

#[test]
fn sync_group_notifies_follow_the_group_state() {
    testkit::require_root!();
    if !have(Impl::Keepalived) {
        return;
    }
    let lan = Lan::new("vsg", 2);
    let dir = TempDir::new().unwrap();
    let log = dir.path().join("group.log");
    let master_log = dir.path().join("group-master.log");
    let script = dir.path().join("group.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nlog=$1; shift\necho \"$*\" >> \"$log\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut spec = Spec::new(3, 150);
    spec.node_tables = format!(
        "[[vrrp.instance]]\nname = \"VI_2\"\ninterface = \"{IFNAME}\"\nvirtual_router_id = 52\n\
         priority = 150\nversion = 3\nvirtual_ipaddress = [\"10.0.0.101/24\"]\n\
         [[vrrp.sync_group]]\nname = \"G1\"\nmembers = [\"VI_1\", \"VI_2\"]\n\
         notify = \"{s} {log}\"\nnotify_master = \"{s} {mlog} only-master\"\n",
        s = script.display(),
        log = log.display(),
        mlog = master_log.display(),
    );
    let mut node = DsasNode::start(&lan.routers[0], &spec);
    node.wait_state(VrrpState::Master, Duration::from_secs(10))
        .unwrap();
    wait_view(&node, "MASTER");
    wait_lines(&log, &["GROUP G1 BACKUP 0", "GROUP G1 MASTER 0"]);
    lan.wait_client_owner(0, Duration::from_secs(5)).unwrap();

    // keepalived (VRID 51 only, priority 200) preempts VI_1; the group
    // takes VI_2 to BACKUP with it.
    let mut ka = Keepalived::start(&lan.routers[1], &Spec::new(3, 200));
    ka.wait_state(VrrpState::Master, Duration::from_secs(10))
        .unwrap();
    wait_view(&node, "BACKUP");
    wait_lines(
        &log,
        &[
            "GROUP G1 BACKUP 0",
            "GROUP G1 MASTER 0",
            "GROUP G1 BACKUP 0",
        ],
    );
    lan.wait_client_owner(1, Duration::from_secs(5)).unwrap();

    // keepalived stops (priority 0): the whole group is MASTER again.
    ka.stop();
    wait_view(&node, "MASTER");
    lan.wait_client_owner(0, Duration::from_secs(5)).unwrap();

    node.stop();
    wait_lines(
        &log,
        &[
            "GROUP G1 BACKUP 0",
            "GROUP G1 MASTER 0",
            "GROUP G1 BACKUP 0",
            "GROUP G1 MASTER 0",
            "GROUP G1 STOP 0",
        ],
    );
    // `notify_master` runs as configured, without the four arguments.
    wait_lines(&master_log, &["only-master", "only-master"]);
}
