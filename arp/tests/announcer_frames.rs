#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    clippy::unchecked_time_subtraction,
    clippy::panic,
    reason = "test code"
)]
//! Exact bytes of the frames the announcer emits.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use arp::MacAddr;
use arp::announcer::{Announcer, Config, GarpForm, Input, Output};
use arp::wire::arp::ArpRepr;
use arp::wire::ethernet::{ETHERTYPE_ARP, EthernetRepr, VlanTag};
use arp::wire::ndisc::NdiscRepr;
use arp::wire::{Frame, Payload, parse_frame};

const MAC: MacAddr = MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, 0x34]);
const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 101);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x65);

/// The first frame sent after `Start` with one address.
fn first_frame(cfg: Config) -> (IpAddr, Vec<u8>) {
    let mut a = Announcer::new(cfg, Instant::now()).unwrap();
    a.handle(Instant::now(), Input::Start);
    match a.poll_output() {
        Some(Output::Transmit { address, frame }) => (address, frame),
        other => panic!("expected a transmit, got {other:?}"),
    }
}

fn cfg_with(form: GarpForm, addr: IpAddr) -> Config {
    let mut cfg = Config::keepalived(MAC);
    cfg.garp_form = form;
    cfg.addresses = vec![addr];
    cfg
}

#[test]
fn keepalived_request_form_bytes() {
    let (address, frame) = first_frame(cfg_with(GarpForm::Request, IpAddr::V4(VIP)));
    assert_eq!(address, IpAddr::V4(VIP));
    assert_eq!(frame, Frame::gratuitous_arp(MAC, VIP).to_bytes());
    // vrrp-arp.md §5: 42 bytes, op 1, tha broadcast, spa = tpa = VIP.
    let expected: Vec<u8> = [
        &[0xff; 6][..],
        &MAC.0,
        &[0x08, 0x06],
        &[0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01],
        &MAC.0,
        &VIP.octets(),
        &[0xff; 6],
        &VIP.octets(),
    ]
    .concat();
    assert_eq!(frame, expected);
    assert_eq!(frame.len(), 42);
}

#[test]
fn arping_reply_form_bytes() {
    let (_, frame) = first_frame(cfg_with(GarpForm::Reply, IpAddr::V4(VIP)));
    let expected: Vec<u8> = [
        &[0xff; 6][..],
        &MAC.0,
        &[0x08, 0x06],
        &[0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02],
        &MAC.0,
        &VIP.octets(),
        &MAC.0,
        &VIP.octets(),
    ]
    .concat();
    assert_eq!(frame, expected);
    let parsed = parse_frame(&frame).unwrap();
    assert_eq!(
        parsed.payload,
        Payload::Arp(ArpRepr::gratuitous_reply(MAC, VIP))
    );
}

#[test]
fn kernel_form_bytes() {
    let (_, frame) = first_frame(cfg_with(GarpForm::Kernel, IpAddr::V4(VIP)));
    let expected = Frame {
        eth: EthernetRepr::new(MacAddr::BROADCAST, MAC, ETHERTYPE_ARP),
        payload: Payload::Arp(ArpRepr::gratuitous_kernel(MAC, VIP)),
    }
    .to_bytes();
    assert_eq!(frame, expected);
    assert_eq!(&frame[32..38], &[0; 6], "tha 00:00:00:00:00:00");
    assert_eq!(&frame[20..22], &[0x00, 0x01], "request");
}

#[test]
fn unsolicited_na_bytes_and_router_flag() {
    for router in [false, true] {
        let mut cfg = cfg_with(GarpForm::Request, IpAddr::V6(VIP6));
        cfg.na_router = router;
        let (address, frame) = first_frame(cfg);
        assert_eq!(address, IpAddr::V6(VIP6));
        assert_eq!(frame, Frame::unsolicited_na(MAC, VIP6, router).to_bytes());
        assert_eq!(frame.len(), 86);
        let parsed = parse_frame(&frame).unwrap();
        let Payload::Ndisc(nd) = parsed.payload else {
            panic!("not ndisc")
        };
        let NdiscRepr::NeighborAdvert {
            flags,
            target,
            target_lladdr,
        } = nd.repr
        else {
            panic!("not an NA")
        };
        assert_eq!(target, VIP6);
        assert_eq!(target_lladdr, Some(MAC));
        assert_eq!(flags.router, router);
        assert!(flags.override_ && !flags.solicited);
    }
}

#[test]
fn vlan_tags_are_applied_to_both_families() {
    let mut cfg = Config::keepalived(MAC);
    cfg.vlans = vec![VlanTag::dot1ad(100), VlanTag::dot1q(42)];
    cfg.addresses = vec![IpAddr::V4(VIP), IpAddr::V6(VIP6)];
    cfg.repeat = 1;
    let mut a = Announcer::new(cfg.clone(), Instant::now()).unwrap();
    a.handle(Instant::now(), Input::Start);
    let mut frames = Vec::new();
    while let Some(o) = a.poll_output() {
        if let Output::Transmit { frame, .. } = o {
            frames.push(frame);
        }
    }
    assert_eq!(frames.len(), 2);
    let mut garp = Frame::gratuitous_arp(MAC, VIP);
    garp.eth.vlans = cfg.vlans.clone();
    assert_eq!(frames[0], garp.to_bytes());
    assert_eq!(
        &frames[0][12..20],
        &[0x88, 0xa8, 0x00, 100, 0x81, 0x00, 0x00, 42]
    );
    let mut na = Frame::unsolicited_na(MAC, VIP6, false);
    na.eth.vlans = cfg.vlans.clone();
    assert_eq!(frames[1], na.to_bytes());
    assert_eq!(parse_frame(&frames[1]).unwrap().eth.vlans, cfg.vlans);
}

#[test]
fn every_emitted_frame_parses_back() {
    let mut cfg = Config::keepalived(MAC);
    cfg.garp_form = GarpForm::Reply;
    cfg.addresses = (1..=20)
        .map(|i| IpAddr::V4(Ipv4Addr::new(192, 0, 2, i)))
        .chain((1..=20).map(|i| IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, i))))
        .collect();
    let mut a = Announcer::new(cfg, Instant::now()).unwrap();
    a.handle(Instant::now(), Input::Start);
    let mut n = 0;
    while let Some(o) = a.poll_output() {
        if let Output::Transmit { address, frame } = o {
            let f = parse_frame(&frame).unwrap();
            match (address, f.payload) {
                (IpAddr::V4(ip), Payload::Arp(arp)) => {
                    assert!(arp.is_gratuitous());
                    assert_eq!((arp.spa, arp.tpa), (ip, ip));
                }
                (IpAddr::V6(ip), Payload::Ndisc(nd)) => assert_eq!(nd.repr.target(), ip),
                other => panic!("mismatch {other:?}"),
            }
            n += 1;
        }
    }
    assert_eq!(n, 40 * 5);
}
