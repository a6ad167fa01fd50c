//! dsas-node's RSTP role against Linux kernel STP bridges (802.1D-1998) in
//! network namespaces: a ring and a full mesh mixing both. Checks the root
//! elected by priority across implementations, the fall-back to Config
//! BPDUs towards kernel neighbours (decoded by tshark), RST BPDUs between
//! dsas bridges, no broadcast storm, and healing after a link is cut.
//! Timers: hello 1 s, max age 6 s, forward delay 4 s on every bridge.
//! Root only; skipped without the tools.
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

mod rstp_support;

use std::time::Duration;

use rstp_support::{Kind, Topo, port_name, ready, wait_until};
use testkit::capture::Capture;
use testkit::netns::format_mac;

/// Kernel STP: listening + learning (2 × forward delay) after a topology
/// change, max age to notice lost information, plus scheduling margin.
const CONVERGE: Duration = Duration::from_secs(30);
/// A broadcast sent once may cross a link a few times (both directions,
/// transient states); a loop makes it thousands of times a second.
const STORM_LIMIT: usize = 20;

fn assert_no_storm(t: &Topo, from: usize, b: usize, port: &str) {
    let n = t.probe_count(from, b, port, Duration::from_secs(1));
    println!("broadcast probe: {n} frame(s) on bridge {b} port {port} in 1 s");
    assert!(n >= 1, "probe never reached bridge {b} port {port}");
    assert!(
        n <= STORM_LIMIT,
        "broadcast storm: {n} frames in 1 s on {port}"
    );
}

/// Captures BPDUs sent by `b` on `port` for a few hello times and checks
/// tshark's decoding: the fields, and the version (0 towards an 802.1D
/// neighbour, 2 between RSTP bridges).
fn check_bpdus(t: &Topo, b: usize, port: &str, root: usize, version: u8) {
    let br = &t.bridges[b];
    let mac = br
        .ns
        .enter_thread({
            let port = port.to_owned();
            move || dsas_node::sys::interface_mac(&port)
        })
        .unwrap()
        .unwrap();
    let cap = Capture::start_filtered(&br.ns, port, Some("stp")).unwrap();
    std::thread::sleep(Duration::from_millis(3500));
    let pkts = cap.stop_and_decode().unwrap();
    let ours: Vec<_> = pkts
        .iter()
        .filter(|p| p.field("eth.src").as_deref() == Some(format_mac(mac).as_str()))
        .collect();
    assert!(
        ours.len() >= 2,
        "expected our BPDUs every hello on {port}, got {} of {}",
        ours.len(),
        pkts.len()
    );
    let root_br = &t.bridges[root];
    for p in ours {
        assert!(p.has_protocol("stp"), "{:?}", p.protocols());
        assert_eq!(p.field("stp.protocol").as_deref(), Some("0x0000"));
        assert_eq!(p.field("stp.version").unwrap(), version.to_string());
        let ty = if version == 0 { "0x00" } else { "0x02" };
        assert_eq!(p.field("stp.type").as_deref(), Some(ty));
        assert_eq!(
            p.field("stp.root.hw").unwrap(),
            format_mac(root_br.mac),
            "root MAC"
        );
        assert_eq!(
            p.field("stp.root.prio").unwrap(),
            root_br.priority.to_string()
        );
        assert_eq!(p.field("stp.bridge.hw").unwrap(), format_mac(br.mac));
        assert_eq!(p.field("stp.bridge.prio").unwrap(), br.priority.to_string());
        let cost: u32 = p.field("stp.root.cost").unwrap().parse().unwrap();
        let ours = br.status();
        assert_eq!(u64::from(cost), ours["root_path_cost"].as_u64().unwrap());
        let ps = br.port_status(port);
        let port_id =
            u16::from_str_radix(&ps["port_id"].as_str().unwrap().replace('.', ""), 16).unwrap();
        assert_eq!(p.field("stp.port").unwrap(), format!("0x{port_id:04x}"));
        assert_eq!(p.field("stp.hello").unwrap().parse::<f64>().unwrap(), 1.0);
        assert_eq!(p.field("stp.max_age").unwrap().parse::<f64>().unwrap(), 6.0);
        assert_eq!(p.field("stp.forward").unwrap().parse::<f64>().unwrap(), 4.0);
        if version == 0 {
            // Config BPDU flags: only TC and TCA (0x81).
            let flags =
                u8::from_str_radix(p.field("stp.flags").unwrap().trim_start_matches("0x"), 16)
                    .unwrap();
            assert_eq!(flags & !0x81, 0, "Config BPDU flags {flags:#04x}");
        } else {
            // A designated port of a converged tree: role Designated (3),
            // learning and forwarding.
            assert_eq!(p.field("stp.flags.port_role").as_deref(), Some("3"));
            assert_eq!(p.field("stp.flags.forwarding").as_deref(), Some("1"));
            assert_eq!(p.field("stp.flags.learning").as_deref(), Some("1"));
        }
    }
}

