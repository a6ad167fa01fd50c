//! DNS_CHECK against dnsmasq, SMTP_CHECK against exim, PING_CHECK (ICMP and
//! ICMPv6, raw and datagram sockets) against a namespace, and TCP_CHECK,
//! UDP_CHECK, MISC_CHECK and an agent against listeners in the namespace,
//! all through the `dsas-node` binary: up, frozen (SIGSTOP) or
//! black-holed, restored, stopped, restarted, with timing bounds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "test code"
)]

mod health_support;

use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use health_support::{Node, SRV4, SRV6, Site, bound, detection_bound, script};
use nix::sys::signal::Signal;
use testkit::exec::Child;

fn wait_listen(site: &Site, what: &str, port: &str) {
    assert!(
        testkit::exec::wait_for(
            || site
                .srv
                .exec_unchecked(&["ss", "-lnH", what])
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(port)),
            Duration::from_secs(5)
        ),
        "nothing listens on {port}"
    );
}

fn dnsmasq(site: &Site) -> Child {
    let c = site
        .srv
        .spawn(&[
            "dnsmasq",
            "-k",
            "-C",
            "/dev/null",
            "-u",
            "root",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address",
            SRV4,
            "--port",
            "53",
            "--address=/www.example/10.1.2.3",
            "--pid-file",
        ])
        .unwrap();
    wait_listen(site, "-u", &format!("{SRV4}:53"));
    c
}

#[test]
fn dnsmasq_dns_check() {
    testkit::require_root!();
    testkit::require_tool!("dnsmasq");
    let site = Site::new("dns");
    let mut dns = dnsmasq(&site);
    let node = Node::start(
        &site,
        &format!(
            r#"[[health.virtual_server]]
name = "dns"
ip = "10.0.0.53"
port = 53
delay_loop = 0.5
[[health.virtual_server.real_server]]
ip = "{SRV4}"
port = 53
DNS_CHECK = {{ type = "A", name = "www.example", connect_timeout = 0.5, retry = 1, delay_before_retry = 0.3 }}
[[health.virtual_server.real_server]]
ip = "{SRV4}"
port = 54
DNS_CHECK = {{ type = "A", name = "nx.example", connect_port = 53, connect_timeout = 0.5, retry = 0 }}
"#
        ),
    );
    node.wait_state("dns", 0, "UP", Duration::from_secs(3));
    // dnsmasq answers REFUSED for names it does not know (no upstream).
    node.wait_state("dns", 1, "DOWN", Duration::from_secs(3));
    let v = node.target("dns", 1).unwrap();
    assert!(
        v["last_check"]["result"].as_str().unwrap().contains("Dns"),
        "{v:#}"
    );
    // keepalived retry 1 (fall 2), fixed rate: within interval × 2 + timeout.
    let fault = Instant::now();
    dns.signal(Signal::SIGSTOP).unwrap();
    let took = node.detected("dns", 0, "DOWN", Duration::from_secs(5), fault);
    assert!(took <= detection_bound(2, 0.5, 0.5), "{took:?}");
    dns.signal(Signal::SIGCONT).unwrap();
    let took = node.wait_state("dns", 0, "UP", Duration::from_secs(5));
    assert!(took <= bound(1, 0.5, 0.5), "{took:?}");
    let fault = Instant::now();
    drop(dns);
    // Port unreachable comes back at once: no timeout needed.
    let took = node.detected("dns", 0, "DOWN", Duration::from_secs(5), fault);
    assert!(took <= detection_bound(2, 0.5, 0.0), "{took:?}");
    let v = node.target("dns", 0).unwrap();
    assert!(
        v["last_check"]["result"]
            .as_str()
            .unwrap()
            .contains("Unreachable"),
        "{v:#}"
    );
    let _dns = dnsmasq(&site);
    node.wait_state("dns", 0, "UP", Duration::from_secs(5));
}

