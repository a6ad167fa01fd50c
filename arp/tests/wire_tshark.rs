#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::print_stdout,
    clippy::cast_possible_truncation,
    reason = "test code"
)]
//! tshark as an independent decoder: every kind of frame `arp::wire` emits is
//! written to a pcap, dissected by Wireshark, and compared field by field.
//! Skips (with a line saying so) when tshark is not installed.

use std::net::{Ipv4Addr, Ipv6Addr};

use arp::MacAddr;
use arp::wire::{
    ArpOperation, ArpRepr, ETHERTYPE_ARP, EthernetRepr, Frame, NaFlags, NdiscRepr, Payload,
    VlanTag, parse_frame,
};
use testkit::tshark::{Packet, decode_frames, tshark_available};

const VM4: MacAddr = MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, 0x33]);
const VIP4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const VM6: MacAddr = MacAddr([0x00, 0x00, 0x5e, 0x00, 0x02, 0x33]);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
const A: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const B: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const AIP: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const BIP: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);

fn skip() -> bool {
    if tshark_available() {
        return false;
    }
    println!("SKIP: tshark not installed");
    true
}

fn check(p: &Packet, name: &str, expected: &[(&str, &str)]) {
    for (field, value) in expected {
        assert_eq!(
            p.field(field).as_deref(),
            Some(*value),
            "{name}: {field} in {:#}",
            p.layers
        );
    }
}

