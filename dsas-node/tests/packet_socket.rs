//! AF_PACKET sockets between two namespaces over a veth (root only).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use std::io;
use std::time::Duration;

use dsas_node::sys::{AsyncPacketSocket, ETH_P_ALL, PacketSocket, PacketType, interface_mac};
use testkit::{Netns, Veth, require_root};

/// Local experimental ethertype (IEEE 802 "Local Experimental Ethertype 1").
const ETHERTYPE_TEST: u16 = 0x88b5;

fn pair() -> (Netns, Netns, Veth) {
    let a = Netns::new("ps-a").unwrap();
    let b = Netns::new("ps-b").unwrap();
    let veth = Veth::new(&a, "veth0", &b, "veth0").unwrap();
    // No IPv6 chatter (router solicitations, MLD) on the link.
    for (ns, dev) in [(&a, veth.a()), (&b, veth.b())] {
        ns.sysctl(&format!("net.ipv6.conf.{dev}.disable_ipv6"), "1")
            .unwrap();
    }
    veth.up().unwrap();
    (a, b, veth)
}

fn frame(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload_len: u8) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend(0..payload_len);
    f
}

/// Receives until a frame with `ethertype` arrives (or the read times out).
fn recv_ethertype(sock: &PacketSocket, ethertype: u16) -> io::Result<(Vec<u8>, PacketType)> {
    let mut buf = vec![0_u8; 65_536];
    loop {
        let (len, kind) = sock.recv_from(&mut buf)?;
        if buf.get(12..14) == Some(&ethertype.to_be_bytes()[..]) {
            return Ok((buf[..len].to_vec(), kind));
        }
    }
}

#[test]
fn raw_frame_crosses_the_veth_byte_exact() {
    require_root!();
    let (a, b, veth) = pair();
    let mac_a = a.mac(veth.a()).unwrap();
    let mac_b = b.mac(veth.b()).unwrap();

    let rx = b
        .enter_thread(|| {
            let sock = PacketSocket::bind(veth.b(), ETHERTYPE_TEST).unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            assert_eq!(interface_mac(veth.b()).unwrap(), mac_b);
            sock
        })
        .unwrap();
    let (tx, sniff) = a
        .enter_thread(|| {
            let tx = PacketSocket::bind(veth.a(), ETH_P_ALL).unwrap();
            let sniff = PacketSocket::bind(veth.a(), ETH_P_ALL).unwrap();
            sniff
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            assert_eq!(tx.ifindex(), a.link(veth.a()).unwrap().ifindex);
            (tx, sniff)
        })
        .unwrap();

    // Unicast to B, minimum size (60 bytes without FCS).
    let unicast = frame(mac_b, mac_a, ETHERTYPE_TEST, 46);
    assert_eq!(tx.send(&unicast).unwrap(), 60);
    let (got, kind) = recv_ethertype(&rx, ETHERTYPE_TEST).unwrap();
    assert_eq!(got, unicast);
    assert_eq!(kind, PacketType::Host);

    // Short (not padded by veth) broadcast, and a multicast.
    let broadcast = frame([0xff; 6], mac_a, ETHERTYPE_TEST, 3);
    tx.send(&broadcast).unwrap();
    let (got, kind) = recv_ethertype(&rx, ETHERTYPE_TEST).unwrap();
    assert_eq!((got, kind), (broadcast.clone(), PacketType::Broadcast));
    let multicast = frame(
        [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12],
        mac_a,
        ETHERTYPE_TEST,
        20,
    );
    tx.send(&multicast).unwrap();
    let (got, kind) = recv_ethertype(&rx, ETHERTYPE_TEST).unwrap();
    assert_eq!((got, kind), (multicast, PacketType::Multicast));

    // The sending socket never gets its own frames back (skb_loop_sk in
    // net/core/dev.c), but another ETH_P_ALL socket on the interface sees
    // them as PACKET_OUTGOING ...
    let mut buf = [0_u8; 2048];
    tx.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(tx.recv_from(&mut buf).is_err(), "sender saw its own frame");
    let (own, kind) = recv_ethertype(&sniff, ETHERTYPE_TEST).unwrap();
    assert_eq!((own, kind), (unicast.clone(), PacketType::Outgoing));
    // ... which `recv` skips: only outgoing copies are queued, so it times out.
    sniff
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let err = sniff.recv(&mut buf).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "{err:?}"
    );

    // With PACKET_IGNORE_OUTGOING the kernel does not queue them at all.
    sniff.set_ignore_outgoing(true).unwrap();
    tx.send(&unicast).unwrap();
    assert_eq!(recv_ethertype(&rx, ETHERTYPE_TEST).unwrap().0, unicast);
    assert!(sniff.recv_from(&mut buf).is_err());

    // A frame from B to A's MAC is received by A.
    let back = frame(mac_a, mac_b, ETHERTYPE_TEST, 50);
    rx.send(&back).unwrap();
    tx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(
        recv_ethertype(&tx, ETHERTYPE_TEST).unwrap(),
        (back, PacketType::Host)
    );
}

