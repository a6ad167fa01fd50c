//! `use_vmac` in the dsas-node VRRP role against keepalived 2.2.7 (also on
//! its VMAC): adverts and gratuitous ARPs leave from the virtual MAC
//! 00:00:5e:00:01:VRID (RFC 5798 §7.3) with the parent's primary address as
//! IP source, as keepalived sends them; the client resolves the VIP to the
//! VMAC, and the bridge learns it on the Master's port. Root only; skipped
//! without keepalived or dumpcap.
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

use std::time::Duration;

use testkit::capture::Capture;
use vrrp_support::{Daemon, DsasNode, IFNAME, Impl, Keepalived, Lan, Spec, VIP, VrrpState, have};

#[test]
fn vmac_adverts_and_garps_carry_the_virtual_mac() {
    testkit::require_root!();
    testkit::require_tool!("dumpcap");
    if !have(Impl::Keepalived) {
        return;
    }
    let lan = Lan::new("vvm", 2);
    let r = &lan.routers[0];
    let vmac = [0, 0, 0x5e, 0, 1, 51];
    let vmac_s = "00:00:5e:00:01:33";
    // As with keepalived's VMAC, the operator sets `arp_announce` 2: the
    // Master's own ARP requests (to answer the client) leave from the
    // parent NIC, and with the VIP as sender address they would re-point
    // the client's entry for the VIP at the NIC's MAC.
    for router in &lan.routers {
        router
            .ns
            .sysctl("net.ipv4.conf.all.arp_announce", "2")
            .unwrap();
    }
    // Strict reverse-path filtering everywhere: keepalived clears
    // all.rp_filter (raising each interface to it) so that the VMAC's own
    // rp_filter 0 takes effect; the node must do the same and put it back.
    r.ns.sysctl("net.ipv4.conf.all.rp_filter", "1").unwrap();
    let before = sysctls(r);
    assert_eq!(before.all_rp_filter, "1");
    let capture = Capture::start_filtered(&r.ns, IFNAME, Some("ip proto 112 or arp")).unwrap();
    let mut spec_a = Spec::new(3, 150);
    spec_a.use_vmac = true;
    let mut spec_b = Spec::new(3, 100);
    spec_b.use_vmac = true;
    let mut a = DsasNode::start(r, &spec_a);
    let b = Keepalived::start(&lan.routers[1], &spec_b);
    a.wait_state(VrrpState::Master, Duration::from_secs(10))
        .unwrap();
    lan.wait_client_owner(0, Duration::from_secs(5)).unwrap();
    assert_eq!(lan.client_vip_mac(), Some(vmac), "client ARP entry");
    // keepalived's VMAC settings (vrrp_if_config.c).
    let vmac_if = "vrrp.51";
    for (key, want) in [
        ("arp_ignore", "1"),
        ("accept_local", "1"),
        ("rp_filter", "0"),
        ("promote_secondaries", "1"),
    ] {
        let got =
            r.ns.sysctl_get(&format!("net/ipv4/conf/{vmac_if}/{key}"))
                .unwrap();
        assert_eq!(got, want, "{vmac_if} {key}");
    }
    let during = sysctls(r);
    assert_eq!(during.parent_arp_ignore, "1");
    assert_eq!(during.parent_arp_filter, "1");
    assert_eq!(during.all_rp_filter, "0");
    // Raised to the old all.rp_filter (1) where lower.
    let raised = |v: &str| {
        if v == "0" {
            "1".to_owned()
        } else {
            v.to_owned()
        }
    };
    assert_eq!(during.parent_rp_filter, raised(&before.parent_rp_filter));
    assert_eq!(during.lo_rp_filter, raised(&before.lo_rp_filter));
    // keepalived hears the VMAC-sourced adverts and stays Backup.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(b.state(), Some(VrrpState::Backup));
    a.stop();
    assert_eq!(sysctls(r), before, "settings put back at shutdown");
    assert!(!r.ns.has_link(vmac_if), "the VMAC the node made is deleted");
    b.wait_state(VrrpState::Master, Duration::from_secs(5))
        .unwrap();
    // The same VMAC now answers from keepalived's port.
    lan.wait_client_owner(1, Duration::from_secs(5)).unwrap();
    assert_eq!(lan.client_vip_mac(), Some(vmac));

    let packets = capture.stop_after(Duration::from_millis(300)).unwrap();
    let packets = packets.decode().unwrap();
    let adverts: Vec<_> = packets
        .iter()
        .filter(|p| p.has_protocol("vrrp"))
        .filter(|p| p.field("ip.src").as_deref() == Some(&r.addr.to_string()))
        .collect();
    assert!(
        adverts.len() >= 3,
        "{} adverts from the node",
        adverts.len()
    );
    for p in &adverts {
        let f = |n: &str| p.field(n).unwrap_or_else(|| panic!("no {n} in {p:#?}"));
        assert_eq!(f("eth.src"), vmac_s, "advert source MAC");
        assert_eq!(f("eth.dst"), "01:00:5e:00:00:12");
        assert_eq!(f("ip.ttl"), "255");
        assert_eq!(f("vrrp.checksum.status"), "1", "bad checksum: {p:#?}");
    }
    assert_eq!(
        adverts.last().unwrap().field("vrrp.prio").as_deref(),
        Some("0"),
        "graceful stop sends priority 0 from the VMAC"
    );
    let garps: Vec<_> = packets
        .iter()
        .filter(|p| p.has_protocol("arp"))
        .filter(|p| p.field("arp.src.proto_ipv4").as_deref() == Some(&VIP.to_string()))
        .filter(|p| p.field("arp.dst.proto_ipv4").as_deref() == Some(&VIP.to_string()))
        .collect();
    assert!(!garps.is_empty(), "no gratuitous ARP seen");
    for p in &garps {
        assert_eq!(p.field("eth.src").as_deref(), Some(vmac_s));
        assert_eq!(p.field("arp.src.hw_mac").as_deref(), Some(vmac_s));
    }
    println!(
        "{} adverts and {} GARPs from {vmac_s}",
        adverts.len(),
        garps.len()
    );
}

/// The settings the node changes outside its VMAC.
#[derive(Debug, PartialEq, Eq)]
struct Sysctls {
    all_rp_filter: String,
    parent_rp_filter: String,
    parent_arp_ignore: String,
    parent_arp_filter: String,
    lo_rp_filter: String,
}

fn sysctls(r: &vrrp_support::RouterNs) -> Sysctls {
    let get = |k: &str| r.ns.sysctl_get(k).unwrap();
    Sysctls {
        all_rp_filter: get("net.ipv4.conf.all.rp_filter"),
        parent_rp_filter: get(&format!("net.ipv4.conf.{IFNAME}.rp_filter")),
        parent_arp_ignore: get(&format!("net.ipv4.conf.{IFNAME}.arp_ignore")),
        parent_arp_filter: get(&format!("net.ipv4.conf.{IFNAME}.arp_filter")),
        lo_rp_filter: get("net.ipv4.conf.lo.rp_filter"),
    }
}
