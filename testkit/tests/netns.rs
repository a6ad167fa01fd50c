//! The namespace kit against the real kernel (root only; skipped otherwise).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use testkit::capture::Capture;
use testkit::netns::{Device, Link, format_mac};
use testkit::{
    Bridge, Macvlan, MacvlanMode, Netns, Tap, Veth, require_root, require_tool, wait_for,
};

fn netns_list() -> String {
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn listed(name: &str) -> bool {
    netns_list()
        .lines()
        .any(|l| l.split_whitespace().next() == Some(name))
}

fn ping(ns: &Netns, dst: &str) -> bool {
    ns.exec_unchecked(&["ping", "-c", "1", "-W", "2", dst])
        .unwrap()
        .status
        .success()
}

/// Two namespaces joined by a veth, 10.0.0.1/24 and 10.0.0.2/24, both up.
fn pair() -> (Netns, Netns, Veth) {
    let a = Netns::new("tk-a").unwrap();
    let b = Netns::new("tk-b").unwrap();
    let veth = Veth::new(&a, "veth0", &b, "veth0").unwrap();
    a.addr_add(veth.a(), "10.0.0.1/24").unwrap();
    b.addr_add(veth.b(), "10.0.0.2/24").unwrap();
    veth.up().unwrap();
    (a, b, veth)
}

#[test]
fn veth_pair_pings_both_ways_and_fills_neighbour_tables() {
    require_root!();
    require_tool!("ping");
    let (a, b, veth) = pair();
    assert_eq!((veth.a(), veth.b()), ("veth0", "veth0"));
    assert!(ping(&a, "10.0.0.2"), "A cannot ping B");
    assert!(ping(&b, "10.0.0.1"), "B cannot ping A");

    let mac_b = b.mac(veth.b()).unwrap();
    let entry = a
        .neighbor(veth.a(), "10.0.0.2".parse().unwrap())
        .unwrap()
        .expect("no neighbour entry in A");
    assert_eq!(entry.lladdr, Some(mac_b));
    assert!(
        entry.is("REACHABLE") || entry.is("STALE") || entry.is("DELAY"),
        "{entry:?}"
    );

    // Unused address: no answer.
    assert!(!ping(&a, "10.0.0.3"));
}

#[test]
fn link_helpers_set_mac_mtu_and_state() {
    require_root!();
    let (a, _b, veth) = pair();
    let mac = [0x02, 0x00, 0x5e, 0x00, 0x01, 0x07];
    a.set_mac(veth.a(), mac).unwrap();
    a.set_mtu(veth.a(), 1400).unwrap();
    let link: Link = a.link(veth.a()).unwrap();
    assert_eq!(link.mac, Some(mac));
    assert_eq!(link.mtu, 1400);
    assert!(link.is_up());
    assert!(wait_for(
        || a.link(veth.a()).unwrap().has_carrier(),
        Duration::from_secs(5)
    ));
    a.link_down(veth.a()).unwrap();
    assert!(!a.link(veth.a()).unwrap().is_up());
    assert!(a.link("nosuchdev0").is_err());
}

#[test]
fn bridge_with_three_ports_forwards_between_all_hosts() {
    require_root!();
    require_tool!("ping");
    let sw = Netns::new("tk-sw").unwrap();
    let bridge = Bridge::new(&sw, "br0").unwrap();
    let hosts: Vec<(Netns, Veth)> = (1..=3)
        .map(|i| {
            let host = Netns::new("tk-h").unwrap();
            let veth = Veth::new(&host, "eth0", &sw, &format!("p{i}")).unwrap();
            host.addr_add(veth.a(), &format!("10.1.0.{i}/24")).unwrap();
            host.link_up(veth.a()).unwrap();
            bridge.attach(veth.b()).unwrap();
            (host, veth)
        })
        .collect();

    let mut ports = bridge.ports().unwrap();
    ports.sort();
    assert_eq!(ports, ["p1", "p2", "p3"]);
    // STP off and snooping off as configured.
    let detail = sw
        .ip(&["-d", "-j", "link", "show", "dev", bridge.name()])
        .unwrap();
    let detail: serde_json::Value = serde_json::from_slice(&detail.stdout).unwrap();
    let data = &detail[0]["linkinfo"]["info_data"];
    assert_eq!(data["stp_state"], 0, "{data}");
    assert_eq!(data["mcast_snooping"], 0, "{data}");

    for (i, (host, _)) in hosts.iter().enumerate() {
        for j in 1..=3 {
            if j != i + 1 {
                assert!(
                    ping(host, &format!("10.1.0.{j}")),
                    "host {} cannot reach 10.1.0.{j}",
                    i + 1
                );
            }
        }
    }

    bridge.detach(hosts[2].1.b()).unwrap();
    assert_eq!(bridge.ports().unwrap().len(), 2);
    hosts[0].0.ip(&["neigh", "flush", "all"]).unwrap();
    assert!(
        !ping(&hosts[0].0, "10.1.0.3"),
        "detached port still forwards"
    );
}

#[test]
fn tap_and_macvlan_are_created_and_removed() {
    require_root!();
    let ns = Netns::new("tk-dev").unwrap();
    let tap = Tap::new(&ns, "tap0").unwrap();
    assert_eq!(tap.name(), "tap0");
    let link = ns.link("tap0").unwrap();
    assert!(link.mac.is_some());
    let details = ns.ip(&["-d", "link", "show", "dev", "tap0"]).unwrap();
    assert!(
        String::from_utf8_lossy(&details.stdout).contains("tun type tap"),
        "{details:?}"
    );
    // A second TAP asking for the same name gets a suffixed one.
    let tap2 = Tap::new(&ns, "tap0").unwrap();
    assert_eq!(tap2.name(), "tap01");

    // Any `ip link add` kind through `Device` (this host's kernel may lack
    // dummy/vlan/bond; veth is always there).
    let parent = Device::add(&ns, "up0", &["type", "veth", "peer", "name", "up0p"]).unwrap();
    assert!(ns.has_link("up0p"));
    let mv = Macvlan::new(&ns, parent.name(), MacvlanMode::Bridge).unwrap();
    let details = ns.ip(&["-d", "link", "show", "dev", mv.name()]).unwrap();
    let text = String::from_utf8_lossy(&details.stdout);
    assert!(text.contains("macvlan mode bridge"), "{text}");
    assert!(
        text.contains(&format!("{}@{}", mv.name(), parent.name())),
        "{text}"
    );
    let err = Device::add(&ns, "bad0", &["type", "no-such-kind"]).unwrap_err();
    assert!(err.to_string().contains("no-such-kind"), "{err}");

    drop(tap);
    assert!(!ns.has_link("tap0"));
    assert!(ns.has_link("tap01"));
    drop(mv);
    drop(parent);
    assert!(!ns.has_link("up0") && !ns.has_link("up0p"));
}

#[test]
fn names_are_unique_across_parallel_creators() {
    require_root!();
    let handles: Vec<_> = (0..6)
        .map(|_| {
            std::thread::spawn(|| {
                let a = Netns::new("tk-par").unwrap();
                let b = Netns::new("tk-par").unwrap();
                let veth = Veth::new(&a, "veth0", &b, "veth0").unwrap();
                // Same name asked for twice in one namespace: the second gets a suffix.
                let veth2 = Veth::new(&a, "veth0", &b, "veth0").unwrap();
                assert_eq!((veth2.a(), veth2.b()), ("veth01", "veth01"));
                assert!(a.has_link(veth.a()) && b.has_link(veth.b()));
                (a, b, veth, veth2)
            })
        })
        .collect();
    let all: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let names: HashSet<String> = all
        .iter()
        .flat_map(|(a, b, ..)| [a.name().to_owned(), b.name().to_owned()])
        .collect();
    assert_eq!(names.len(), 12);
    let list = netns_list();
    for name in &names {
        assert!(
            list.lines().any(|l| l.starts_with(name.as_str())),
            "{name} not listed"
        );
    }
    drop(all);
    for name in &names {
        assert!(!listed(name), "{name} left behind");
    }
}

#[test]
fn teardown_removes_namespace_on_drop_and_on_panic() {
    require_root!();
    let (a, b, veth) = pair();
    let (na, nb) = (a.name().to_owned(), b.name().to_owned());
    assert!(listed(&na) && listed(&nb));
    // Devices hold the namespace: dropping the handle first is safe.
    drop(a);
    assert!(listed(&na), "namespace deleted while its veth is alive");
    drop(veth);
    assert!(!listed(&na));
    drop(b);
    assert!(!listed(&nb));

    let name = std::panic::catch_unwind(|| {
        let ns = Netns::new("tk-panic").unwrap();
        let _tap = Tap::new(&ns, "tap0").unwrap();
        panic!("{}", ns.name());
    })
    .unwrap_err();
    let name = name.downcast_ref::<String>().unwrap();
    assert!(name.starts_with("tk-panic-"));
    assert!(!listed(name), "{name} survived a panic");
}

#[test]
fn enter_thread_sees_the_namespace_interfaces() {
    require_root!();
    let (a, _b, veth) = pair();
    let mac = a.mac(veth.a()).unwrap();
    let ifindex = a.link(veth.a()).unwrap().ifindex;
    let (seen_mac, seen_index, names) = a
        .enter_thread(|| {
            let names: Vec<String> = nix::net::if_::if_nameindex()
                .unwrap()
                .iter()
                .map(|i| i.name().to_string_lossy().into_owned())
                .collect();
            (
                dsas_node::sys::interface_mac(veth.a()).unwrap(),
                dsas_node::sys::if_nametoindex(veth.a()).unwrap(),
                names,
            )
        })
        .unwrap();
    assert_eq!(
        seen_mac,
        mac,
        "{} vs {}",
        format_mac(seen_mac),
        format_mac(mac)
    );
    assert_eq!(seen_index, ifindex);
    let mut names = names;
    names.sort();
    assert_eq!(names, ["lo", "veth0"]);

    // The calling thread stays where it was.
    let root_mac = dsas_node::sys::interface_mac(veth.a());
    assert!(root_mac.is_err() || root_mac.unwrap() != mac);

    // A panic inside the closure reaches the caller.
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        a.enter_thread(|| panic!("inside")).unwrap();
    }))
    .unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"inside"));
}

