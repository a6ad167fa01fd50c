#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "test code"
)]
//! Exact-byte vectors for every frame `arp::wire` emits or must accept,
//! round trips (including a proptest over arbitrary reprs) and rejection of
//! truncated, mis-checksummed and malformed frames.

use std::net::{Ipv4Addr, Ipv6Addr};

use arp::MacAddr;
use arp::wire::{
    ArpOperation, ArpPacket, ArpRepr, ETHERTYPE_ARP, ETHERTYPE_IPV6, EthernetFrame, EthernetRepr,
    Frame, NaFlags, NdiscPacket, NdiscRepr, Payload, TPID_8021AD, TPID_8021Q, VlanTag, WireError,
    parse_frame,
};
use proptest::prelude::*;

// The expected bytes below were generated once with scapy 2.5.0 (Debian
// python3-scapy 2.5.0+dfsg-2), independently of this crate, by e.g.
//   bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=VM4)/ARP(op=1, hwsrc=VM4, psrc=VIP4,
//         hwdst="ff:ff:ff:ff:ff:ff", pdst=VIP4))                       # GARP_KEEPALIVED
//   bytes(Ether(dst=..., src=VM4)/Dot1AD(vlan=200)/Dot1Q(vlan=100)/ARP(...)) # GARP_QINQ
//   bytes(Ether(dst="33:33:00:00:00:01", src=VM6)/IPv6(src=VIP6, dst="ff02::1", hlim=255)
//         /ICMPv6ND_NA(R=1, S=0, O=1, tgt=VIP6)/ICMPv6NDOptDstLLAddr(lladdr=VM6)) # NA_UNSOLICITED_ROUTER
//   bytes(Ether(dst="33:33:ff:00:00:02", src=A)/IPv6(src=AIP, dst="ff02::1:ff00:2", hlim=255)
//         /ICMPv6ND_NS(tgt=BIP)/ICMPv6NDOptSrcLLAddr(lladdr=A))            # NS_MULTICAST
// with VM4 = 00:00:5e:00:01:33, VIP4 = 192.0.2.10, VM6 = 00:00:5e:00:02:33,
// VIP6 = 2001:db8::10, A = 02:00:00:00:00:01 / fe80::1, B = 02:00:00:00:00:02 / fe80::2.
// scapy computed the ICMPv6 checksums.
const GARP_KEEPALIVED: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x08, 0x06, 0x00, 0x01,
    0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0xc0, 0x00, 0x02, 0x0a,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0, 0x00, 0x02, 0x0a,
];
const GARP_ARPING_A: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x08, 0x06, 0x00, 0x01,
    0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0xc0, 0x00, 0x02, 0x0a,
    0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0xc0, 0x00, 0x02, 0x0a,
];
const GARP_KERNEL: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x08, 0x06, 0x00, 0x01,
    0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0xc0, 0x00, 0x02, 0x0a,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x0a,
];
const ARP_REQUEST: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x01,
    0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x02, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x02,
];
const ARP_REPLY: [u8; 42] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06, 0x00, 0x01,
    0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0xc0, 0x00, 0x02, 0x02,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x02, 0x01,
];
const GARP_DOT1Q: [u8; 46] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x81, 0x00, 0x00, 0x64,
    0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33,
    0xc0, 0x00, 0x02, 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0, 0x00, 0x02, 0x0a,
];
const GARP_QINQ: [u8; 50] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x88, 0xa8, 0x00, 0xc8,
    0x81, 0x00, 0x00, 0x64, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x00,
    0x5e, 0x00, 0x01, 0x33, 0xc0, 0x00, 0x02, 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0, 0x00,
    0x02, 0x0a,
];
const NA_UNSOLICITED_ROUTER: [u8; 86] = [
    0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x5e, 0x00, 0x02, 0x33, 0x86, 0xdd, 0x60, 0x00,
    0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0x00, 0x1a, 0xda, 0xa0, 0x00, 0x00, 0x00, 0x20, 0x01,
    0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x02, 0x01,
    0x00, 0x00, 0x5e, 0x00, 0x02, 0x33,
];
const NA_UNSOLICITED_HOST: [u8; 86] = [
    0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x5e, 0x00, 0x02, 0x33, 0x86, 0xdd, 0x60, 0x00,
    0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0x00, 0x9a, 0xda, 0x20, 0x00, 0x00, 0x00, 0x20, 0x01,
    0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x02, 0x01,
    0x00, 0x00, 0x5e, 0x00, 0x02, 0x33,
];
const NS_MULTICAST: [u8; 86] = [
    0x33, 0x33, 0xff, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60, 0x00,
    0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0xff, 0x00, 0x00, 0x02, 0x87, 0x00, 0x7a, 0x97, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x80,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
];
const NS_UNICAST: [u8; 86] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60, 0x00,
    0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x87, 0x00, 0x7a, 0x1b, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x80,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
];
const NS_DAD: [u8; 78] = [
    0x33, 0x33, 0xff, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60, 0x00,
    0x00, 0x00, 0x00, 0x18, 0x3a, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0xff, 0x00, 0x00, 0x02, 0x87, 0x00, 0x7c, 0x23, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x80,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
];
const NA_SOLICITED: [u8; 86] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x86, 0xdd, 0x60, 0x00,
    0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0x00, 0x18, 0x1a, 0x60, 0x00, 0x00, 0x00, 0xfe, 0x80,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x01,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
];