/// A frame name, the frame, and the tshark fields expected.
type Case = (&'static str, Frame, Vec<(&'static str, &'static str)>);

fn tagged(mut f: Frame, vlans: Vec<VlanTag>) -> Frame {
    f.eth.vlans = vlans;
    f
}

#[test]
fn tshark_agrees_on_every_frame_kind() {
    if skip() {
        return;
    }
    let solicited = NaFlags {
        router: false,
        solicited: true,
        override_: true,
    };
    let arping_a = Frame {
        eth: EthernetRepr::new(MacAddr::BROADCAST, VM4, ETHERTYPE_ARP),
        payload: Payload::Arp(ArpRepr::gratuitous_reply(VM4, VIP4)),
    };
    let kernel = Frame {
        eth: EthernetRepr::new(MacAddr::BROADCAST, VM4, ETHERTYPE_ARP),
        payload: Payload::Arp(ArpRepr::gratuitous_kernel(VM4, VIP4)),
    };
    let garp: &[(&str, &str)] = &[
        ("arp.opcode", "1"),
        ("arp.isgratuitous", "1"),
        ("arp.src.hw_mac", "00:00:5e:00:01:33"),
        ("arp.src.proto_ipv4", "192.0.2.10"),
        ("arp.dst.hw_mac", "ff:ff:ff:ff:ff:ff"),
        ("arp.dst.proto_ipv4", "192.0.2.10"),
        ("eth.dst", "ff:ff:ff:ff:ff:ff"),
        ("eth.src", "00:00:5e:00:01:33"),
    ];
    let cases: Vec<Case> = vec![
        (
            "keepalived GARP",
            Frame::gratuitous_arp(VM4, VIP4),
            garp.to_vec(),
        ),
        (
            "arping -A GARP",
            arping_a,
            vec![
                ("arp.opcode", "2"),
                ("arp.isgratuitous", "1"),
                ("arp.dst.hw_mac", "00:00:5e:00:01:33"),
                ("arp.dst.proto_ipv4", "192.0.2.10"),
            ],
        ),
        (
            "kernel GARP",
            kernel,
            vec![
                ("arp.opcode", "1"),
                ("arp.isgratuitous", "1"),
                ("arp.dst.hw_mac", "00:00:00:00:00:00"),
            ],
        ),
        (
            "ARP request",
            Frame::arp_request(A, Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)),
            vec![
                ("arp.opcode", "1"),
                ("arp.src.hw_mac", "02:00:00:00:00:01"),
                ("arp.src.proto_ipv4", "192.0.2.1"),
                ("arp.dst.hw_mac", "00:00:00:00:00:00"),
                ("arp.dst.proto_ipv4", "192.0.2.2"),
                ("eth.dst", "ff:ff:ff:ff:ff:ff"),
            ],
        ),
        (
            "ARP reply",
            Frame::arp_reply(
                B,
                Ipv4Addr::new(192, 0, 2, 2),
                A,
                Ipv4Addr::new(192, 0, 2, 1),
            ),
            vec![
                ("arp.opcode", "2"),
                ("arp.src.hw_mac", "02:00:00:00:00:02"),
                ("arp.src.proto_ipv4", "192.0.2.2"),
                ("arp.dst.hw_mac", "02:00:00:00:00:01"),
                ("arp.dst.proto_ipv4", "192.0.2.1"),
                ("eth.dst", "02:00:00:00:00:01"),
            ],
        ),
        (
            "802.1Q GARP",
            tagged(Frame::gratuitous_arp(VM4, VIP4), vec![VlanTag::dot1q(100)]),
            [garp, &[("vlan.id", "100"), ("vlan.etype", "0x0806")]].concat(),
        ),
        (
            "802.1ad QinQ GARP",
            tagged(
                Frame::gratuitous_arp(VM4, VIP4),
                vec![VlanTag::dot1ad(200), VlanTag::dot1q(100)],
            ),
            [
                garp,
                &[
                    ("eth.type", "0x88a8"),
                    ("ieee8021ad.id", "200"),
                    ("vlan.id", "100"),
                ],
            ]
            .concat(),
        ),
        (
            "unsolicited NA (FRR, R=1)",
            Frame::unsolicited_na(VM6, VIP6, true),
            vec![
                ("eth.dst", "33:33:00:00:00:01"),
                ("ipv6.src", "2001:db8::10"),
                ("ipv6.dst", "ff02::1"),
                ("ipv6.hlim", "255"),
                ("ipv6.plen", "32"),
                ("icmpv6.type", "136"),
                ("icmpv6.code", "0"),
                ("icmpv6.checksum.status", "1"),
                ("icmpv6.nd.na.flag.r", "1"),
                ("icmpv6.nd.na.flag.s", "0"),
                ("icmpv6.nd.na.flag.o", "1"),
                ("icmpv6.nd.na.target_address", "2001:db8::10"),
                ("icmpv6.opt.type", "2"),
                ("icmpv6.opt.length", "1"),
                ("icmpv6.opt.linkaddr", "00:00:5e:00:02:33"),
            ],
        ),
        (
            "unsolicited NA (keepalived, R=0)",
            Frame::unsolicited_na(VM6, VIP6, false),
            vec![
                ("icmpv6.checksum.status", "1"),
                ("icmpv6.nd.na.flag.r", "0"),
                ("icmpv6.nd.na.flag.s", "0"),
                ("icmpv6.nd.na.flag.o", "1"),
            ],
        ),
        (
            "multicast NS",
            Frame::neighbor_solicit(A, AIP, BIP, None),
            vec![
                ("eth.dst", "33:33:ff:00:00:02"),
                ("ipv6.dst", "ff02::1:ff00:2"),
                ("ipv6.hlim", "255"),
                ("icmpv6.type", "135"),
                ("icmpv6.checksum.status", "1"),
                ("icmpv6.nd.ns.target_address", "fe80::2"),
                ("icmpv6.opt.type", "1"),
                ("icmpv6.opt.linkaddr", "02:00:00:00:00:01"),
            ],
        ),
        (
            "DAD NS",
            Frame::neighbor_solicit(A, Ipv6Addr::UNSPECIFIED, BIP, None),
            vec![
                ("ipv6.src", "::"),
                ("ipv6.plen", "24"),
                ("icmpv6.checksum.status", "1"),
                ("icmpv6.nd.ns.target_address", "fe80::2"),
            ],
        ),
        (
            "solicited NA",
            Frame::neighbor_advert(B, BIP, A, AIP, BIP, solicited),
            vec![
                ("eth.dst", "02:00:00:00:00:01"),
                ("ipv6.dst", "fe80::1"),
                ("icmpv6.type", "136"),
                ("icmpv6.checksum.status", "1"),
                ("icmpv6.nd.na.flag.r", "0"),
                ("icmpv6.nd.na.flag.s", "1"),
                ("icmpv6.nd.na.flag.o", "1"),
                ("icmpv6.nd.na.target_address", "fe80::2"),
                ("icmpv6.opt.linkaddr", "02:00:00:00:00:02"),
            ],
        ),
        (
            "tagged unsolicited NA",
            tagged(
                Frame::unsolicited_na(VM6, VIP6, true),
                vec![VlanTag::dot1q(7)],
            ),
            vec![
                ("vlan.id", "7"),
                ("vlan.etype", "0x86dd"),
                ("icmpv6.checksum.status", "1"),
                ("icmpv6.nd.na.target_address", "2001:db8::10"),
            ],
        ),
    ];
    let frames: Vec<Vec<u8>> = cases.iter().map(|(_, f, _)| f.to_bytes()).collect();
    let packets = decode_frames(&frames).unwrap();
    assert_eq!(packets.len(), cases.len());
    for ((name, _, expected), p) in cases.iter().zip(&packets) {
        check(p, name, expected);
        assert!(
            p.field("_ws.malformed").is_none() && p.field("_ws.expert").is_none(),
            "{name}: tshark reports a problem: {:#}",
            p.layers
        );
    }
    // Non-gratuitous ARP carries no arp.isgratuitous field.
    assert_eq!(packets[3].field("arp.isgratuitous"), None);
}

