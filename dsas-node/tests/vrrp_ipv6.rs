//! VRRPv3 over IPv6 (RFC 5798 §5.1.2, §7.4; reference §1, §6): dsas-node
//! against keepalived 2.2.7 and FRR 8.4 vrrpd, each pairing both ways:
//! election by priority, graceful stop (priority 0, takeover after
//! Skew_Time), SIGKILL of the Master (takeover within
//! Master_Down_Interval). The client pings the VIP with `ping -6` and its
//! neighbour cache entry (from the unsolicited NA / NDP) names the owner
//! through the bridge FDB. tshark decodes the node's adverts (link-local
//! source, ff02::12, hop limit 255, good checksum) and NAs. Root only;
//! skipped without the peers.
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

use std::net::IpAddr;
use std::time::Duration;

use testkit::capture::Capture;
use vrrp_support::{
    Daemon, DsasNode, IFNAME, Impl, Lan, Spec, VIP6, VIP6_LL, VrrpState, epoch_now, have,
    load_margin, start,
};

type D = Box<dyn Daemon + Send>;

/// Margin on protocol timers (scheduling, notify script fork, polling).
const MARGIN: f64 = 0.35;

fn within(what: &str, t: f64, lo: f64, hi: f64) {
    let hi = hi + load_margin();
    println!("{what}: {t:.3} s (expected {lo:.3}..{hi:.3})");
    assert!(
        t >= lo && t <= hi,
        "{what}: {t:.3} s outside {lo:.3}..{hi:.3}"
    );
}

fn owner(lan: &Lan, d: [&D; 2], m: usize) {
    d[m].wait_state(VrrpState::Master, Duration::from_secs(10))
        .unwrap();
    d[1 - m]
        .wait_state(VrrpState::Backup, Duration::from_secs(4))
        .unwrap();
    if let Err(seen) = lan.wait_client_owner_of(IpAddr::V6(VIP6), m, Duration::from_secs(5)) {
        panic!("client sees the IPv6 VIP at {seen:?}, expected router {m}");
    }
}

/// A (200) and B (100): A Master; graceful stop of A → B after Skew_Time;
/// A restarted preempts; SIGKILL of A → B within MDI.
fn lifecycle6(tag: &str, a_impl: Impl, b_impl: Impl) {
    lifecycle6_with(tag, a_impl, b_impl, |_, _, _| {});
}

/// [`lifecycle6`] with `f(spec, router index)` applied to both specs.
fn lifecycle6_with(tag: &str, a_impl: Impl, b_impl: Impl, f: fn(&mut Spec, &Lan, usize)) {
    testkit::require_root!();
    if !have(a_impl) || !have(b_impl) {
        return;
    }
    let lan = Lan::new(tag, 2);
    let mut spec_a = Spec::new(3, 200).v6();
    let mut spec_b = Spec::new(3, 100).v6();
    f(&mut spec_a, &lan, 0);
    f(&mut spec_b, &lan, 1);
    let mdi_b = spec_b.master_down_interval().as_secs_f64();
    let skew_b = spec_b.skew_time().as_secs_f64();
    let b = start(b_impl, &lan.routers[1], &spec_b);
    let mut a = start(a_impl, &lan.routers[0], &spec_a);
    owner(&lan, [&a, &b], 0);

    std::thread::sleep(Duration::from_millis(1500));
    let t_term = epoch_now();
    a.stop();
    b.wait_state(VrrpState::Master, Duration::from_secs(5))
        .unwrap();
    within(
        "graceful handover",
        b.entered(VrrpState::Master).unwrap() - t_term,
        skew_b - 0.05,
        skew_b + MARGIN,
    );
    if let Err(seen) = lan.wait_client_owner_of(IpAddr::V6(VIP6), 1, Duration::from_secs(5)) {
        panic!("client sees the IPv6 VIP at {seen:?} after the handover");
    }

    drop(a);
    let mut a = start(a_impl, &lan.routers[0], &spec_a);
    owner(&lan, [&a, &b], 0);

    std::thread::sleep(Duration::from_millis(1300));
    let t_kill = epoch_now();
    a.kill();
    lan.flush_vip6(0);
    b.wait_state(VrrpState::Master, Duration::from_secs(8))
        .unwrap();
    within(
        "SIGKILL takeover",
        b.entered(VrrpState::Master).unwrap() - t_kill,
        mdi_b - 1.05,
        mdi_b + MARGIN,
    );
    if let Err(seen) = lan.wait_client_owner_of(IpAddr::V6(VIP6), 1, Duration::from_secs(5)) {
        panic!("client sees the IPv6 VIP at {seen:?} after SIGKILL");
    }
}

#[test]
fn ipv6_keepalived_lifecycle_dsas_higher() {
    lifecycle6("v6kd", Impl::Dsas, Impl::Keepalived);
}

#[test]
fn ipv6_keepalived_lifecycle_keepalived_higher() {
    lifecycle6("v6kk", Impl::Keepalived, Impl::Dsas);
}

