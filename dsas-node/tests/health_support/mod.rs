//! Shared pieces of the health-check real-peer tests: a load-balancer
//! namespace (where `dsas-node` runs) and a server namespace joined by a
//! veth pair, the node binary with a generated configuration, and polling
//! of `dsas-node status --json`.
#![allow(dead_code, reason = "each test file uses a subset")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::exec::{Child, TempDir};
use testkit::netns::{Netns, Veth};

/// Load balancer side address.
pub const LB4: &str = "10.77.0.1";
/// Server side address.
pub const SRV4: &str = "10.77.0.2";
/// Load balancer side IPv6 address.
pub const LB6: &str = "fd77::1";
/// Server side IPv6 address.
pub const SRV6: &str = "fd77::2";

/// Two namespaces joined by a veth: `lb` (10.77.0.1, fd77::1) and `srv`
/// (10.77.0.2, fd77::2).
pub struct Site {
    pub lb: Netns,
    pub srv: Netns,
    _veth: Veth,
    pub dir: TempDir,
}

impl Site {
    pub fn new(name: &str) -> Site {
        let lb = Netns::new(&format!("hl{name}")).unwrap();
        let srv = Netns::new(&format!("hs{name}")).unwrap();
        let veth = Veth::new(&lb, "lb0", &srv, "srv0").unwrap();
        lb.addr_add("lb0", &format!("{LB4}/24")).unwrap();
        srv.addr_add("srv0", &format!("{SRV4}/24")).unwrap();
        lb.ip(&[
            "-6",
            "addr",
            "add",
            &format!("{LB6}/64"),
            "dev",
            "lb0",
            "nodad",
        ])
        .unwrap();
        srv.ip(&[
            "-6",
            "addr",
            "add",
            &format!("{SRV6}/64"),
            "dev",
            "srv0",
            "nodad",
        ])
        .unwrap();
        veth.up().unwrap();
        lb.link_up("lo").unwrap();
        srv.link_up("lo").unwrap();
        Site {
            lb,
            srv,
            _veth: veth,
            dir: TempDir::new().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Drops everything the server namespace sends (`nft`), or stops doing so.
    pub fn blackhole(&self, on: bool) {
        if on {
            self.srv
                .run("nft add table inet hb && nft add chain inet hb out '{ type filter hook output priority 0; policy drop; }'")
                .unwrap();
        } else {
            self.srv.run("nft delete table inet hb").unwrap();
        }
    }
}

/// `dsas-node run` in the load balancer namespace.
pub struct Node {
    pub child: Child,
    pub socket: PathBuf,
}

pub const BIN: &str = env!("CARGO_BIN_EXE_dsas-node");

impl Node {
    /// Starts the node with `health` (TOML text of the `[health]` part).
    pub fn start(site: &Site, health: &str) -> Node {
        let socket = site.path("ctl/control.sock");
        let config = site.path("node.toml");
        std::fs::write(
            &config,
            format!(
                "[node]\nname = \"lb\"\ncontrol_socket = \"{}\"\nlog_level = \"info\"\n\n{health}",
                socket.display()
            ),
        )
        .unwrap();
        let check = Command::new(BIN)
            .args(["check", "-c"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "config rejected: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let child = site
            .lb
            .spawn(&[BIN, "run", "-c", config.to_str().unwrap()])
            .unwrap();
        let node = Node { child, socket };
        assert!(
            testkit::exec::wait_for(|| node.status().is_some(), Duration::from_secs(5)),
            "node did not start"
        );
        node
    }

    /// The `health` role's status (`dsas-node status --json`).
    pub fn status(&self) -> Option<Value> {
        let out = Command::new(BIN)
            .args(["status", "--json", "--socket"])
            .arg(&self.socket)
            .output()
            .ok()?;
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        v.get("roles")?.get("health").cloned()
    }

    /// `dsas-node status` as a person sees it.
    pub fn status_text(&self) -> String {
        let out = Command::new(BIN)
            .args(["status", "--socket"])
            .arg(&self.socket)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// One target's status object: service `svc`, target index `t`.
    pub fn target(&self, svc: &str, t: usize) -> Option<Value> {
        let s = self.status()?;
        s.get("services")?
            .as_array()?
            .iter()
            .find(|x| x.get("name").and_then(Value::as_str) == Some(svc))?
            .get("targets")?
            .get(t)
            .cloned()
    }

    pub fn state(&self, svc: &str, t: usize) -> Option<String> {
        Some(self.target(svc, t)?.get("state")?.as_str()?.to_owned())
    }

    /// Waits until target `t` of `svc` is in `state`; returns how long it
    /// took (panics after `within`, with the status).
    pub fn wait_state(&self, svc: &str, t: usize, state: &str, within: Duration) -> Duration {
        let start = Instant::now();
        let ok = testkit::exec::wait_for(|| self.state(svc, t).as_deref() == Some(state), within);
        assert!(
            ok,
            "{svc}[{t}] not {state} within {within:?}: {}\nnode stderr:\n{}",
            serde_json::to_string_pretty(&self.target(svc, t)).unwrap_or_default(),
            std::fs::read_to_string(self.child.stderr_path()).unwrap_or_default()
        );
        start.elapsed()
    }

    /// Waits until target `t` of `svc` is in `state` and returns how long
    /// after `fault` the node made the transition, from the status's
    /// `since_s` (ms resolution) read right after the poll that saw it, so
    /// polling delays do not count (the result errs on the late side by
    /// at most the status call's own duration).
    pub fn detected(
        &self,
        svc: &str,
        t: usize,
        state: &str,
        within: Duration,
        fault: Instant,
    ) -> Duration {
        let seen = testkit::exec::wait_for_value(
            || {
                let v = self.target(svc, t)?;
                let after = Instant::now();
                (v.get("state")?.as_str()? == state).then_some((v, after))
            },
            within,
        );
        let Some((v, after)) = seen else {
            panic!(
                "{svc}[{t}] not {state} within {within:?}: {}\nnode stderr:\n{}",
                serde_json::to_string_pretty(&self.target(svc, t)).unwrap_or_default(),
                std::fs::read_to_string(self.child.stderr_path()).unwrap_or_default()
            );
        };
        let since = Duration::from_secs_f64(v["since_s"].as_f64().unwrap());
        let took = after.saturating_duration_since(fault).saturating_sub(since);
        eprintln!("{svc}[{t}] {state} {took:?} after the fault");
        took
    }

    /// Asserts target `t` stays in `state` for `during`.
    pub fn stays(&self, svc: &str, t: usize, state: &str, during: Duration) {
        let start = Instant::now();
        while start.elapsed() < during {
            assert_eq!(
                self.state(svc, t).as_deref(),
                Some(state),
                "{svc}[{t}]: {}",
                serde_json::to_string_pretty(&self.target(svc, t)).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Sends `sig` to `pid`.
pub fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()), sig).unwrap();
}

/// Upper bound of a detection: `n` probes of `interval + timeout` plus the
/// retry delays, plus 1 s of slack for status polling and scheduling.
pub fn bound(checks: u32, interval: f64, timeout: f64) -> Duration {
    Duration::from_secs_f64(f64::from(checks) * (interval + timeout) + 1.0)
}

/// Slack on a detection bound measured from the node's own transition
/// time: the 10 ms plus 90 ms for scheduling on a 2-core machine
/// shared with compilers.
pub const TOLERANCE: Duration = Duration::from_millis(100);

/// Issue 6 detection bound for a target that stops answering: probes run
/// at a fixed rate, so it is down within `interval × fall + timeout`
/// (keepalived: `fall` = `retry + 1`, retries no further apart than
/// `max(delay_before_retry, timeout)` ≤ `interval`) plus [`TOLERANCE`].
pub fn detection_bound(fall: u32, interval: f64, timeout: f64) -> Duration {
    Duration::from_secs_f64(f64::from(fall) * interval + timeout) + TOLERANCE
}

/// Writes an executable script.
pub fn script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
