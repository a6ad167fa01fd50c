//! Accept_Mode (RFC 5798 §6.1, §6.4.3) in the dsas-node VRRP role, as
//! keepalived's `accept` / `no_accept`: with `accept = false` a non-owner
//! Master drops packets addressed to the VIP (nftables table of its own)
//! while still answering ARP for it, so the client's ARP entry points at
//! it but pings fail; ownership still moves to keepalived (which accepts)
//! on a graceful stop, and the table goes with the node. With the default
//! (`accept` on) the VIP answers. Root only; skipped without keepalived or
//! nft.
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

use vrrp_support::{Daemon, DsasNode, Impl, Keepalived, Lan, Spec, VrrpState, have};

fn nft_tables(lan: &Lan, i: usize) -> String {
    let out = lan.routers[i].ns.exec(&["nft", "list", "tables"]).unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether the client's ARP entry for the VIP points at router `i`.
fn client_arp_at(lan: &Lan, i: usize) -> bool {
    lan.client_vip_mac()
        .and_then(|m| lan.port_of(m))
        .is_some_and(|p| p == lan.routers[i].port)
}

#[test]
fn accept_off_drops_pings_to_the_vip_while_arp_moves() {
    testkit::require_root!();
    testkit::require_tool!("nft");
    if !have(Impl::Keepalived) {
        return;
    }
    let lan = Lan::new("vac", 2);
    let mut spec_a = Spec::new(3, 150);
    spec_a.node_instance = "accept = false\n".to_owned();
    let mut a = DsasNode::start(&lan.routers[0], &spec_a);
    let b = Keepalived::start(&lan.routers[1], &Spec::new(3, 100));
    a.wait_state(VrrpState::Master, Duration::from_secs(10))
        .unwrap();
    b.wait_state(VrrpState::Backup, Duration::from_secs(2))
        .unwrap();
    // ARP for the VIP answered by the node, pings to it dropped.
    assert!(
        testkit::wait_for(
            || {
                lan.ping_once();
                client_arp_at(&lan, 0)
            },
            Duration::from_secs(5)
        ),
        "client ARP entry for the VIP: {:?}",
        lan.client_vip_mac()
    );
    for _ in 0..3 {
        assert!(!lan.ping_once(), "ping to the VIP answered with accept off");
    }
    // The node itself still answers on its own address.
    assert!(
        lan.client
            .exec_unchecked(&["ping", "-c1", "-W1", "-n", &lan.routers[0].addr.to_string()])
            .is_ok_and(|o| o.status.success())
    );
    assert!(
        nft_tables(&lan, 0).contains("dsas_vrrp_dsas1"),
        "{}",
        nft_tables(&lan, 0)
    );
    // Graceful stop: keepalived (accept by default) takes over; the VIP
    // answers there and the node's table is gone.
    a.stop();
    b.wait_state(VrrpState::Master, Duration::from_secs(5))
        .unwrap();
    lan.wait_client_owner(1, Duration::from_secs(5)).unwrap();
    assert!(
        !nft_tables(&lan, 0).contains("dsas_vrrp"),
        "{}",
        nft_tables(&lan, 0)
    );
    drop(a);

    // Default (accept on): the node answers for the VIP once it preempts.
    let a = DsasNode::start(&lan.routers[0], &Spec::new(3, 150));
    a.wait_state(VrrpState::Master, Duration::from_secs(10))
        .unwrap();
    lan.wait_client_owner(0, Duration::from_secs(5)).unwrap();
    assert!(
        !nft_tables(&lan, 0).contains("dsas_vrrp"),
        "{}",
        nft_tables(&lan, 0)
    );
}
