//! The control socket and the `dsas-node` binary (`check`, `run`, `status`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "test code"
)]

use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::process::Command;
use std::time::Duration;

use dsas_node::control::{self, NodeInfo, Registry, status_channel};
use serde_json::json;
use testkit::exec::{Child, TempDir};

fn info() -> NodeInfo {
    NodeInfo {
        name: "lb1".into(),
        started: tokio::time::Instant::now(),
    }
}

#[tokio::test]
async fn serves_status_from_registered_roles() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("run").join("control.sock");
    let registry = Registry::default();
    let (handle, mut requests) = status_channel();
    registry.register("vrrp", handle);
    tokio::spawn(async move {
        while let Some(reply) = requests.recv().await {
            let _ = reply.send(json!([{"name": "VI_1"}]));
        }
    });
    let server = control::serve(&path, info(), registry).await.unwrap();
    // Directory 0700, socket 0600.
    let dmode = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dmode & 0o7777, 0o700);
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    let reply = control::request(&path, &json!({"cmd": "status"}))
        .await
        .unwrap();
    assert_eq!(reply["ok"], true);
    assert_eq!(reply["node"], "lb1");
    assert_eq!(reply["pid"], std::process::id());
    assert_eq!(reply["roles"], json!({"vrrp": [{"name": "VI_1"}]}));
    let reply = control::request(&path, &json!({"cmd": "reboot"}))
        .await
        .unwrap();
    assert_eq!(
        reply,
        json!({"ok": false, "error": "unknown command \"reboot\""})
    );
    let reply = control::request(&path, &json!({"command": "status"}))
        .await
        .unwrap();
    assert_eq!(reply["ok"], false);
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .starts_with("bad request: missing field `cmd`")
    );

    // A second node on the same path is refused while the first lives.
    let err = control::serve(&path, info(), Registry::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("another dsas-node is listening there"),
        "{err}"
    );
    drop(server);
    assert!(!path.exists(), "socket removed on drop");
}

#[tokio::test]
async fn refuses_non_sockets_and_replaces_stale_sockets() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, "keep me").unwrap();
    let err = control::serve(&file, info(), Registry::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("exists and is not a socket; refusing to replace it"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");

    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let _server = control::serve(&stale, info(), Registry::default())
        .await
        .unwrap();
    let reply = control::request(&stale, &json!({"cmd": "ping"}))
        .await
        .unwrap();
    assert_eq!(reply, json!({"ok": true}));

    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = control::serve(&open.join("c.sock"), info(), Registry::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("writable by group or others (mode 777)"),
        "{err}"
    );
}

const BIN: &str = env!("CARGO_BIN_EXE_dsas-node");

#[test]
fn check_prints_a_summary_or_the_error() {
    let dir = TempDir::new().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[[vrrp.instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvirtual_router_id = 51\nvirtual_ipaddress = [\"10.0.0.100/24\"]\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with(&format!("{}: configuration OK\n", good.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("  VI_1 on eth0: VRID 51 v2 priority 100 advert 1s VIPs [10.0.0.100/24]\n"),
        "{stdout}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[node]\nname = \"x\"\nlog_levl = \"debug\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "{}:3:1: node.log_levl: unknown field `log_levl`, expected one of `name`, `control_socket`, `log_level`\n",
            bad.display()
        )
    );
}

#[test]
fn run_serves_status_and_stops_on_sigterm() {
    let dir = TempDir::new().unwrap();
    let sock = dir.path().join("node").join("control.sock");
    let conf = dir.path().join("node.toml");
    std::fs::write(
        &conf,
        format!(
            "[node]\nname = \"lb9\"\ncontrol_socket = \"{}\"\n",
            sock.display()
        ),
    )
    .unwrap();
    let mut child = Child::spawn(&[BIN, "run", "--config", conf.to_str().unwrap()]).unwrap();
    child
        .wait_for_stderr("control socket ready", Duration::from_secs(10))
        .unwrap();
    let out = Command::new(BIN)
        .args(["status", "--json", "--socket"])
        .arg(&sock)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["ok"].clone(), v["node"].clone(), v["roles"].clone()),
        (json!(true), json!("lb9"), json!({}))
    );
    let out = Command::new(BIN)
        .args(["status", "--socket"])
        .arg(&sock)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("node lb9 (pid "), "{text}");

    let status = child.terminate().unwrap();
    assert!(status.success(), "{status:?}: {}", child.stderr().unwrap());
    assert!(child.stderr().unwrap().contains("SIGTERM"));
    assert!(!sock.exists(), "socket removed at exit");
    let out = Command::new(BIN)
        .args(["status", "--socket"])
        .arg(&sock)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