const VM4: MacAddr = MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, 0x33]);
const VIP4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const VM6: MacAddr = MacAddr([0x00, 0x00, 0x5e, 0x00, 0x02, 0x33]);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
const A: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const B: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const AIP: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const BIP: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
const A4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

fn arp_frame(dst: MacAddr, src: MacAddr, vlans: Vec<VlanTag>, arp: ArpRepr) -> Frame {
    Frame {
        eth: EthernetRepr {
            dst,
            src,
            vlans,
            ethertype: ETHERTYPE_ARP,
        },
        payload: Payload::Arp(arp),
    }
}

/// Every vector with the frame the crate builds for it.
fn vectors() -> Vec<(&'static str, &'static [u8], Frame)> {
    let solicited = NaFlags {
        router: false,
        solicited: true,
        override_: true,
    };
    vec![
        (
            "keepalived/FRR GARP",
            &GARP_KEEPALIVED[..],
            Frame::gratuitous_arp(VM4, VIP4),
        ),
        (
            "arping -A GARP reply",
            &GARP_ARPING_A[..],
            arp_frame(
                MacAddr::BROADCAST,
                VM4,
                vec![],
                ArpRepr::gratuitous_reply(VM4, VIP4),
            ),
        ),
        (
            "kernel GARP (tha zero)",
            &GARP_KERNEL[..],
            arp_frame(
                MacAddr::BROADCAST,
                VM4,
                vec![],
                ArpRepr::gratuitous_kernel(VM4, VIP4),
            ),
        ),
        (
            "ARP request",
            &ARP_REQUEST[..],
            Frame::arp_request(A, A4, B4),
        ),
        ("ARP reply", &ARP_REPLY[..], Frame::arp_reply(B, B4, A, A4)),
        (
            "802.1Q GARP",
            &GARP_DOT1Q[..],
            arp_frame(
                MacAddr::BROADCAST,
                VM4,
                vec![VlanTag::dot1q(100)],
                ArpRepr::gratuitous_request(VM4, VIP4),
            ),
        ),
        (
            "QinQ GARP",
            &GARP_QINQ[..],
            arp_frame(
                MacAddr::BROADCAST,
                VM4,
                vec![VlanTag::dot1ad(200), VlanTag::dot1q(100)],
                ArpRepr::gratuitous_request(VM4, VIP4),
            ),
        ),
        (
            "unsolicited NA, R=1 (FRR)",
            &NA_UNSOLICITED_ROUTER[..],
            Frame::unsolicited_na(VM6, VIP6, true),
        ),
        (
            "unsolicited NA, R=0 (keepalived without forwarding)",
            &NA_UNSOLICITED_HOST[..],
            Frame::unsolicited_na(VM6, VIP6, false),
        ),
        (
            "multicast NS with SLLA",
            &NS_MULTICAST[..],
            Frame::neighbor_solicit(A, AIP, BIP, None),
        ),
        (
            "unicast NS with SLLA",
            &NS_UNICAST[..],
            Frame::neighbor_solicit(A, AIP, BIP, Some((B, BIP))),
        ),
        (
            "DAD NS (unspecified source, no SLLA)",
            &NS_DAD[..],
            Frame::neighbor_solicit(A, Ipv6Addr::UNSPECIFIED, BIP, None),
        ),
        (
            "solicited NA",
            &NA_SOLICITED[..],
            Frame::neighbor_advert(B, BIP, A, AIP, BIP, solicited),
        ),
    ]
}