fn exim(site: &Site) -> Child {
    let d = site.dir.path().display();
    std::fs::create_dir_all(site.path("spool")).unwrap();
    std::fs::write(
        site.path("exim.conf"),
        format!(
            "primary_hostname = smtp.test\nkeep_environment =\ntls_advertise_hosts =\nrfc1413_query_timeout = 0s\nhost_lookup =\n\
             exim_user = root\nexim_group = root\nnever_users =\n\
             spool_directory = {d}/spool\nlog_file_path = {d}/exim-%slog\n\
             acl_smtp_rcpt = acl_rcpt\nbegin acl\nacl_rcpt:\n  deny\n"
        ),
    )
    .unwrap();
    let c = site
        .srv
        .spawn(&[
            "exim4",
            "-bdf",
            "-C",
            site.path("exim.conf").to_str().unwrap(),
            "-oX",
            &format!("{SRV4}.25"),
            "-oP",
            site.path("exim.pid").to_str().unwrap(),
        ])
        .unwrap();
    wait_listen(site, "-t", &format!("{SRV4}:25"));
    c
}

#[test]
fn exim_smtp_check() {
    testkit::require_root!();
    testkit::require_tool!("exim4");
    let site = Site::new("smtp");
    let mut smtp = exim(&site);
    let node = Node::start(
        &site,
        &format!(
            r#"[[health.virtual_server]]
name = "mail"
ip = "10.0.0.25"
port = 25
delay_loop = 0.5
rise = 2
fall = 2
[[health.virtual_server.real_server]]
ip = "{SRV4}"
port = 25
SMTP_CHECK = {{ connect_timeout = 0.5, helo_name = "lb.test" }}
"#
        ),
    );
    assert!(testkit::exec::wait_for(
        || node
            .target("mail", 0)
            .is_some_and(|v| v["counters"]["passes"].as_u64() >= Some(3)),
        Duration::from_secs(4)
    ));
    assert_eq!(node.state("mail", 0).as_deref(), Some("UP"));
    let log = std::fs::read_to_string(site.path("exim-mainlog")).unwrap_or_default();
    assert!(!log.contains("SMTP protocol error"), "{log}");
    // HAProxy counter: fully up (health 3) → 2 failures → down.
    // Fixed-rate checks: within interval × fall + timeout (issue 6).
    let fault = Instant::now();
    smtp.signal(Signal::SIGSTOP).unwrap();
    let took = node.detected("mail", 0, "DOWN", Duration::from_secs(5), fault);
    assert!(took <= detection_bound(2, 0.5, 0.5), "{took:?}");
    smtp.signal(Signal::SIGCONT).unwrap();
    let took = node.wait_state("mail", 0, "UP", Duration::from_secs(5));
    assert!(took <= bound(2, 0.5, 0.5), "{took:?}");
    let fault = Instant::now();
    drop(smtp);
    let took = node.detected("mail", 0, "DOWN", Duration::from_secs(5), fault);
    assert!(took <= detection_bound(2, 0.5, 0.0), "{took:?}");
    let _smtp = exim(&site);
    node.wait_state("mail", 0, "UP", Duration::from_secs(5));
}

fn ping_config() -> String {
    format!(
        r#"[[health.virtual_server]]
name = "icmp"
ip = "10.0.0.1"
port = 0
delay_loop = 0.3
rise = 1
fall = 2
[[health.virtual_server.real_server]]
ip = "{SRV4}"
port = 0
PING_CHECK = {{ connect_timeout = 0.3 }}
[[health.virtual_server.real_server]]
ip = "{SRV6}"
port = 0
PING_CHECK = {{ connect_timeout = 0.3 }}
"#
    )
}

fn ping_cycle(site: &Site, node: &Node) {
    node.wait_state("icmp", 0, "UP", Duration::from_secs(3));
    node.wait_state("icmp", 1, "UP", Duration::from_secs(3));
    let fault = Instant::now();
    site.blackhole(true);
    for t in 0..2 {
        let took = node.detected("icmp", t, "DOWN", Duration::from_secs(4), fault);
        assert!(took <= detection_bound(2, 0.3, 0.3), "{took:?}");
    }
    site.blackhole(false);
    for t in 0..2 {
        let took = node.wait_state("icmp", t, "UP", Duration::from_secs(4));
        assert!(took <= bound(1, 0.3, 0.3), "{took:?}");
    }
}