#[test]
fn sysctls_are_per_namespace() {
    require_root!();
    let (a, b, veth) = pair();
    let key = format!("net.ipv4.conf.{}.arp_accept", veth.a());
    assert_eq!(a.sysctl_get(&key).unwrap(), "0");
    a.sysctl(&key, "1").unwrap();
    assert_eq!(a.sysctl_get(&key).unwrap(), "1");
    assert_eq!(
        b.sysctl_get(&format!("net.ipv4.conf.{}.arp_accept", veth.b()))
            .unwrap(),
        "0"
    );
    let err = a
        .sysctl("net.ipv4.conf.nosuchdev.arp_accept", "1")
        .unwrap_err();
    assert!(err.to_string().contains("nosuchdev"), "{err}");
}

#[test]
fn child_process_output_is_captured_and_killed_on_drop() {
    require_root!();
    let ns = Netns::new("tk-proc").unwrap();
    let mut child = ns
        .spawn(&[
            "sh",
            "-c",
            "ip -o link show lo; echo ready >&2; exec sleep 60",
        ])
        .unwrap();
    child
        .wait_for_stderr("ready", Duration::from_secs(5))
        .unwrap();
    assert!(child.stdout().unwrap().contains("lo:"));
    let pid = child.id();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(child.try_wait().unwrap(), None);
    drop(child);
    // Reaped: the pid is gone (or reused by an unrelated process that is not `sleep 60`).
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(!cmdline.starts_with("sleep"), "{cmdline}");

    let mut early = ns.spawn(&["sh", "-c", "echo boom >&2; exit 3"]).unwrap();
    let err = early
        .wait_for_stderr("never printed", Duration::from_secs(5))
        .unwrap_err();
    assert!(err.to_string().contains("boom"), "{err}");
    assert_eq!(early.try_wait().unwrap().and_then(|s| s.code()), Some(3));
}

