//! Raw VRRP sockets between two namespaces over a veth (root only), checked
//! by the receiving socket and by tshark.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    reason = "test code"
)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use dsas_node::vrrp_io::{
    VRRP_GROUP_V4, VRRP_GROUP_V6, VrrpSocketV4, VrrpSocketV6, link_local_address,
};
use testkit::capture::Capture;
use testkit::{Netns, Veth, require_root};
use tokio::runtime::Runtime;
use tokio::time::timeout;

fn pair() -> (Netns, Netns, Veth) {
    let a = Netns::new("vs-a").unwrap();
    let b = Netns::new("vs-b").unwrap();
    let veth = Veth::new(&a, "veth0", &b, "veth0").unwrap();
    for (ns, dev) in [(&a, veth.a()), (&b, veth.b())] {
        ns.sysctl(&format!("net.ipv6.conf.{dev}.accept_dad"), "0")
            .unwrap();
    }
    a.addr_add(veth.a(), "10.0.0.1/24").unwrap();
    b.addr_add(veth.b(), "10.0.0.2/24").unwrap();
    veth.up().unwrap();
    (a, b, veth)
}

/// An IPv4 VRRP socket in each namespace, registered with `rt`.
fn sockets_v4(
    rt: &Runtime,
    (a, dev_a): (&Netns, &str),
    (b, dev_b): (&Netns, &str),
) -> (VrrpSocketV4, VrrpSocketV4) {
    let open = |ns: &Netns, dev: &str| {
        let h = rt.handle().clone();
        ns.enter_thread(move || {
            let _g = h.enter();
            VrrpSocketV4::open(dev).unwrap()
        })
        .unwrap()
    };
    (open(a, dev_a), open(b, dev_b))
}

fn rfc1071(data: &[u8]) -> u16 {
    let mut sum = 0_u32;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap()
}

/// VRRPv2 advert (RFC 3768 §5.3): VRID 51, priority 100, one address.
fn advert_v2() -> Vec<u8> {
    let mut p = vec![0x21, 51, 100, 1, 0, 1, 0, 0, 10, 0, 0, 100];
    p.extend_from_slice(&[0; 8]);
    let c = rfc1071(&p);
    p[6..8].copy_from_slice(&c.to_be_bytes());
    p
}

#[test]
fn ipv4_advert_crosses_with_ttl_255_and_tos_c0() {
    require_root!();
    testkit::require_tool!("dumpcap");
    let (a, b, veth) = pair();
    let rt = Runtime::new().unwrap();
    let (tx, rx) = sockets_v4(&rt, (&a, veth.a()), (&b, veth.b()));
    assert_eq!(rx.ifindex(), b.link(veth.b()).unwrap().ifindex);
    let capture = Capture::start(&a, veth.a()).unwrap();
    let payload = advert_v2();
    rt.block_on(async {
        assert_eq!(tx.send_to(VRRP_GROUP_V4, &payload).await.unwrap(), 20);
        let got = timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.src, IpAddr::from([10, 0, 0, 1]));
        assert_eq!(got.dst, IpAddr::from(VRRP_GROUP_V4));
        assert_eq!(got.ttl, 255);
        assert_eq!(got.payload, payload);
        // IP_MULTICAST_LOOP off: the sender never hears itself.
        assert!(
            timeout(Duration::from_millis(300), tx.recv())
                .await
                .is_err()
        );
        // Unicast (keepalived unicast_peer) the other way.
        rx.send_to(Ipv4Addr::new(10, 0, 0, 1), &payload)
            .await
            .unwrap();
        let got = timeout(Duration::from_secs(5), tx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (got.src, got.dst, got.ttl),
            (
                IpAddr::from([10, 0, 0, 2]),
                IpAddr::from([10, 0, 0, 1]),
                255
            )
        );
    });
    let packets = capture.stop_and_decode().unwrap();
    let sent: Vec<_> = packets
        .iter()
        .filter(|p| p.field("ip.src").as_deref() == Some("10.0.0.1"))
        .filter(|p| p.field("ip.proto").as_deref() == Some("112"))
        .collect();
    assert_eq!(sent.len(), 1, "{packets:#?}");
    let p = sent[0];
    assert_eq!(p.field("ip.ttl").as_deref(), Some("255"));
    assert_eq!(p.field("ip.dst").as_deref(), Some("224.0.0.18"));
    assert_eq!(p.field("ip.dsfield").as_deref(), Some("0xc0"), "{p:#?}");
    assert_eq!(p.field("eth.dst").as_deref(), Some("01:00:5e:00:00:12"));
    assert_eq!(p.field("vrrp.virt_rtr_id").as_deref(), Some("51"));
    assert_eq!(
        p.field("vrrp.checksum.status").as_deref(),
        Some("1"),
        "{p:#?}"
    );
}