#[test]
fn every_vector_emits_and_parses_exactly() {
    for (name, bytes, frame) in vectors() {
        assert_eq!(frame.to_bytes(), bytes, "{name}: emit");
        assert_eq!(frame.buffer_len(), bytes.len(), "{name}: buffer_len");
        assert_eq!(parse_frame(bytes), Ok(frame.clone()), "{name}: parse");
        let mut buf = [0u8; 128];
        assert_eq!(frame.emit(&mut buf), Ok(bytes.len()), "{name}: emit");
        assert_eq!(&buf[..bytes.len()], bytes, "{name}: emit into slice");
        assert_eq!(
            frame.emit(&mut buf[..bytes.len() - 1]),
            Err(WireError::InsufficientSize {
                required: bytes.len()
            }),
            "{name}: short buffer"
        );
    }
}

#[test]
fn sizes_match_the_reference() {
    // vrrp-arp.md §5: 42 bytes (60 on the wire); §6: 14 + 40 + 32.
    assert_eq!(Frame::gratuitous_arp(VM4, VIP4).to_bytes().len(), 42);
    assert_eq!(Frame::unsolicited_na(VM6, VIP6, true).to_bytes().len(), 86);
}

#[test]
fn gratuitous_forms_are_recognised() {
    for bytes in [
        &GARP_KEEPALIVED[..],
        &GARP_ARPING_A,
        &GARP_KERNEL,
        &GARP_DOT1Q,
        &GARP_QINQ,
    ] {
        let Payload::Arp(arp) = parse_frame(bytes).unwrap().payload else {
            panic!("not ARP");
        };
        assert!(arp.is_gratuitous(), "{arp:?}");
        assert!(!arp.is_probe());
    }
    for bytes in [&ARP_REQUEST[..], &ARP_REPLY] {
        let Payload::Arp(arp) = parse_frame(bytes).unwrap().payload else {
            panic!("not ARP");
        };
        assert!(!arp.is_gratuitous(), "{arp:?}");
    }
    // arping -A form with tha changed to broadcast: Linux does not count it.
    let mut reply = GARP_ARPING_A;
    reply[32..38].copy_from_slice(&[0xff; 6]);
    let Payload::Arp(arp) = parse_frame(&reply).unwrap().payload else {
        panic!("not ARP");
    };
    assert_eq!(arp.operation, ArpOperation::Reply);
    assert!(!arp.is_gratuitous());
}

#[test]
fn views_read_the_fields() {
    let eth = EthernetFrame::new_checked(&GARP_QINQ[..]).unwrap();
    assert_eq!(eth.dst(), MacAddr::BROADCAST);
    assert_eq!(eth.src(), VM4);
    assert_eq!(eth.vlan_count(), 2);
    assert_eq!(
        eth.vlan(0).map(|v| (v.tpid, v.vid)),
        Some((TPID_8021AD, 200))
    );
    assert_eq!(
        eth.vlan(1).map(|v| (v.tpid, v.vid)),
        Some((TPID_8021Q, 100))
    );
    assert_eq!(eth.ethertype(), ETHERTYPE_ARP);
    assert_eq!(eth.payload().len(), 28);
    let arp = ArpPacket::new_checked(eth.payload()).unwrap();
    assert_eq!(arp.opcode(), 1);
    assert_eq!(arp.sha(), VM4);
    assert_eq!(arp.spa(), VIP4);
    assert_eq!(arp.tha(), MacAddr::BROADCAST);
    assert_eq!(arp.tpa(), VIP4);

    let eth = EthernetFrame::new_checked(&NA_UNSOLICITED_ROUTER[..]).unwrap();
    assert_eq!(eth.ethertype(), ETHERTYPE_IPV6);
    let na = NdiscPacket::parse_bytes(eth.payload()).unwrap();
    assert_eq!(na.hop_limit, 255);
    assert_eq!(na.dst, "ff02::1".parse::<Ipv6Addr>().unwrap());
    assert_eq!(
        na.repr,
        NdiscRepr::NeighborAdvert {
            flags: NaFlags {
                router: true,
                solicited: false,
                override_: true
            },
            target: VIP6,
            target_lladdr: Some(VM6)
        }
    );
}

