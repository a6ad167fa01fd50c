//! Fuzz entry `arp_frame`: [`crate::wire::parse_frame`] on arbitrary bytes.

use crate::wire::{
    ArpPacket, ArpRepr, EthernetFrame, EthernetRepr, Frame, Icmpv6Packet, Ipv6Packet, NdiscPacket,
    NdiscRepr, Payload, parse_frame,
};

/// Parses `data` as an Ethernet frame and, when it parses, requires that
/// emitting and re-parsing yields the same frame, that the emitted length
/// matches `buffer_len`, and that the payload views agree with the frame.
/// The views are also driven directly on the raw bytes.
pub fn arp_frame(data: &[u8]) -> Result<(), String> {
    drive_views(data);
    let Ok(frame) = parse_frame(data) else {
        return Ok(());
    };
    let bytes = frame.to_bytes();
    if bytes.len() != frame.buffer_len() {
        return Err(format!(
            "emitted {} bytes, buffer_len says {}",
            bytes.len(),
            frame.buffer_len()
        ));
    }
    match parse_frame(&bytes) {
        Ok(again) if again == frame => {}
        Ok(again) => return Err(format!("re-parse differs: {frame:?} vs {again:?}")),
        Err(e) => return Err(format!("emitted frame does not parse: {e}: {frame:?}")),
    }
    check_views(&frame, data)
}

/// The payload views, read directly, must agree with `parse_frame`.
fn check_views(frame: &Frame, data: &[u8]) -> Result<(), String> {
    let eth = EthernetFrame::new_checked(data).map_err(|e| format!("view rejects: {e}"))?;
    let eth_repr = EthernetRepr::parse(&eth).map_err(|e| format!("repr rejects: {e}"))?;
    if eth_repr != frame.eth {
        return Err(format!("Ethernet view {eth_repr:?} vs {:?}", frame.eth));
    }
    match &frame.payload {
        Payload::Arp(arp) => {
            let direct = ArpRepr::parse_bytes(eth.payload());
            if direct.as_ref() != Ok(arp) {
                return Err(format!("ARP view {direct:?} vs {arp:?}"));
            }
        }
        Payload::Ndisc(nd) => {
            let direct = NdiscPacket::parse_bytes(eth.payload());
            if direct.as_ref() != Ok(nd) {
                return Err(format!("ND view {direct:?} vs {nd:?}"));
            }
        }
        Payload::Other(bytes) => {
            if bytes.as_slice() != eth.payload() {
                return Err("Other payload differs from the Ethernet payload".to_owned());
            }
        }
    }
    Ok(())
}

/// Runs every view and `Repr` parser over `data` and its suffixes; they must
/// return, not panic.
fn drive_views(data: &[u8]) {
    for skip in [0usize, 14, 18, 22] {
        let Some(tail) = data.get(skip..) else {
            continue;
        };
        if let Ok(p) = ArpPacket::new_checked(tail) {
            let _ = (p.opcode(), p.sha(), p.spa(), p.tha(), p.tpa());
            let _ = ArpRepr::parse(&p);
        }
        if let Ok(ip) = Ipv6Packet::new_checked(tail) {
            let _ = (ip.payload_len(), ip.next_header(), ip.hop_limit());
            let _ = NdiscPacket::parse(&ip);
        }
        if let Ok(icmp) = Icmpv6Packet::new_checked(tail) {
            let _ = (icmp.msg_type(), icmp.code(), icmp.checksum());
            let _ = NdiscRepr::parse(&icmp);
        }
        if let Ok(eth) = EthernetFrame::new_checked(tail) {
            let _ = (eth.dst(), eth.src(), eth.ethertype(), eth.payload().len());
            let _ = (eth.vlan(0), eth.vlan(1), eth.vlan(2), eth.vlan(usize::MAX));
        }
    }
}
