//! HTTP_GET and SSL_GET against a real nginx in a namespace, run by the
//! `dsas-node` binary: status codes, keepalived's MD5 body digest, a
//! location that answers after the timeout, TLS with and without SNI; then
//! nginx frozen (SIGSTOP), thawed, killed and restarted, with the
//! transitions, their timing, the notify scripts and `dsas-node status`
//! checked.
//!
//! The slow location proxies to 10.99.0.1, whose packets the server
//! namespace drops (nft), so nginx waits on the upstream connect for 30 s
//! while the probe times out after 0.5 s (stock nginx has no `echo_sleep`).
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

mod health_support;

use std::time::{Duration, Instant};

use health_support::{Node, SRV4, Site, bound, detection_bound, script};
use nix::sys::signal::Signal;
use testkit::exec::Child;

const BODY: &str = "exact body\n";
/// `printf 'exact body\n' | md5sum`.
const BODY_MD5: &str = "72d93466042e18c8713e87c492dc1ac0";

fn nginx_conf(site: &Site) -> String {
    let d = site.dir.path().display();
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen {SRV4}:80;
        listen {SRV4}:443 ssl;
        ssl_certificate {d}/cert.pem;
        ssl_certificate_key {d}/key.pem;
        location = /ok {{ return 200 "ok\n"; }}
        location = /e500 {{ return 500 "broken\n"; }}
        location = /moved {{ return 302 /ok; }}
        location = /body {{ default_type text/plain; return 200 "{}"; }}
        location = /slow {{ proxy_connect_timeout 30s; proxy_pass http://10.99.0.1:80; }}
    }}
}}
"#,
        BODY.replace('\n', "\\n")
    )
}

fn start_nginx(site: &Site) -> Child {
    let child = site
        .srv
        .spawn(&["nginx", "-c", site.path("nginx.conf").to_str().unwrap()])
        .unwrap();
    assert!(
        testkit::exec::wait_for(
            || site
                .srv
                .exec_unchecked(&["ss", "-ltnH"])
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(":443")),
            Duration::from_secs(5)
        ),
        "nginx did not start: {}",
        std::fs::read_to_string(site.path("nginx-error.log")).unwrap_or_default()
    );
    child
}