#[test]
fn ethernet_padding_is_ignored() {
    for (name, bytes, frame) in vectors() {
        for fill in [0x00, 0xa5] {
            let mut padded = bytes.to_vec();
            padded.resize(60.max(bytes.len() + 4), fill);
            assert_eq!(
                parse_frame(&padded),
                Ok(frame.clone()),
                "{name}: fill {fill:#x}"
            );
        }
    }
}

#[test]
fn truncation_at_every_length_is_rejected() {
    for (name, bytes, _) in vectors() {
        for n in 0..bytes.len() {
            let r = parse_frame(&bytes[..n]);
            assert!(
                matches!(r, Err(WireError::Truncated { have, .. }) if have <= n),
                "{name}: length {n}: {r:?}"
            );
        }
    }
}

/// A second, deliberately naive ICMPv6 checksum (RFC 8200 §8.1), used to
/// re-checksum frames the negative tests modify.
fn naive_icmpv6_checksum(ipv6: &[u8]) -> u16 {
    let len = u16::from_be_bytes([ipv6[4], ipv6[5]]) as usize;
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&ipv6[8..40]);
    pseudo.extend_from_slice(&(len as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 58]);
    let mut icmp = ipv6[40..40 + len].to_vec();
    icmp[2] = 0;
    icmp[3] = 0;
    pseudo.extend_from_slice(&icmp);
    if pseudo.len() % 2 == 1 {
        pseudo.push(0);
    }
    let mut sum: u64 = 0;
    for w in pseudo.chunks(2) {
        sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn fix_checksum(frame: &mut [u8]) {
    let c = naive_icmpv6_checksum(&frame[14..]);
    frame[56..58].copy_from_slice(&c.to_be_bytes());
}

#[test]
fn scapy_checksums_agree_with_a_naive_implementation_and_etherparse() {
    for (name, bytes, _) in vectors() {
        if u16::from_be_bytes([bytes[12], bytes[13]]) != ETHERTYPE_IPV6 {
            continue;
        }
        let ip = &bytes[14..];
        assert_eq!(
            naive_icmpv6_checksum(ip),
            u16::from_be_bytes([ip[42], ip[43]]),
            "{name}"
        );
        let src: [u8; 16] = ip[8..24].try_into().unwrap();
        let dst: [u8; 16] = ip[24..40].try_into().unwrap();
        let icmp = etherparse::Icmpv6Slice::from_slice(&ip[40..]).unwrap();
        assert!(icmp.is_checksum_valid(src, dst), "{name}");
    }
}

#[test]
fn etherparse_decodes_the_arp_and_vlan_vectors_alike() {
    for (name, bytes, frame) in vectors() {
        let sliced = etherparse::SlicedPacket::from_ethernet(bytes).unwrap();
        let vids: Vec<u16> = sliced.vlan_ids().iter().map(|v| v.value()).collect();
        let ours: Vec<u16> = frame.eth.vlans.iter().map(|v| v.vid).collect();
        assert_eq!(vids, ours, "{name}");
        if let Payload::Arp(arp) = frame.payload {
            let Some(etherparse::NetSlice::Arp(a)) = sliced.net else {
                panic!("{name}: etherparse saw no ARP");
            };
            let a = a.to_packet().try_eth_ipv4().unwrap();
            assert_eq!(
                a.operation.0,
                if arp.operation == ArpOperation::Request {
                    1
                } else {
                    2
                }
            );
            assert_eq!(a.sender_mac, arp.sha.0, "{name}");
            assert_eq!(a.sender_ipv4, arp.spa.octets(), "{name}");
            assert_eq!(a.target_mac, arp.tha.0, "{name}");
            assert_eq!(a.target_ipv4, arp.tpa.octets(), "{name}");
        }
    }
}

#[test]
fn bad_checksum_is_rejected() {
    for bytes in [
        &NA_UNSOLICITED_ROUTER[..],
        &NA_UNSOLICITED_HOST,
        &NS_MULTICAST,
        &NS_UNICAST,
        &NS_DAD,
        &NA_SOLICITED,
    ] {
        // Every bit of the addresses (pseudo-header) and of the ICMPv6
        // message after its type byte is covered.
        for i in (22..54).chain(55..bytes.len()) {
            for bit in 0..8 {
                let mut b = bytes.to_vec();
                b[i] ^= 1 << bit;
                assert_eq!(
                    parse_frame(&b),
                    Err(WireError::Checksum),
                    "byte {i} bit {bit}"
                );
            }
        }
    }
}

#[test]
fn arp_format_fields_are_checked() {
    let cases: [(usize, u8, WireError); 6] = [
        (
            15,
            6,
            WireError::Unsupported {
                field: "ARP hardware type",
                value: 6,
            },
        ),
        (
            16,
            0x86,
            WireError::Unsupported {
                field: "ARP protocol type",
                value: 0x8600,
            },
        ),
        (
            18,
            8,
            WireError::Malformed("ARP hardware address length is not 6 for Ethernet"),
        ),
        (
            19,
            16,
            WireError::Malformed("ARP protocol address length is not 4 for IPv4"),
        ),
        (
            21,
            0,
            WireError::Unsupported {
                field: "ARP operation",
                value: 0,
            },
        ),
        (
            21,
            3,
            WireError::Unsupported {
                field: "ARP operation",
                value: 3,
            },
        ),
    ];
    for (i, v, err) in cases {
        let mut b = GARP_KEEPALIVED;
        b[i] = v;
        assert_eq!(parse_frame(&b), Err(err), "byte {i} = {v}");
    }
}

#[test]
fn nd_option_length_zero_is_malformed() {
    for bytes in [&NA_UNSOLICITED_ROUTER[..], &NS_MULTICAST] {
        let mut b = bytes.to_vec();
        b[79] = 0;
        fix_checksum(&mut b);
        assert_eq!(
            parse_frame(&b),
            Err(WireError::Malformed("ND option length 0 (RFC 4861 §4.6)"))
        );
        // An unknown option of length 0 is just as invalid.
        b[78] = 99;
        fix_checksum(&mut b);
        assert!(matches!(parse_frame(&b), Err(WireError::Malformed(_))));
        // An unknown option of length 1 is skipped: no link-layer address.
        b[79] = 1;
        fix_checksum(&mut b);
        let Payload::Ndisc(nd) = parse_frame(&b).unwrap().payload else {
            panic!("not ND");
        };
        assert_eq!(nd.repr.lladdr(), None);
    }
}

#[test]
fn nd_code_type_and_target_checks() {
    let mut b = NA_UNSOLICITED_ROUTER.to_vec();
    b[55] = 1;
    fix_checksum(&mut b);
    assert_eq!(
        parse_frame(&b),
        Err(WireError::Malformed("ICMPv6 code of an NS/NA is not 0"))
    );
    // A multicast NS target.
    let mut ns = NS_MULTICAST.to_vec();
    ns[62] = 0xff;
    fix_checksum(&mut ns);
    assert_eq!(
        parse_frame(&ns),
        Err(WireError::Malformed("NS/NA target is a multicast address"))
    );
    // Other ICMPv6 types (here 137, Redirect) and next headers are Other.
    let mut redirect = NA_UNSOLICITED_ROUTER.to_vec();
    redirect[54] = 137;
    let f = parse_frame(&redirect).unwrap();
    assert_eq!(f.payload, Payload::Other(redirect[14..].to_vec()));
    let mut udp = NA_UNSOLICITED_ROUTER.to_vec();
    udp[20] = 17;
    assert_eq!(
        parse_frame(&udp).unwrap().payload,
        Payload::Other(udp[14..].to_vec())
    );
    // Hop limit is reported, not enforced.
    let mut hop = NA_UNSOLICITED_ROUTER.to_vec();
    hop[21] = 1;
    let Payload::Ndisc(nd) = parse_frame(&hop).unwrap().payload else {
        panic!("not ND");
    };
    assert_eq!(nd.hop_limit, 1);
    // An IPv6 payload length beyond the frame.
    let mut long = NA_UNSOLICITED_ROUTER.to_vec();
    long[19] = 40;
    assert_eq!(
        parse_frame(&long),
        Err(WireError::Truncated {
            needed: 80,
            have: 72
        })
    );
}

#[test]
fn other_ethertypes_keep_their_bytes() {
    let mut b = GARP_KEEPALIVED.to_vec();
    b[12] = 0x88;
    b[13] = 0xcc; // LLDP
    let f = parse_frame(&b).unwrap();
    assert_eq!(f.eth.ethertype, 0x88cc);
    assert_eq!(f.payload, Payload::Other(b[14..].to_vec()));
    assert_eq!(f.to_bytes(), b);
}

fn mac() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(MacAddr)
}

