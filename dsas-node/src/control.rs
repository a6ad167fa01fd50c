//! The control socket: a root-only unix stream socket serving
//! newline-delimited JSON (`{"cmd":"status"}` → one JSON line), used by
//! `dsas-node status`.
//!
//! * The directory is created 0700 when missing; an existing one must not
//!   be writable by group/others unless sticky. The socket is bound under
//!   a temporary name, set to 0600 and renamed into place, so it is never
//!   reachable with wider permissions.
//! * A non-socket file at the path is refused; a socket nobody answers on
//!   (stale) is replaced; a live one means another node runs: refused.
//! * Peers must have our uid (`SO_PEERCRED`).
//!
//! Roles register a [`StatusHandle`] under their name; each request asks
//! every role (over a channel answered inside the role's own loop, so the
//! answer reflects its current state and timers).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// Longest request line accepted.
pub const MAX_REQUEST: usize = 64 * 1024;
/// How long a role may take to answer a status request.
pub const ROLE_TIMEOUT: Duration = Duration::from_secs(2);

/// A status request as a role receives it: answer on the sender.
pub type StatusRequest = oneshot::Sender<Value>;

/// The node side of a role's status channel.
#[derive(Debug, Clone)]
pub struct StatusHandle {
    tx: mpsc::Sender<StatusRequest>,
}

/// Creates a status channel: register the handle with
/// [`Registry::register`], poll the receiver in the role's loop and answer
/// each request with the role's status.
#[must_use]
pub fn status_channel() -> (StatusHandle, mpsc::Receiver<StatusRequest>) {
    let (tx, rx) = mpsc::channel(8);
    (StatusHandle { tx }, rx)
}

impl StatusHandle {
    /// Asks the role; `None` when it is gone or too slow.
    pub async fn query(&self, timeout: Duration) -> Option<Value> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(tx).await.ok()?;
        tokio::time::timeout(timeout, rx).await.ok()?.ok()
    }
}

/// Roles' status handles by role name.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    roles: Arc<Mutex<BTreeMap<String, StatusHandle>>>,
}

impl Registry {
    /// Registers (or replaces) `role`'s handle.
    pub fn register(&self, role: &str, handle: StatusHandle) {
        if let Ok(mut roles) = self.roles.lock() {
            roles.insert(role.to_owned(), handle);
        }
    }

    /// Every role's status (`null` for a role that did not answer).
    pub async fn collect(&self) -> BTreeMap<String, Value> {
        let roles: Vec<(String, StatusHandle)> = self
            .roles
            .lock()
            .map(|r| r.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let mut out = BTreeMap::new();
        for (name, handle) in roles {
            let value = handle.query(ROLE_TIMEOUT).await.unwrap_or(Value::Null);
            out.insert(name, value);
        }
        out
    }
}

/// What a status request returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Node name.
    pub node: String,
    /// Process id.
    pub pid: u32,
    /// Seconds since start.
    pub uptime_s: f64,
    /// Each role's status.
    pub roles: BTreeMap<String, Value>,
}

/// One VRRP instance as the VRRP role reports it (role `"vrrp"`: a JSON
/// array of these); [`render_status`] prints it as a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpInstanceStatus {
    /// Instance name.
    pub name: String,
    /// Interface.
    pub interface: String,
    /// VRID.
    pub vrid: u8,
    /// Protocol version.
    pub version: u8,
    /// `INIT`, `BACKUP`, `MASTER`, `FAULT`.
    pub state: String,
    /// Configured priority.
    pub priority: u8,
    /// Priority after tracking.
    pub effective_priority: u8,
    /// Address of the current Master (ours when Master), if known.
    pub master: Option<String>,
    /// Advertisement interval in milliseconds (learned one for v3 Backup).
    pub advert_interval_ms: u64,
    /// Master_Down_Timer remaining in milliseconds (Backup only).
    pub master_down_remaining_ms: Option<u64>,
    /// Counters (RFC 6527 names), e.g. `adverts_rx`, `became_master`.
    pub counters: BTreeMap<String, u64>,
    /// The sync group the instance belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_group: Option<SyncGroupStatus>,
}