#[test]
fn ipv6_advert_crosses_with_hop_limit_255_from_link_local() {
    require_root!();
    let (a, b, veth) = pair();
    let rt = Runtime::new().unwrap();
    let h = rt.handle().clone();
    let (tx, ll_a) = a
        .enter_thread(|| {
            let _g = h.enter();
            let ll = testkit::wait_for_value(
                || link_local_address(veth.a()).ok(),
                Duration::from_secs(5),
            )
            .unwrap();
            (VrrpSocketV6::open(veth.a()).unwrap(), ll)
        })
        .unwrap();
    let rx = b
        .enter_thread(|| {
            let _g = h.enter();
            testkit::wait_for(
                || link_local_address(veth.b()).is_ok(),
                Duration::from_secs(5),
            );
            VrrpSocketV6::open(veth.b()).unwrap()
        })
        .unwrap();
    assert_eq!(tx.source(), ll_a);
    // The VRRP layer computes the checksum; the socket carries bytes as given.
    let payload = vec![0x31, 51, 100, 1, 0, 100, 0x12, 0x34];
    rt.block_on(async {
        tx.send_to(VRRP_GROUP_V6, &payload).await.unwrap();
        let got = timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.src, IpAddr::from(ll_a));
        assert_eq!(got.dst, IpAddr::from(VRRP_GROUP_V6));
        assert_eq!(got.ttl, 255);
        assert_eq!(got.payload, payload);
        assert!(
            timeout(Duration::from_millis(300), tx.recv())
                .await
                .is_err()
        );
    });
}

/// `send_batch` (one `sendmmsg` per run of adverts): every advert arrives,
/// in order, with TTL 255; a message the kernel refuses (here an IPv4
/// broadcast, EACCES without SO_BROADCAST) is reported by index and the
/// rest still go out.
#[test]
fn ipv4_batch_keeps_order_and_skips_a_refused_message() {
    require_root!();
    let (a, b, veth) = pair();
    let rt = Runtime::new().unwrap();
    let (tx, rx) = sockets_v4(&rt, (&a, veth.a()), (&b, veth.b()));
    // 150 adverts (more than one sendmmsg call), VRIDs 1..=150; number 70
    // goes to the broadcast address and is refused.
    let payloads: Vec<Vec<u8>> = (1..=150_u8)
        .map(|vrid| {
            let mut p = advert_v2();
            p[1] = vrid;
            p[6..8].copy_from_slice(&[0, 0]);
            let c = rfc1071(&p);
            p[6..8].copy_from_slice(&c.to_be_bytes());
            p
        })
        .collect();
    let msgs: Vec<(Ipv4Addr, &[u8])> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let dst = match i {
                69 => Ipv4Addr::BROADCAST,
                i if i % 2 == 0 => VRRP_GROUP_V4,
                _ => Ipv4Addr::new(10, 0, 0, 2),
            };
            (dst, p.as_slice())
        })
        .collect();
    let mut failures = Vec::new();
    rt.block_on(async {
        tx.send_batch(&msgs, &mut |i, e| failures.push((i, e.kind())))
            .await;
        let mut vrids = Vec::new();
        while vrids.len() < 149 {
            let got = timeout(Duration::from_secs(5), rx.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got.ttl, 255);
            assert_eq!(got.src, IpAddr::from([10, 0, 0, 1]));
            vrids.push(got.payload[1]);
        }
        let want: Vec<u8> = (1..=150_u8).filter(|v| *v != 70).collect();
        assert_eq!(vrids, want);
    });
    assert_eq!(failures, vec![(69, std::io::ErrorKind::PermissionDenied)]);
}