#[test]
fn ping_check_raw_sockets() {
    testkit::require_root!();
    testkit::require_tool!("nft");
    let site = Site::new("icmpr");
    // Default range "1 0": no group may open ping sockets, so root uses raw.
    site.lb.sysctl("net.ipv4.ping_group_range", "1 0").unwrap();
    let node = Node::start(&site, &ping_config());
    ping_cycle(&site, &node);
}

#[test]
fn ping_check_datagram_sockets() {
    testkit::require_root!();
    testkit::require_tool!("nft");
    let site = Site::new("icmpd");
    site.lb
        .sysctl("net.ipv4.ping_group_range", "0 2147483647")
        .unwrap();
    let node = Node::start(&site, &ping_config());
    ping_cycle(&site, &node);
}

/// TCP, UDP and agent servers inside the server namespace, on threads of
/// this process; returns how many connections the TCP listener on port
/// 7004 (a target with a TCP_CHECK alone) accepted.
fn serve(site: &Site, agent_reply: &'static str) -> Arc<AtomicUsize> {
    let (tcp, udp, agent, counted) = site
        .srv
        .enter_thread(|| {
            (
                std::net::TcpListener::bind((SRV4, 7000)).unwrap(),
                std::net::UdpSocket::bind((SRV4, 7001)).unwrap(),
                std::net::TcpListener::bind((SRV4, 7002)).unwrap(),
                std::net::TcpListener::bind((SRV4, 7004)).unwrap(),
            )
        })
        .unwrap();
    std::thread::spawn(move || {
        for c in tcp.incoming() {
            drop(c);
        }
    });
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for c in counted.incoming() {
            count.fetch_add(1, Ordering::SeqCst);
            drop(c);
        }
    });
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            if buf[..n] == [0xca, 0xfe] {
                let _ = udp.send_to(&[0xbe, 0xef, 0x01], from);
            }
        }
    });
    std::thread::spawn(move || {
        for c in agent.incoming() {
            let Ok(mut c) = c else { continue };
            let mut b = [0u8; 64];
            let _ = c.read(&mut b);
            let _ = c.write_all(agent_reply.as_bytes());
        }
    });
    accepted
}