/// keepalived's unicast mode over IPv6: adverts from each router's global
/// address (`unicast_src_ip`) to the other's.
fn unicast6(s: &mut Spec, lan: &Lan, me: usize) {
    let (mine, peer) = (&lan.routers[me], &lan.routers[1 - me]);
    mine.add_addr6();
    s.unicast_peers = vec![IpAddr::V6(peer.addr6())];
}

#[test]
fn ipv6_keepalived_unicast_dsas_higher() {
    lifecycle6_with("v6ud", Impl::Dsas, Impl::Keepalived, unicast6);
}

#[test]
fn ipv6_keepalived_unicast_keepalived_higher() {
    lifecycle6_with("v6uk", Impl::Keepalived, Impl::Dsas, unicast6);
}

#[test]
fn ipv6_frr_lifecycle_dsas_higher() {
    lifecycle6("v6fd", Impl::Dsas, Impl::Frr);
}

#[test]
fn ipv6_frr_lifecycle_frr_higher() {
    lifecycle6("v6ff", Impl::Frr, Impl::Dsas);
}

/// tshark on the node's IPv6 adverts and unsolicited NAs.
#[test]
fn tshark_decodes_ipv6_adverts_and_na() {
    testkit::require_root!();
    testkit::require_tool!("dumpcap");
    let lan = Lan::new("v6ts", 1);
    let r = &lan.routers[0];
    let mac = testkit::netns::format_mac(r.mac);
    let capture = Capture::start_filtered(&r.ns, IFNAME, Some("ip6")).unwrap();
    let mut node = DsasNode::start(r, &Spec::new(3, 150).v6());
    node.wait_state(VrrpState::Master, Duration::from_secs(8))
        .unwrap();
    std::thread::sleep(Duration::from_millis(2200));
    // The client's neighbour cache has the node's MAC for the VIP.
    assert!(lan.ping_addr(IpAddr::V6(VIP6)), "ping -6 of the VIP");
    assert_eq!(lan.client_mac_of(IpAddr::V6(VIP6)), Some(r.mac));
    node.stop();
    let packets = capture.stop_after(Duration::from_millis(300)).unwrap();
    let packets = packets.decode().unwrap();
    let vrrp: Vec<_> = packets.iter().filter(|p| p.has_protocol("vrrp")).collect();
    assert!(vrrp.len() >= 3, "{} VRRP packets", vrrp.len());
    for p in &vrrp {
        let f = |n: &str| p.field(n).unwrap_or_else(|| panic!("no {n} in {p:#?}"));
        assert!(f("ipv6.src").starts_with("fe80::"), "{}", f("ipv6.src"));
        assert_eq!(f("ipv6.dst"), "ff02::12");
        assert_eq!(f("ipv6.hlim"), "255");
        assert_eq!(f("eth.src"), mac);
        assert_eq!(f("vrrp.version"), "3");
        assert_eq!(f("vrrp.virt_rtr_id"), "51");
        assert_eq!(f("vrrp.addr_count"), "2");
        assert_eq!(
            p.fields("vrrp.ipv6_addr"),
            [VIP6_LL.to_string(), VIP6.to_string()]
        );
        assert_eq!(f("vrrp.checksum.status"), "1", "bad checksum: {p:#?}");
    }
    let prios: Vec<String> = vrrp.iter().map(|p| p.field("vrrp.prio").unwrap()).collect();
    assert_eq!(prios.last().map(String::as_str), Some("0"), "{prios:?}");
    let na: Vec<_> = packets
        .iter()
        .filter(|p| p.field("icmpv6.type").as_deref() == Some("136"))
        .filter(|p| p.field("icmpv6.nd.na.target_address").as_deref() == Some(&VIP6.to_string()))
        .filter(|p| p.field("ipv6.dst").as_deref() == Some("ff02::1"))
        .collect();
    assert!(!na.is_empty(), "no unsolicited NA for the VIP");
    for p in &na {
        assert_eq!(
            p.field("ipv6.src").as_deref(),
            Some(VIP6.to_string().as_str())
        );
        assert_eq!(p.field("ipv6.hlim").as_deref(), Some("255"));
        assert_eq!(
            p.field("icmpv6.opt.linkaddr").as_deref(),
            Some(mac.as_str())
        );
        assert_eq!(p.field("icmpv6.checksum.status").as_deref(), Some("1"));
    }
    println!("{} adverts, {} unsolicited NAs", vrrp.len(), na.len());
}