/// A sync group as seen from one of its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupStatus {
    /// Group name.
    pub name: String,
    /// The state all members share; `None` while they are in transition.
    pub state: Option<String>,
}

/// A server-side error in a response.
fn error(msg: &str) -> Value {
    json!({ "ok": false, "error": msg })
}

#[derive(Debug, Deserialize)]
struct Request {
    cmd: String,
}

/// The running server (the socket file is removed on drop).
#[derive(Debug)]
pub struct ControlServer {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Node identity given to the server.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// Node name.
    pub name: String,
    /// Start time (for the uptime).
    pub started: tokio::time::Instant,
}

fn check_dir(dir: &Path) -> io::Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) => {
            let mode = meta.permissions().mode();
            if !meta.is_dir() {
                return Err(io::Error::other(format!(
                    "{}: not a directory",
                    dir.display()
                )));
            }
            if mode & 0o022 != 0 && mode & 0o1000 == 0 {
                return Err(io::Error::other(format!(
                    "{}: writable by group or others (mode {:o}); refusing to put the control socket there",
                    dir.display(),
                    mode & 0o7777
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        }
        Err(e) => Err(e),
    }
}

/// Binds the control socket at `path` (see the module docs) and serves it
/// on the current runtime.
///
/// # Errors
/// Unsafe directory, a non-socket file or a live node at `path`, or any
/// socket error.
pub async fn serve(path: &Path, info: NodeInfo, registry: Registry) -> io::Result<ControlServer> {
    let ctx = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    check_dir(dir).map_err(ctx)?;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(ctx(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "exists and is not a socket; refusing to replace it",
            )));
        }
        Ok(_) => {
            if UnixStream::connect(path).await.is_ok() {
                return Err(ctx(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "another dsas-node is listening there",
                )));
            }
            tracing::info!(path = %path.display(), "removing stale control socket");
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ctx(e)),
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp).map_err(ctx)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(ctx)?;
    std::fs::rename(&tmp, path).map_err(ctx)?;
    let task = tokio::spawn(accept_loop(listener, info, registry));
    Ok(ControlServer {
        path: path.to_owned(),
        task,
    })
}

async fn accept_loop(listener: UnixListener, info: NodeInfo, registry: Registry) {
    let uid = nix::unistd::geteuid().as_raw();
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        match stream.peer_cred() {
            Ok(cred) if cred.uid() == uid || cred.uid() == 0 => {}
            other => {
                tracing::warn!(?other, "control connection from another user refused");
                continue;
            }
        }
        tokio::spawn(session(stream, info.clone(), registry.clone()));
    }
}

async fn session(stream: UnixStream, info: NodeInfo, registry: Registry) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = match (&mut lines)
            .take(u64::try_from(MAX_REQUEST).unwrap_or(u64::MAX))
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let reply = if n >= MAX_REQUEST && line.last() != Some(&b'\n') {
            let reply = error("request too long");
            let _ = write_line(&mut write, &reply).await;
            return;
        } else {
            handle(&line, &info, &registry).await
        };
        if write_line(&mut write, &reply).await.is_err() {
            return;
        }
    }
}

async fn write_line(w: &mut tokio::net::unix::OwnedWriteHalf, v: &Value) -> io::Result<()> {
    let mut bytes = serde_json::to_vec(v).map_err(io::Error::other)?;
    bytes.push(b'\n');
    w.write_all(&bytes).await
}