fn vlan() -> impl Strategy<Value = VlanTag> {
    (
        prop::sample::select(vec![TPID_8021Q, TPID_8021AD]),
        0u8..8,
        any::<bool>(),
        0u16..4096,
    )
        .prop_map(|(tpid, pcp, dei, vid)| VlanTag {
            tpid,
            pcp,
            dei,
            vid,
        })
}

fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        any::<[u8; 16]>().prop_map(Ipv6Addr::from),
        Just(Ipv6Addr::UNSPECIFIED),
        Just(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
    ]
}

fn unicast_ipv6() -> impl Strategy<Value = Ipv6Addr> {
    ipv6().prop_filter("ND targets are not multicast", |a| !a.is_multicast())
}

fn ndisc() -> impl Strategy<Value = NdiscPacket> {
    let ns = (unicast_ipv6(), prop::option::of(mac())).prop_map(|(target, source_lladdr)| {
        NdiscRepr::NeighborSolicit {
            target,
            source_lladdr,
        }
    });
    let na = (any::<[bool; 3]>(), unicast_ipv6(), prop::option::of(mac())).prop_map(
        |([router, solicited, override_], target, target_lladdr)| NdiscRepr::NeighborAdvert {
            flags: NaFlags {
                router,
                solicited,
                override_,
            },
            target,
            target_lladdr,
        },
    );
    (ipv6(), ipv6(), any::<u8>(), prop_oneof![ns, na])
        .prop_map(|(src, dst, hop_limit, repr)| NdiscPacket {
            src,
            dst,
            hop_limit,
            repr,
        })
        .prop_filter("valid per RFC 4861 §7.1", |p| match p.repr {
            NdiscRepr::NeighborSolicit { source_lladdr, .. } => {
                !(p.src.is_unspecified() && source_lladdr.is_some())
            }
            NdiscRepr::NeighborAdvert { flags, .. } => !(flags.solicited && p.dst.is_multicast()),
        })
}