/// `use_vmac` over IPv6 against keepalived (also on its VMAC): the node's
/// adverts and unsolicited NAs leave from 00:00:5e:00:02:VRID, the adverts
/// with the parent's link-local source (as keepalived sends them); the
/// client's neighbour entry for the VIP is the VMAC, learned on the
/// Master's port, and follows keepalived after a graceful stop.
#[test]
fn ipv6_vmac_adverts_and_na_carry_the_virtual_mac() {
    testkit::require_root!();
    testkit::require_tool!("dumpcap");
    if !have(Impl::Keepalived) {
        return;
    }
    let lan = Lan::new("v6vm", 2);
    let r = &lan.routers[0];
    let vmac = [0, 0, 0x5e, 0, 2, 51];
    let vmac_s = "00:00:5e:00:02:33";
    let ll =
        r.ns.run(&format!(
            "ip -6 -o addr show dev {IFNAME} scope link | awk '{{print $4}}' | cut -d/ -f1"
        ))
        .unwrap();
    let ll = String::from_utf8_lossy(&ll.stdout).trim().to_owned();
    assert!(ll.starts_with("fe80::"), "{ll:?}");
    let capture = Capture::start_filtered(&r.ns, IFNAME, Some("ip6")).unwrap();
    let mut spec_a = Spec::new(3, 150).v6();
    spec_a.use_vmac = true;
    let mut spec_b = Spec::new(3, 100).v6();
    spec_b.use_vmac = true;
    let mut a = DsasNode::start(r, &spec_a);
    let b = vrrp_support::Keepalived::start(&lan.routers[1], &spec_b);
    a.wait_state(VrrpState::Master, Duration::from_secs(10))
        .unwrap();
    if let Err(seen) = lan.wait_client_owner_of(IpAddr::V6(VIP6), 0, Duration::from_secs(5)) {
        panic!("client sees the IPv6 VIP at {seen:?}");
    }
    assert_eq!(lan.client_mac_of(IpAddr::V6(VIP6)), Some(vmac));
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(b.state(), Some(VrrpState::Backup));
    a.stop();
    b.wait_state(VrrpState::Master, Duration::from_secs(5))
        .unwrap();
    if let Err(seen) = lan.wait_client_owner_of(IpAddr::V6(VIP6), 1, Duration::from_secs(5)) {
        panic!("client sees the IPv6 VIP at {seen:?} after the handover");
    }
    assert_eq!(lan.client_mac_of(IpAddr::V6(VIP6)), Some(vmac));

    let packets = capture.stop_after(Duration::from_millis(300)).unwrap();
    let packets = packets.decode().unwrap();
    let ours: Vec<_> = packets
        .iter()
        .filter(|p| p.has_protocol("vrrp"))
        .filter(|p| p.field("ipv6.src").as_deref() == Some(ll.as_str()))
        .collect();
    assert!(ours.len() >= 3, "{} adverts from {ll}", ours.len());
    for p in &ours {
        assert_eq!(p.field("eth.src").as_deref(), Some(vmac_s), "{p:#?}");
        assert_eq!(p.field("ipv6.dst").as_deref(), Some("ff02::12"));
        assert_eq!(p.field("ipv6.hlim").as_deref(), Some("255"));
        assert_eq!(p.field("vrrp.checksum.status").as_deref(), Some("1"));
    }
    assert_eq!(
        ours.last().unwrap().field("vrrp.prio").as_deref(),
        Some("0")
    );
    let na: Vec<_> = packets
        .iter()
        .filter(|p| p.field("icmpv6.type").as_deref() == Some("136"))
        .filter(|p| p.field("icmpv6.nd.na.target_address").as_deref() == Some(&VIP6.to_string()))
        .collect();
    assert!(!na.is_empty(), "no unsolicited NA");
    for p in &na {
        assert_eq!(p.field("eth.src").as_deref(), Some(vmac_s));
        assert_eq!(p.field("icmpv6.opt.linkaddr").as_deref(), Some(vmac_s));
    }
    println!(
        "{} adverts from {ll} via {vmac_s}, {} NAs",
        ours.len(),
        na.len()
    );
}

/// An IPv6 VMAC the operator made: the node puts the parent's link-local
/// address on it for its adverts (as keepalived does) and, at shutdown,
/// takes that address off again and leaves the VMAC itself in place.
#[test]
fn ipv6_operator_vmac_is_left_as_found() {
    testkit::require_root!();
    let lan = Lan::new("v6ov", 1);
    let r = &lan.routers[0];
    let vmac_if = "vrrp6.51";
    r.ns.ip(&[
        "link",
        "add",
        vmac_if,
        "link",
        IFNAME,
        "address",
        "00:00:5e:00:02:33",
        "type",
        "macvlan",
        "mode",
        "private",
    ])
    .unwrap();
    r.ns.link_up(vmac_if).unwrap();
    let link_local = |dev: &str| {
        let out =
            r.ns.run(&format!(
                "ip -6 -o addr show dev {dev} scope link | awk '{{print $4}}' | cut -d/ -f1"
            ))
            .unwrap();
        let mut all: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        all.sort();
        all
    };
    let parent_ll = link_local(IFNAME);
    assert_eq!(parent_ll.len(), 1, "{parent_ll:?}");
    let before = link_local(vmac_if);
    assert!(!before.contains(&parent_ll[0]), "{before:?}");
    let mut spec = Spec::new(3, 150).v6();
    spec.use_vmac = true;
    let mut node = DsasNode::start(r, &spec);
    node.wait_state(VrrpState::Master, Duration::from_secs(10))
        .unwrap();
    assert!(
        link_local(vmac_if).contains(&parent_ll[0]),
        "the parent's link-local address is on the VMAC while running"
    );
    node.stop();
    assert!(r.ns.has_link(vmac_if), "the operator's VMAC is kept");
    assert_eq!(link_local(vmac_if), before, "the VMAC's addresses as found");
}