#[test]
fn nginx_http_and_tls_through_the_binary() {
    testkit::require_root!();
    testkit::require_tool!("nginx");
    testkit::require_tool!("openssl");
    testkit::require_tool!("nft");
    let site = Site::new("http");
    let d = site.dir.path();
    let gen_cert = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=www.test",
        ])
        .args(["-addext", "subjectAltName=DNS:www.test"])
        .arg("-keyout")
        .arg(d.join("key.pem"))
        .arg("-out")
        .arg(d.join("cert.pem"))
        .output()
        .unwrap();
    assert!(
        gen_cert.status.success(),
        "{}",
        String::from_utf8_lossy(&gen_cert.stderr)
    );
    std::fs::write(site.path("nginx.conf"), nginx_conf(&site)).unwrap();
    site.srv
        .run("ip route add 10.99.0.0/24 dev srv0 && nft add table inet bh && nft add chain inet bh out '{ type filter hook output priority 0; }' && nft add rule inet bh out ip daddr 10.99.0.1 drop")
        .unwrap();
    let mut nginx = start_nginx(&site);
    let log = site.path("notify.log");
    let up = site.path("up.sh");
    let (upd, downd) = (
        up.display().to_string(),
        site.path("down.sh").display().to_string(),
    );
    let down = site.path("down.sh");
    script(&up, &format!("echo \"UP $1\" >> {}", log.display()));
    script(&down, &format!("echo \"DOWN $1\" >> {}", log.display()));
    let wrong_md5 = "00000000000000000000000000000000";
    // Service "web": target 0 is the one frozen and killed (keepalived
    // thresholds: retry 1, delay_before_retry 0.3 s). Service "cases":
    // one target per expectation (HAProxy rise 1 / fall 1).
    let rs = |port: u16, check: &str| {
        format!("[[health.virtual_server.real_server]]\nip = \"{SRV4}\"\nport = {port}\n{check}\n")
    };
    let health = format!(
        r#"[health]
max_concurrent_probes = 16

[[health.virtual_server]]
name = "web"
ip = "10.0.0.100"
port = 80
delay_loop = 0.5
[[health.virtual_server.real_server]]
ip = "{SRV4}"
port = 80
notify_up = "{upd} web0"
notify_down = "{downd} web0"
HTTP_GET = {{ connect_timeout = 0.5, retry = 1, delay_before_retry = 0.3, url = [{{ path = "/ok" }}, {{ path = "/body", digest = "{BODY_MD5}" }}] }}
[[health.virtual_server.real_server]]
ip = "{SRV4}"
port = 443
SSL_GET = {{ connect_timeout = 0.5, retry = 1, delay_before_retry = 0.3, enable_sni = true, virtualhost = "www.test", url = [{{ path = "/ok" }}] }}

[[health.virtual_server]]
name = "cases"
ip = "10.0.0.100"
port = 81
delay_loop = 0.3
rise = 1
fall = 1
{}{}{}{}{}{}{}"#,
        rs(
            80,
            "HTTP_GET = { connect_timeout = 0.5, url = [{ path = \"/e500\" }] }"
        ),
        rs(
            81,
            "HTTP_GET = { connect_timeout = 0.5, connect_port = 80, url = [{ path = \"/e500\", status_code = [500] }] }"
        ),
        rs(
            82,
            &format!(
                "HTTP_GET = {{ connect_timeout = 0.5, connect_port = 80, url = [{{ path = \"/body\", digest = \"{wrong_md5}\" }}] }}"
            )
        ),
        rs(
            83,
            "HTTP_GET = { connect_timeout = 0.5, connect_port = 80, url = [{ path = \"/slow\" }] }"
        ),
        rs(
            84,
            "HTTP_GET = { connect_timeout = 0.5, connect_port = 80, url = [{ path = \"/moved\", status_code = \"300-399\" }] }"
        ),
        rs(
            443,
            "SSL_GET = { connect_timeout = 0.5, verify = true, url = [{ path = \"/ok\" }] }"
        ),
        rs(
            444,
            "SSL_GET = { connect_timeout = 0.5, connect_port = 443, url = [{ path = \"/ok\" }] }"
        ),
    );
    let node = Node::start(&site, &health);
    let within = Duration::from_secs(5);
    node.wait_state("web", 0, "UP", within);
    node.wait_state("web", 1, "UP", within);
    // Let every case run a few probes.
    std::thread::sleep(Duration::from_secs(2));
    let expect = [
        (0, "DOWN", "HttpStatus(500)"),
        (1, "UP", "pass"),
        (2, "DOWN", "DigestMismatch"),
        (3, "DOWN", "Timeout"),
        (4, "UP", "pass"),
        (5, "DOWN", "TLS handshake failed"),
        (6, "UP", "pass"),
    ];
    for (t, state, result) in expect {
        let v = node.target("cases", t).unwrap();
        assert_eq!(v["state"], state, "cases[{t}]: {v:#}");
        let last = v["last_check"]["result"].as_str().unwrap();
        assert!(last.contains(result), "cases[{t}]: {last} (want {result})");
    }
    // Freeze nginx: probes time out. keepalived thresholds, retry 1: the
    // retry is due delay_before_retry after the failed probe was due (it
    // starts when that one times out); the second failure marks it down,
    // within interval × 2 + timeout (issue 6).
    let fault = Instant::now();
    nginx.signal(Signal::SIGSTOP).unwrap();
    let took = node.detected("web", 0, "DOWN", Duration::from_secs(6), fault);
    // Two URLs per probe and a shared 2-core CI host: 0.4 s more slack
    // than the engine's bound (exact times are in healthcheck's tests).
    assert!(
        took <= detection_bound(2, 0.5, 0.5) + Duration::from_millis(400),
        "frozen detected in {took:?}"
    );
    node.wait_state("web", 1, "DOWN", Duration::from_secs(6));
    let v = node.target("web", 0).unwrap();
    assert!(
        v["last_check"]["result"]
            .as_str()
            .unwrap()
            .contains("Timeout"),
        "{v:#}"
    );
    // keepalived counting: the one checker is down, no retry pending.
    assert_eq!(v["progress"][0], "DOWN", "{v:#}");
    nginx.signal(Signal::SIGCONT).unwrap();
    let took = node.wait_state("web", 0, "UP", Duration::from_secs(5));
    assert!(took <= bound(1, 0.5, 0.5), "thawed detected in {took:?}");
    node.wait_state("web", 1, "UP", Duration::from_secs(5));
    // Kill it: connections are refused.
    let fault = Instant::now();
    nginx
        .stop_with(Signal::SIGKILL, Duration::from_secs(1))
        .unwrap();
    let took = node.detected("web", 0, "DOWN", Duration::from_secs(5), fault);
    assert!(
        took <= detection_bound(2, 0.5, 0.0),
        "stopped detected in {took:?}"
    );
    let v = node.target("web", 0).unwrap();
    assert!(
        v["last_check"]["result"]
            .as_str()
            .unwrap()
            .contains("ConnectFailed"),
        "{v:#}"
    );
    let _nginx = start_nginx(&site);
    node.wait_state("web", 0, "UP", Duration::from_secs(5));
    // The human status: one row per target with its latest transition.
    let text = node.status_text();
    println!("{text}");
    assert!(text.contains("[health]"), "{text}");
    assert!(!text.contains('{'), "raw JSON in the human status:\n{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("web ") && l.contains(&format!(" {SRV4}:80 ")))
        .unwrap_or_else(|| panic!("no web {SRV4}:80 row:\n{text}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[3], "UP", "{row}");
    // HTTP checks end with RST once the verdict is in (as HAProxy's do):
    // thousands of checks leave no TIME_WAIT socket on either side.
    for ns in [&site.lb, &site.srv] {
        let out = ns.exec(&["ss", "-Htan", "state", "time-wait"]).unwrap();
        let tw = String::from_utf8_lossy(&out.stdout).lines().count();
        assert_eq!(tw, 0, "TIME_WAIT sockets in {}", ns.name());
    }
    assert_eq!(cols[4], "UP,UP", "PROGRESS column, two checkers: {row}");
    assert!(row.ends_with(" passed"), "{row}");
    // The transition history (JSON): down on a timeout (frozen), down on a
    // refused connection (killed), each followed by up.
    let v = node.target("web", 0).unwrap();
    let history: Vec<(String, String)> = v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["state"].as_str().unwrap().to_owned(),
                t["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let downs: Vec<&str> = history
        .iter()
        .filter(|(s, _)| s == "DOWN")
        .map(|(_, r)| r.as_str())
        .collect();
    assert_eq!(
        downs,
        [
            "checker 0 failed: Timeout",
            "checker 0 failed: ConnectFailed"
        ],
        "{history:?}"
    );
    // notify_down twice (frozen, killed), notify_up twice (thawed, restarted).
    assert!(
        testkit::exec::wait_for(
            || std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .count()
                == 4,
            Duration::from_secs(3)
        ),
        "{:?}",
        std::fs::read_to_string(&log)
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "DOWN web0\nUP web0\nDOWN web0\nUP web0\n"
    );
}