#[test]
fn exec_errors_name_command_status_and_stderr() {
    require_root!();
    let ns = Netns::new("tk-err").unwrap();
    let err = ns
        .ip(&["link", "set", "dev", "nosuchdev", "up"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ip -n tk-err-") && err.contains("nosuchdev"),
        "{err}"
    );
    assert!(err.contains("exit status"), "{err}");
    let err = ns.run("echo oops >&2; exit 4").unwrap_err().to_string();
    assert!(
        err.contains("oops") && err.contains("exit status: 4"),
        "{err}"
    );
}

#[test]
fn live_capture_decodes_traffic_with_tshark() {
    require_root!();
    require_tool!("dumpcap");
    require_tool!("tshark");
    require_tool!("ping");
    let (a, b, veth) = pair();
    let capture = Capture::start(&b, veth.b()).unwrap();
    assert!(ping(&a, "10.0.0.2"));
    let packets = capture.stop_and_decode().unwrap();
    let requests: Vec<_> = packets
        .iter()
        .filter(|p| p.field("icmp.type").as_deref() == Some("8"))
        .collect();
    assert_eq!(requests.len(), 1, "{packets:?}");
    assert_eq!(requests[0].field("ip.src").as_deref(), Some("10.0.0.1"));
    assert!(
        packets
            .iter()
            .any(|p| p.field("arp.opcode").as_deref() == Some("1"))
    );
    let ip: IpAddr = "10.0.0.1".parse().unwrap();
    assert!(b.neighbor(veth.b(), ip).unwrap().is_some());
}