/// `dsas-node status` prints the bridge as a table (`mstpctl showport`
/// columns): one row per port agreeing with `status --json`, no JSON.
fn check_status_table(t: &Topo, b: usize) {
    let text = t.bridges[b].status_text();
    println!("{text}");
    let json = t.bridges[b].status();
    assert!(!text.contains('{'), "raw JSON in the human status:\n{text}");
    assert!(
        text.contains(&format!(
            "br0 bridge id {}  designated root {}",
            json["bridge_id"].as_str().unwrap(),
            json["root"].as_str().unwrap()
        )),
        "{text}"
    );
    let header: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("PORT "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(header, dsas_node::control::RSTP_PORT_COLUMNS);
    let ports = json["ports"].as_array().unwrap();
    for p in ports {
        let name = p["name"].as_str().unwrap();
        let row: Vec<&str> = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{text}"))
            .split_whitespace()
            .collect();
        let s = |k: &str| {
            p[k].as_str()
                .map_or_else(|| p[k].to_string(), str::to_owned)
        };
        let yn = |k: &str| if p[k] == true { "yes" } else { "no" };
        let proto = if p["send_rstp"] == true {
            "rstp"
        } else {
            "stp"
        };
        // RX/TX move between the two queries: compare the columns before.
        let expected = [
            name.to_owned(),
            s("port_id"),
            s("role"),
            s("state"),
            s("path_cost"),
            s("designated_root"),
            s("designated_cost"),
            s("designated_bridge"),
            s("designated_port"),
            yn("edge").to_owned(),
            yn("p2p").to_owned(),
            proto.to_owned(),
        ];
        assert_eq!(row[..12], expected, "{text}");
    }
}

fn wait_root(t: &Topo, root: usize) {
    let want = t.bridges[root].id();
    let ok = wait_until(|| t.bridges.iter().all(|b| b.root_id() == want), CONVERGE);
    let seen: Vec<String> = t.bridges.iter().map(|b| b.root_id()).collect();
    assert!(ok, "root {want} expected everywhere, bridges see {seen:?}");
}

/// Ring of three: kernel K0, kernel K1, dsas D2 (priority 4096: the root).
#[test]
fn ring_kernel_kernel_dsas() {
    if !ready() {
        return;
    }
    let mut t = Topo::default();
    let k0 = t.bridge(Kind::Kernel, 32768);
    let k1 = t.bridge(Kind::Kernel, 32768);
    let d2 = t.bridge(Kind::Dsas, 4096);
    t.link(k0, k1);
    let l12 = t.link(k1, d2);
    let l20 = t.link(d2, k0);
    let h0 = t.host(k0, 1);
    let h1 = t.host(k1, 2);
    t.start();

    wait_root(&t, d2);
    let took = t.wait_ping(h0, h1, CONVERGE);
    assert!(took.is_some(), "hosts never reached each other");
    let st = t.bridges[d2].status();
    println!("{}", serde_json::to_string_pretty(&st).unwrap());
    assert_eq!(st["is_root"], true);
    for peer in [k0, k1] {
        let ps = t.bridges[d2].port_status(&port_name(peer));
        assert_eq!(ps["role"], "Desg", "{ps}");
        assert_eq!(ps["state"], "forw", "{ps}");
        assert_eq!(
            ps["send_rstp"], false,
            "fell back to STP towards kernel: {ps}"
        );
        assert_eq!(ps["designated_bridge"], t.bridges[d2].id());
        assert_eq!(ps["path_cost"], 2000, "10 Gb/s veth: table 17-3");
        // The kernel's port towards the root is its root port.
        assert_eq!(
            t.bridges[peer].kernel_port_state(&port_name(d2)),
            "forwarding"
        );
    }
    // Exactly one end of the kernel–kernel link blocks the loop.
    let states = [
        t.bridges[k0].kernel_port_state(&port_name(k1)),
        t.bridges[k1].kernel_port_state(&port_name(k0)),
    ];
    assert_eq!(
        states.iter().filter(|s| *s == "blocking").count(),
        1,
        "{states:?}"
    );
    assert_no_storm(&t, h0, d2, &port_name(k0));
    check_bpdus(&t, d2, &port_name(k0), d2, 0);

    // Cut the root's link to K0: K0 must reach the root through K1.
    t.cut(l20);
    let healed = t.wait_ping(h0, h1, CONVERGE);
    println!("ring heal after cutting D2–K0: {healed:?}");
    assert!(healed.is_some(), "tree did not heal");
    assert_no_storm(&t, h0, k1, &port_name(d2));
    let _ = l12;
}

/// Full mesh of four: kernel K0 (priority 4096: the root), kernel K1,
/// dsas D2 and D3 (RSTP between them).
#[test]
fn mesh_kernel_root_two_dsas() {
    if !ready() {
        return;
    }
    let mut t = Topo::default();
    let k0 = t.bridge(Kind::Kernel, 4096);
    let k1 = t.bridge(Kind::Kernel, 32768);
    let d2 = t.bridge(Kind::Dsas, 32768);
    let d3 = t.bridge(Kind::Dsas, 36864);
    let mut root_link_d2 = 0;
    for a in 0..4 {
        for b in a + 1..4 {
            let l = t.link(a, b);
            if (a, b) == (k0, d2) {
                root_link_d2 = l;
            }
        }
    }
    let h2 = t.host(d2, 2);
    let h3 = t.host(d3, 3);
    let h1 = t.host(k1, 1);
    t.start();

    wait_root(&t, k0);
    assert!(t.wait_ping(h2, h3, CONVERGE).is_some());
    assert!(t.wait_ping(h2, h1, CONVERGE).is_some());
    let s2 = t.bridges[d2].status();
    println!("{}", serde_json::to_string_pretty(&s2).unwrap());
    assert_eq!(s2["root"], t.bridges[k0].id());
    assert_eq!(s2["is_root"], false);
    // D2's root port faces K0 directly (cost 2000); towards the kernel
    // bridges it speaks STP, towards D3 RSTP.
    let rp = t.bridges[d2].port_status(&port_name(k0));
    assert_eq!(rp["role"], "Root", "{rp}");
    assert_eq!(rp["state"], "forw");
    assert_eq!(rp["send_rstp"], false);
    assert_eq!(rp["designated_bridge"], t.bridges[k0].id());
    assert_eq!(t.bridges[d2].port_status(&port_name(d3))["send_rstp"], true);
    assert_eq!(t.bridges[d3].port_status(&port_name(d2))["send_rstp"], true);
    // D2 (lower ID) is designated on the D2–D3 link; D3's port there is an
    // Alternate (D3 reaches the root directly).
    let alt = t.bridges[d3].port_status(&port_name(d2));
    assert_eq!(alt["role"], "Altn", "{alt}");
    assert_eq!(alt["state"], "disc");
    check_status_table(&t, d2);
    assert_no_storm(&t, h2, d3, &port_name(k1));
    assert_no_storm(&t, h3, d2, &port_name(d3));
    // (Config BPDUs are checked in the ring: here the kernel bridges are
    // designated on every kernel–dsas link, and STP ports that are not
    // designated stay silent.)
    check_bpdus(&t, d2, &port_name(d3), k0, 2);

    // Cut D2's root port: D2 re-roots through D3 or K1; hosts keep talking.
    t.cut(root_link_d2);
    let healed = t.wait_ping(h2, h1, CONVERGE);
    println!("mesh heal after cutting D2's root port: {healed:?}");
    assert!(healed.is_some(), "tree did not heal");
    assert!(t.wait_ping(h2, h3, CONVERGE).is_some());
    assert_no_storm(&t, h2, k1, &port_name(d3));
}