fn frame() -> impl Strategy<Value = Frame> {
    let arp = (
        any::<bool>(),
        mac(),
        any::<[u8; 4]>(),
        mac(),
        any::<[u8; 4]>(),
    )
        .prop_map(|(reply, sha, spa, tha, tpa)| {
            Payload::Arp(ArpRepr {
                operation: if reply {
                    ArpOperation::Reply
                } else {
                    ArpOperation::Request
                },
                sha,
                spa: spa.into(),
                tha,
                tpa: tpa.into(),
            })
        });
    let other = (
        any::<u16>().prop_filter("not decoded", |t| {
            ![ETHERTYPE_ARP, ETHERTYPE_IPV6, 0x8100, 0x88a8, 0x9100].contains(t)
        }),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(t, v)| (t, Payload::Other(v)));
    let payload = prop_oneof![
        arp.prop_map(|p| (ETHERTYPE_ARP, p)),
        ndisc().prop_map(|n| (ETHERTYPE_IPV6, Payload::Ndisc(n))),
        other,
    ];
    (mac(), mac(), prop::collection::vec(vlan(), 0..=2), payload).prop_map(
        |(dst, src, vlans, (ethertype, payload))| Frame {
            eth: EthernetRepr {
                dst,
                src,
                vlans,
                ethertype,
            },
            payload,
        },
    )
}

proptest! {
    #[test]
    fn parse_inverts_emit(f in frame()) {
        let bytes = f.to_bytes();
        prop_assert_eq!(bytes.len(), f.buffer_len());
        prop_assert_eq!(parse_frame(&bytes), Ok(f));
    }

    #[test]
    fn mutated_vectors_keep_the_fuzz_invariants(
        which in 0usize..13,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let (_, bytes, _) = vectors().swap_remove(which);
        let mut b = bytes.to_vec();
        for (at, x) in flips {
            let i = at.index(b.len());
            b[i] ^= x;
        }
        b.truncate(cut.index(b.len() + 1));
        prop_assert_eq!(arp::fuzzing::arp_frame(&b), Ok(()));
    }
}