#[test]
fn tcp_udp_misc_and_agent() {
    testkit::require_root!();
    let site = Site::new("misc");
    let accepted = serve(&site, "50%\n");
    let flag = site.path("rc");
    std::fs::write(&flag, "0").unwrap();
    let check = site.path("check.sh");
    script(&check, &format!("exit $(cat {})", flag.display()));
    let hang = site.path("hang.sh");
    script(&hang, "exec sleep 29.77");
    let node = Node::start(
        &site,
        &format!(
            r#"[[health.virtual_server]]
name = "mix"
ip = "10.0.0.1"
port = 7000
delay_loop = 0.3
[[health.virtual_server.real_server]]
ip = "{SRV4}"
port = 7000
weight = 10
TCP_CHECK = {{ connect_timeout = 0.3, retry = 0, bind_to = "10.77.0.1" }}
UDP_CHECK = {{ connect_port = 7001, connect_timeout = 0.3, retry = 0, payload = "cafe", reply_data = "beef00", reply_mask = "ffff00" }}
agent = {{ port = 7002, inter = 0.3, send = "hello" }}
[[health.virtual_server.real_server]]
ip = "{SRV4}"
port = 7009
TCP_CHECK = {{ connect_timeout = 0.3, retry = 0 }}
[[health.virtual_server.real_server]]
ip = "{SRV4}"
port = 7010
MISC_CHECK = {{ misc_path = "{} arg", misc_dynamic = true, misc_timeout = 1 }}
[[health.virtual_server.real_server]]
ip = "{SRV4}"
port = 7011
MISC_CHECK = {{ misc_path = "{}", misc_timeout = 0.3 }}
[[health.virtual_server.real_server]]
ip = "{SRV4}"
port = 7012
UDP_CHECK = {{ connect_port = 7003, connect_timeout = 0.3, retry = 0 }}
[[health.virtual_server.real_server]]
ip = "{SRV4}"
port = 7004
TCP_CHECK = {{ connect_timeout = 0.3, retry = 0 }}
"#,
            check.display(),
            hang.display()
        ),
    );
    let s = Duration::from_secs(3);
    node.wait_state("mix", 0, "UP", s);
    node.wait_state("mix", 5, "UP", s);
    // TCP_CHECK delays the handshake's last ACK and resets before it
    // leaves (as HAProxy does): the listener answers SYNs but accepts
    // (almost) nothing; a loop stalled past the 40 ms delayed-ACK timer
    // on a busy host may let one through.
    std::thread::sleep(Duration::from_secs(2));
    let passes = node.target("mix", 5).unwrap()["counters"]["passes"]
        .as_u64()
        .unwrap();
    let accepted = u64::try_from(accepted.load(Ordering::SeqCst)).unwrap();
    assert!(passes >= 5, "{passes} passes");
    assert!(
        accepted * 2 < passes,
        "{accepted} of {passes} checks accepted"
    );
    // The agent's "50%" halves the configured weight.
    assert!(testkit::exec::wait_for(
        || node.target("mix", 0).is_some_and(|v| v["weight"] == 5),
        s
    ));
    node.wait_state("mix", 1, "DOWN", s);
    node.wait_state("mix", 2, "UP", s);
    node.wait_state("mix", 3, "DOWN", s);
    node.wait_state("mix", 4, "DOWN", s);
    let v = node.target("mix", 4).unwrap();
    assert!(
        v["last_check"]["result"]
            .as_str()
            .unwrap()
            .contains("Unreachable"),
        "{v:#}"
    );
    let v = node.target("mix", 3).unwrap();
    assert!(
        v["last_check"]["result"]
            .as_str()
            .unwrap()
            .contains("Timeout"),
        "{v:#}"
    );
    // misc_dynamic: exit 7 → up with weight 5; exit 1 → down.
    std::fs::write(&flag, "7").unwrap();
    assert!(testkit::exec::wait_for(
        || node.target("mix", 2).is_some_and(|v| v["weight"] == 5),
        s
    ));
    std::fs::write(&flag, "1").unwrap();
    node.wait_state("mix", 2, "DOWN", s);
    std::fs::write(&flag, "0").unwrap();
    node.wait_state("mix", 2, "UP", s);
    // The hanging command's process group was killed on timeout: no
    // `sleep 30` outlives its probe.
    std::thread::sleep(Duration::from_millis(500));
    let out = std::process::Command::new("pgrep")
        .args(["-f", "sleep 29.77"])
        .output()
        .unwrap();
    let alive = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(alive <= 1, "{alive} hanging MISC_CHECK commands alive");
}

/// More probes than `max_concurrent_probes` slots: the ones that find none
/// wait in the role's queue and run as slots free up; every target comes
/// up and keeps being checked.
#[test]
fn probes_wait_for_a_free_slot() {
    testkit::require_root!();
    let site = Site::new("slots");
    serve(&site, "up\n");
    let targets: String = (0..6)
        .map(|t| {
            format!(
                "[[health.virtual_server.real_server]]\nip = \"{SRV4}\"\nport = {}\n\
                 TCP_CHECK = {{ connect_port = 7000, connect_timeout = 0.5, retry = 0 }}\n",
                8000 + t
            )
        })
        .collect();
    let node = Node::start(
        &site,
        &format!(
            "[health]\nmax_concurrent_probes = 1\n\n[[health.virtual_server]]\nname = \"few\"\n\
             ip = \"10.0.0.1\"\nport = 7000\ndelay_loop = 0.2\n{targets}"
        ),
    );
    for t in 0..6 {
        node.wait_state("few", t, "UP", Duration::from_secs(3));
    }
    std::thread::sleep(Duration::from_secs(1));
    for t in 0..6 {
        let v = node.target("few", t).unwrap();
        assert_eq!(v["state"], "UP", "{v:#}");
        let c = &v["counters"];
        assert!(c["passes"].as_u64().unwrap() >= 4, "{v:#}");
        assert_eq!(c["failures"], 0, "{v:#}");
    }
    let status = node.status().unwrap();
    assert!(status["in_flight"].as_u64().unwrap() <= 6, "{status:#}");
}