#[test]
fn socket_only_receives_its_protocol_and_interface() {
    require_root!();
    let (a, b, veth) = pair();
    let mac_a = a.mac(veth.a()).unwrap();
    let (rx_arp, rx_other) = b
        .enter_thread(|| {
            let arp = PacketSocket::bind(veth.b(), dsas_node::sys::ETH_P_ARP).unwrap();
            let lo = PacketSocket::bind("lo", ETH_P_ALL).unwrap();
            for s in [&arp, &lo] {
                s.set_read_timeout(Some(Duration::from_millis(300)))
                    .unwrap();
            }
            (arp, lo)
        })
        .unwrap();
    let tx = a
        .enter_thread(|| PacketSocket::bind(veth.a(), 0).unwrap())
        .unwrap();
    tx.send(&frame([0xff; 6], mac_a, ETHERTYPE_TEST, 46))
        .unwrap();
    let arp_like = frame([0xff; 6], mac_a, 0x0806, 28);
    tx.send(&arp_like).unwrap();
    let mut buf = [0_u8; 2048];
    let len = rx_arp.recv(&mut buf).unwrap();
    assert_eq!(
        &buf[..len],
        &arp_like[..],
        "the 0x88b5 frame must not reach an ETH_P_ARP socket"
    );
    assert!(rx_arp.recv(&mut buf).is_err());
    assert!(
        rx_other.recv(&mut buf).is_err(),
        "a socket bound to lo saw veth traffic"
    );
}

#[test]
fn bind_errors_name_the_interface() {
    require_root!();
    let ns = Netns::new("ps-err").unwrap();
    let err = ns
        .enter_thread(|| PacketSocket::bind("nosuchdev0", ETH_P_ALL).unwrap_err())
        .unwrap();
    assert!(err.to_string().contains("nosuchdev0"), "{err}");
    let err = ns
        .enter_thread(|| interface_mac("nosuchdev0").unwrap_err())
        .unwrap();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

#[test]
fn async_socket_sends_and_receives() {
    require_root!();
    let (a, b, veth) = pair();
    let mac_a = a.mac(veth.a()).unwrap();
    let mac_b = b.mac(veth.b()).unwrap();
    let rx = b
        .enter_thread(|| PacketSocket::bind(veth.b(), ETHERTYPE_TEST).unwrap())
        .unwrap();
    let tx = a
        .enter_thread(|| PacketSocket::bind(veth.a(), ETHERTYPE_TEST).unwrap())
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let rx = AsyncPacketSocket::new(rx).unwrap();
        let tx = AsyncPacketSocket::new(tx).unwrap();
        let sent = frame(mac_b, mac_a, ETHERTYPE_TEST, 46);
        let receiver = async {
            let mut buf = vec![0_u8; 2048];
            let len = rx.recv(&mut buf).await.unwrap();
            buf.truncate(len);
            buf
        };
        let sender = async {
            // Give the receiver a chance to park on the reactor first.
            tokio::time::sleep(Duration::from_millis(50)).await;
            tx.send(&sent).await.unwrap()
        };
        let (got, n) = tokio::time::timeout(Duration::from_secs(5), async {
            tokio::join!(receiver, sender)
        })
        .await
        .unwrap();
        assert_eq!(n, sent.len());
        assert_eq!(got, sent);
        assert_eq!(rx.get_ref().protocol(), ETHERTYPE_TEST);
    });
}