#[test]
fn tshark_sees_two_8021q_tags_and_a_bad_checksum() {
    if skip() {
        return;
    }
    let double = tagged(
        Frame::gratuitous_arp(VM4, VIP4),
        vec![VlanTag::dot1q(300), VlanTag::dot1q(4094)],
    );
    let mut bad = Frame::unsolicited_na(VM6, VIP6, true).to_bytes();
    bad[57] ^= 0x01;
    assert!(parse_frame(&bad).is_err());
    let packets = decode_frames(&[double.to_bytes(), bad]).unwrap();
    assert_eq!(packets[0].fields("vlan.id"), ["300", "4094"]);
    assert_eq!(
        packets[1].field("icmpv6.checksum.status").as_deref(),
        Some("0")
    );
}

/// SplitMix64, for reproducible pseudo-random frames.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn mac(&mut self) -> MacAddr {
        let b = self.next().to_be_bytes();
        MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]])
    }
    fn v4(&mut self) -> Ipv4Addr {
        Ipv4Addr::from(self.next() as u32)
    }
    fn v6(&mut self) -> Ipv6Addr {
        // Link-local or documentation unicast, never multicast.
        let hi = if self.next() & 1 == 0 { 0xfe80 } else { 0x2001 };
        let lo = self.next();
        Ipv6Addr::new(
            hi,
            0xdb8,
            0,
            0,
            (lo >> 48) as u16,
            (lo >> 32) as u16,
            (lo >> 16) as u16,
            lo as u16,
        )
    }
}

#[test]
fn tshark_agrees_on_random_frames() {
    if skip() {
        return;
    }
    let mut rng = Rng(0x5eed);
    let mut frames = Vec::new();
    for i in 0..200 {
        let src = rng.mac();
        let f = match i % 4 {
            0 => Frame::arp_request(src, rng.v4(), rng.v4()),
            1 => Frame::arp_reply(src, rng.v4(), rng.mac(), rng.v4()),
            2 => Frame::neighbor_solicit(src, rng.v6(), rng.v6(), None),
            _ => {
                let bits = rng.next();
                let flags = NaFlags {
                    router: bits & 1 != 0,
                    solicited: bits & 2 != 0,
                    override_: bits & 4 != 0,
                };
                Frame::neighbor_advert(src, rng.v6(), rng.mac(), rng.v6(), rng.v6(), flags)
            }
        };
        frames.push(f);
    }
    let bytes: Vec<Vec<u8>> = frames.iter().map(Frame::to_bytes).collect();
    let packets = decode_frames(&bytes).unwrap();
    assert_eq!(packets.len(), frames.len());
    for (f, p) in frames.iter().zip(&packets) {
        assert_eq!(p.field("eth.src"), Some(f.eth.src.to_string()));
        assert_eq!(p.field("eth.dst"), Some(f.eth.dst.to_string()));
        match &f.payload {
            Payload::Arp(a) => {
                let op = if a.operation == ArpOperation::Request {
                    "1"
                } else {
                    "2"
                };
                assert_eq!(p.field("arp.opcode").as_deref(), Some(op));
                assert_eq!(p.field("arp.src.hw_mac"), Some(a.sha.to_string()));
                assert_eq!(p.field("arp.src.proto_ipv4"), Some(a.spa.to_string()));
                assert_eq!(p.field("arp.dst.hw_mac"), Some(a.tha.to_string()));
                assert_eq!(p.field("arp.dst.proto_ipv4"), Some(a.tpa.to_string()));
            }
            Payload::Ndisc(n) => {
                assert_eq!(p.field("ipv6.src"), Some(n.src.to_string()));
                assert_eq!(p.field("ipv6.dst"), Some(n.dst.to_string()));
                assert_eq!(p.field("icmpv6.checksum.status").as_deref(), Some("1"));
                assert_eq!(
                    p.field("icmpv6.opt.linkaddr"),
                    n.repr.lladdr().map(|m| m.to_string())
                );
                match n.repr {
                    NdiscRepr::NeighborSolicit { target, .. } => {
                        assert_eq!(p.field("icmpv6.type").as_deref(), Some("135"));
                        assert_eq!(
                            p.field("icmpv6.nd.ns.target_address"),
                            Some(target.to_string())
                        );
                    }
                    NdiscRepr::NeighborAdvert { flags, target, .. } => {
                        let b = |x: bool| Some(if x { "1" } else { "0" }.to_owned());
                        assert_eq!(p.field("icmpv6.type").as_deref(), Some("136"));
                        assert_eq!(
                            p.field("icmpv6.nd.na.target_address"),
                            Some(target.to_string())
                        );
                        assert_eq!(p.field("icmpv6.nd.na.flag.r"), b(flags.router));
                        assert_eq!(p.field("icmpv6.nd.na.flag.s"), b(flags.solicited));
                        assert_eq!(p.field("icmpv6.nd.na.flag.o"), b(flags.override_));
                    }
                }
            }
            Payload::Other(_) => panic!("only ARP and ND are built"),
        }
    }
}