async fn handle(line: &[u8], info: &NodeInfo, registry: &Registry) -> Value {
    let req: Request = match serde_json::from_slice(line) {
        Ok(r) => r,
        Err(e) => return error(&format!("bad request: {e}")),
    };
    match req.cmd.as_str() {
        "ping" => json!({ "ok": true }),
        "status" => {
            let status = NodeStatus {
                node: info.name.clone(),
                pid: std::process::id(),
                uptime_s: info.started.elapsed().as_secs_f64(),
                roles: registry.collect().await,
            };
            match serde_json::to_value(status) {
                Ok(mut v) => {
                    if let Some(o) = v.as_object_mut() {
                        o.insert("ok".into(), Value::Bool(true));
                    }
                    v
                }
                Err(e) => error(&e.to_string()),
            }
        }
        other => error(&format!("unknown command {other:?}")),
    }
}

/// Sends one request and reads the reply line.
///
/// # Errors
/// Connection errors, or a reply that is not JSON.
pub async fn request(path: &Path, request: &Value) -> io::Result<Value> {
    let stream = UnixStream::connect(path)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let (read, mut write) = stream.into_split();
    let mut bytes = serde_json::to_vec(request).map_err(io::Error::other)?;
    bytes.push(b'\n');
    write.write_all(&bytes).await?;
    let mut line = String::new();
    BufReader::new(read)
        .take(64 * 1024 * 1024)
        .read_line(&mut line)
        .await?;
    serde_json::from_str(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn ms(v: u64) -> String {
    format!("{}.{:03}s", v / 1000, v % 1000)
}

/// The human form of a status reply (`dsas-node status`).
#[must_use]
pub fn render_status(reply: &Value) -> String {
    let mut out = String::new();
    if reply.get("ok") != Some(&Value::Bool(true)) {
        let _ = writeln!(
            out,
            "error: {}",
            reply
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("bad reply")
        );
        return out;
    }
    let status: NodeStatus = match serde_json::from_value(reply.clone()) {
        Ok(s) => s,
        Err(e) => return format!("error: bad status reply: {e}\n"),
    };
    let _ = writeln!(
        out,
        "node {} (pid {}, up {:.0}s)",
        status.node, status.pid, status.uptime_s
    );
    for (role, value) in &status.roles {
        let _ = writeln!(out, "\n[{role}]");
        let vrrp = (role == "vrrp")
            .then(|| serde_json::from_value::<Vec<VrrpInstanceStatus>>(value.clone()).ok())
            .flatten();
        let rendered = match (role.as_str(), vrrp) {
            (_, Some(instances)) => {
                render_vrrp(&mut out, &instances);
                true
            }
            ("rstp", None) => render_rstp(&mut out, value),
            ("health", None) => render_health(&mut out, value),
            _ => false,
        };
        if !rendered {
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
        }
    }
    out
}

/// Writes `rows` (the first is the header) as left-aligned columns.
fn table(out: &mut String, rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
}

/// A JSON field as table text: strings bare, `null` / missing as `-`.
fn cell(v: &Value, key: &str) -> String {
    match v.get(key) {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.to_owned(),
        Some(other) => other.to_string(),
    }
}

/// The columns of the RSTP port table (`mstpctl showport`'s fields).
pub const RSTP_PORT_COLUMNS: [&str; 14] = [
    "PORT",
    "ID",
    "ROLE",
    "STATE",
    "COST",
    "DSGN-ROOT",
    "DSGN-COST",
    "DSGN-BRIDGE",
    "DSGN-PORT",
    "EDGE",
    "P2P",
    "PROTO",
    "RX",
    "TX",
];

/// One bridge as `mstpctl showbridge` + `mstpctl showport` print it: the
/// bridge line, then per port its role, state, cost and designated
/// bridge. False when `value` is not a bridge status.
fn render_rstp(out: &mut String, value: &Value) -> bool {
    let bridges: Vec<&Value> = match value {
        Value::Array(list) => list.iter().collect(),
        v @ Value::Object(_) => vec![v],
        _ => return false,
    };
    if bridges.iter().any(|b| b.get("ports").is_none()) {
        return false;
    }
    for b in bridges {
        let root = if b.get("is_root") == Some(&Value::Bool(true)) {
            " (this bridge is the root)".to_owned()
        } else {
            format!(
                "  root port {}  root path cost {}",
                cell(b, "root_port"),
                cell(b, "root_path_cost")
            )
        };
        let _ = writeln!(
            out,
            "{} bridge id {}  designated root {}{root}",
            cell(b, "bridge"),
            cell(b, "bridge_id"),
            cell(b, "root")
        );
        let _ = writeln!(
            out,
            "  max age {}  hello time {}  forward delay {}  topology change {}",
            cell(b, "max_age"),
            cell(b, "hello_time"),
            cell(b, "forward_delay"),
            cell(b, "topology_change")
        );
        let mut rows = vec![
            RSTP_PORT_COLUMNS
                .iter()
                .map(|s| (*s).to_owned())
                .collect::<Vec<_>>(),
        ];
        for p in b
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let proto = match p.get("send_rstp") {
                Some(Value::Bool(true)) => "rstp",
                Some(Value::Bool(false)) => "stp",
                _ => "-",
            };
            rows.push(vec![
                cell(p, "name"),
                cell(p, "port_id"),
                cell(p, "role"),
                cell(p, "state"),
                cell(p, "path_cost"),
                cell(p, "designated_root"),
                cell(p, "designated_cost"),
                cell(p, "designated_bridge"),
                cell(p, "designated_port"),
                cell(p, "edge"),
                cell(p, "p2p"),
                proto.to_owned(),
                cell(p, "rx_bpdu"),
                cell(p, "tx_bpdu"),
            ]);
        }
        table(out, &rows);
    }
    true
}

/// The health role: one row per target with its service and quorum, its
/// state, weight, last check result, check counters and the reason of its
/// latest transition. False when `value` is not a health status.
fn render_health(out: &mut String, value: &Value) -> bool {
    let Some(services) = value.get("services").and_then(Value::as_array) else {
        return false;
    };
    let _ = writeln!(
        out,
        "probes in flight {} (max {})",
        cell(value, "in_flight"),
        cell(value, "max_concurrent_probes")
    );
    let mut rows = vec![
        [
            "SERVICE",
            "QUORUM",
            "TARGET",
            "STATE",
            "PROGRESS",
            "WEIGHT",
            "SINCE",
            "LAST-CHECK",
            "RESULT",
            "TOOK",
            "CHECKS",
            "PASS",
            "FAIL",
            "TIMEOUT",
            "REASON",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect::<Vec<_>>(),
    ];
    for svc in services {
        let quorum = match (cell(svc, "quorum"), svc.get("sorry_server_active")) {
            (q, Some(Value::Bool(true))) => format!("{q} (sorry)"),
            (q, _) => q,
        };
        for t in svc
            .get("targets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let state = if t.get("ejected") == Some(&Value::Bool(true)) {
                format!("{} ejected", cell(t, "state"))
            } else {
                cell(t, "state")
            };
            let seconds = |v: &Value, key: &str| {
                v.get(key)
                    .and_then(Value::as_f64)
                    .map_or_else(|| "-".to_owned(), |s| format!("{s:.1}s"))
            };
            let last = t.get("last_check").unwrap_or(&Value::Null);
            let counters = t.get("counters").unwrap_or(&Value::Null);
            let reason = t
                .get("transitions")
                .and_then(Value::as_array)
                .and_then(|h| h.last())
                .map_or_else(|| "-".to_owned(), |tr| cell(tr, "reason"));
            rows.push(vec![
                cell(svc, "name"),
                quorum.clone(),
                cell(t, "address"),
                state,
                t.get("progress")
                    .and_then(Value::as_array)
                    .filter(|p| !p.is_empty())
                    .map_or_else(
                        || "-".to_owned(),
                        |p| {
                            p.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(",")
                        },
                    ),
                cell(t, "weight"),
                seconds(t, "since_s"),
                last.get("ago_s")
                    .and_then(Value::as_f64)
                    .map_or_else(|| "-".to_owned(), |s| format!("{s:.1}s ago")),
                cell(last, "result"),
                last.get("took_ms")
                    .and_then(Value::as_u64)
                    .map_or_else(|| "-".to_owned(), |ms| format!("{ms}ms")),
                cell(counters, "checks"),
                cell(counters, "passes"),
                cell(counters, "failures"),
                cell(counters, "timeouts"),
                reason,
            ]);
        }
    }
    table(out, &rows);
    true
}

fn render_vrrp(out: &mut String, instances: &[VrrpInstanceStatus]) {
    let header = [
        "INSTANCE", "IFACE", "VRID", "VER", "STATE", "PRIO", "MASTER", "ADVERT", "DOWN-IN",
        "GROUP", "COUNTERS",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| (*s).to_owned()).collect()];
    for i in instances {
        let counters: Vec<String> = i
            .counters
            .iter()
            .filter(|(_, v)| **v != 0)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        rows.push(vec![
            i.name.clone(),
            i.interface.clone(),
            i.vrid.to_string(),
            format!("v{}", i.version),
            i.state.clone(),
            format!("{}/{}", i.priority, i.effective_priority),
            i.master.clone().unwrap_or_else(|| "-".to_owned()),
            ms(i.advert_interval_ms),
            i.master_down_remaining_ms
                .map_or_else(|| "-".to_owned(), ms),
            // NAME/STATE, `~` while the members are in transition.
            i.sync_group.as_ref().map_or_else(
                || "-".to_owned(),
                |g| format!("{}/{}", g.name, g.state.as_deref().unwrap_or("~")),
            ),
            counters.join(" "),
        ]);
    }
    table(out, &rows);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_vrrp_table() {
        let inst = VrrpInstanceStatus {
            name: "VI_1".into(),
            interface: "veth0".into(),
            vrid: 51,
            version: 3,
            state: "BACKUP".into(),
            priority: 100,
            effective_priority: 90,
            master: Some("10.0.0.2".into()),
            advert_interval_ms: 1000,
            master_down_remaining_ms: Some(2609),
            counters: BTreeMap::from([("adverts_rx".into(), 12), ("became_master".into(), 0)]),
            sync_group: None,
        };
        let mut grouped = inst.clone();
        grouped.name = "VI_2".into();
        grouped.sync_group = Some(SyncGroupStatus {
            name: "G1".into(),
            state: Some("BACKUP".into()),
        });
        let mut moving = grouped.clone();
        moving.name = "VI_3".into();
        moving.sync_group = Some(SyncGroupStatus {
            name: "G1".into(),
            state: None,
        });
        let reply = json!({
            "ok": true, "node": "lb1", "pid": 42, "uptime_s": 10.2,
            "roles": { "vrrp": [inst, grouped, moving], "other": { "x": 1 } }
        });
        assert_eq!(
            render_status(&reply),
            "node lb1 (pid 42, up 10s)\n\n[other]\n{\n  \"x\": 1\n}\n\n[vrrp]\n\
             INSTANCE  IFACE  VRID  VER  STATE   PRIO    MASTER    ADVERT  DOWN-IN  GROUP      COUNTERS\n\
             VI_1      veth0  51    v3   BACKUP  100/90  10.0.0.2  1.000s  2.609s   -          adverts_rx=12\n\
             VI_2      veth0  51    v3   BACKUP  100/90  10.0.0.2  1.000s  2.609s   G1/BACKUP  adverts_rx=12\n\
             VI_3      veth0  51    v3   BACKUP  100/90  10.0.0.2  1.000s  2.609s   G1/~       adverts_rx=12\n"
        );
        assert_eq!(render_status(&error("nope")), "error: nope\n");
    }

    #[test]
    fn renders_rstp_and_health_tables() {
        let port = |name: &str, n: u16, role: &str, state: &str| {
            json!({
                "name": name, "port": n, "port_id": format!("8.00{n}"), "role": role,
                "state": state, "path_cost": 2000, "designated_root": "8.000.02:00:00:00:00:01",
                "designated_cost": 0, "designated_bridge": "8.000.02:00:00:00:00:01",
                "designated_port": "8.001", "edge": false, "p2p": true, "send_rstp": n == 1,
                "rx_bpdu": 10, "tx_bpdu": 3, "line": "ignored"
            })
        };
        let bridge = json!({
            "bridge": "br0", "bridge_id": "8.000.02:00:00:00:00:02",
            "root": "8.000.02:00:00:00:00:01", "root_path_cost": 2000, "root_port": 1,
            "is_root": false, "max_age": 20, "hello_time": 2, "forward_delay": 15,
            "topology_change": false,
            "ports": [port("eth1", 1, "Root", "Forwarding"), port("eth2", 2, "Alternate", "Discarding")]
        });
        let health = json!({
            "uptime_s": 3.0, "in_flight": 1, "max_concurrent_probes": 256,
            "services": [{
                "name": "web", "quorum": "UP", "sorry_server": null, "sorry_server_active": false,
                "targets": [
                    { "address": "10.0.0.2:80", "state": "UP", "weight": 1, "ejected": false,
                      "since_s": 12.34, "checkers": ["HTTP_GET"], "progress": ["UP 2/3"],
                      "last_check": { "checker": "HTTP_GET", "result": "pass", "ago_s": 0.25, "took_ms": 3 },
                      "counters": { "checks": 9, "passes": 9, "failures": 0, "timeouts": 0 },
                      "transitions": [
                          { "state": "DOWN", "weight": 0, "ago_s": 20.0, "reason": "initial" },
                          { "state": "UP", "weight": 1, "ago_s": 12.34, "reason": "checker 0 passed" } ] },
                    { "address": "10.0.0.3:80", "state": "DOWN", "weight": 0, "ejected": true,
                      "since_s": null, "checkers": ["TCP_CHECK"], "progress": ["DOWN 1/2"], "last_check": null,
                      "counters": null, "transitions": null }
                ]
            }],
            "counters": {}
        });
        let reply = json!({
            "ok": true, "node": "sw1", "pid": 7, "uptime_s": 1.0,
            "roles": { "health": health, "rstp": bridge }
        });
        assert_eq!(
            render_status(&reply),
            "node sw1 (pid 7, up 1s)\n\n[health]\n\
             probes in flight 1 (max 256)\n\
             SERVICE  QUORUM  TARGET       STATE         PROGRESS  WEIGHT  SINCE  LAST-CHECK  RESULT  TOOK  CHECKS  PASS  FAIL  TIMEOUT  REASON\n\
             web      UP      10.0.0.2:80  UP            UP 2/3    1       12.3s  0.2s ago    pass    3ms   9       9     0     0        checker 0 passed\n\
             web      UP      10.0.0.3:80  DOWN ejected  DOWN 1/2  0       -      -           -       -     -       -     -     -        -\n\
             \n[rstp]\n\
             br0 bridge id 8.000.02:00:00:00:00:02  designated root 8.000.02:00:00:00:00:01  root port 1  root path cost 2000\n\
             \x20 max age 20  hello time 2  forward delay 15  topology change no\n\
             PORT  ID     ROLE       STATE       COST  DSGN-ROOT                DSGN-COST  DSGN-BRIDGE              DSGN-PORT  EDGE  P2P  PROTO  RX  TX\n\
             eth1  8.001  Root       Forwarding  2000  8.000.02:00:00:00:00:01  0          8.000.02:00:00:00:00:01  8.001      no    yes  rstp   10  3\n\
             eth2  8.002  Alternate  Discarding  2000  8.000.02:00:00:00:00:01  0          8.000.02:00:00:00:00:01  8.001      no    yes  stp    10  3\n"
        );
        // Anything else still prints as JSON.
        let other = json!({ "ok": true, "node": "n", "pid": 1, "uptime_s": 0.0,
            "roles": { "rstp": { "no": "ports" } } });
        assert!(render_status(&other).contains("\"no\": \"ports\""));
    }
}
