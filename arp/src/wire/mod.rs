//! Wire formats: checked views over byte slices plus owned `Repr`s with
//! `parse` / `emit`, in the style of smoltcp. Nothing here panics on any input.
//!
//! [`parse_frame`] reads a whole Ethernet frame into a [`Frame`]; the
//! [`Frame`] constructors build the messages ARP and ND speakers send, and
//! [`Frame::to_bytes`] emits them without padding (the NIC pads to 60 bytes).

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::MacAddr;

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod ndisc;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use ethernet::{
    ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, EthernetFrame, EthernetRepr, TPID_8021AD,
    TPID_8021Q, VlanTag,
};
pub use ndisc::{Icmpv6Packet, Ipv6Packet, NaFlags, NdiscPacket, NdiscRepr};

/// Why a frame or packet was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Shorter than its header or its declared length.
    #[error("truncated: need {needed} bytes, have {have}")]
    Truncated { needed: usize, have: usize },
    /// A field holds a value this codec does not handle (wrong hardware
    /// type, protocol, opcode, ICMPv6 type, …).
    #[error("unsupported {field} value {value:#x}")]
    Unsupported { field: &'static str, value: u32 },
    /// A field violates the standard (e.g. bad option length, hop limit ≠ 255).
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// The checksum does not verify.
    #[error("bad checksum")]
    Checksum,
    /// The output buffer is too small; `required` bytes are needed.
    #[error("buffer too small: {required} bytes required")]
    InsufficientSize { required: usize },
}

/// What an Ethernet frame carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// EtherType 0x0806.
    Arp(ArpRepr),
    /// EtherType 0x86dd, next header 58, ICMPv6 type 135 or 136.
    Ndisc(NdiscPacket),
    /// Anything else: the bytes after the Ethernet header, padding included.
    Other(Vec<u8>),
}

/// A parsed Ethernet frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Addresses, VLAN tags and EtherType.
    pub eth: EthernetRepr,
    /// The decoded payload.
    pub payload: Payload,
}

/// Parses an Ethernet frame (without FCS). ARP and IPv6 NS/NA are decoded
/// and must be valid; any other EtherType, IPv6 next header or ICMPv6 type is
/// [`Payload::Other`]. Trailing padding after ARP and IPv6 is ignored.
pub fn parse_frame(bytes: &[u8]) -> Result<Frame, WireError> {
    let frame = EthernetFrame::new_checked(bytes)?;
    let eth = EthernetRepr::parse(&frame)?;
    let data = frame.payload();
    let payload = match eth.ethertype {
        ethernet::ETHERTYPE_ARP => Payload::Arp(ArpRepr::parse_bytes(data)?),
        ethernet::ETHERTYPE_IPV6 => {
            let ip = Ipv6Packet::new_checked(data)?;
            let is_nd = ip.next_header() == ndisc::NEXT_HEADER_ICMPV6
                && matches!(
                    ip.payload().first(),
                    Some(&(ndisc::ICMPV6_NEIGHBOR_SOLICIT | ndisc::ICMPV6_NEIGHBOR_ADVERT))
                );
            if is_nd {
                Payload::Ndisc(NdiscPacket::parse(&ip)?)
            } else {
                Payload::Other(data.to_vec())
            }
        }
        _ => Payload::Other(data.to_vec()),
    };
    Ok(Frame { eth, payload })
}

impl Frame {
    /// Emitted length: header, tags and payload, no padding.
    pub fn buffer_len(&self) -> usize {
        let payload = match &self.payload {
            Payload::Arp(a) => a.buffer_len(),
            Payload::Ndisc(n) => n.buffer_len(),
            Payload::Other(v) => v.len(),
        };
        self.eth.header_len().saturating_add(payload)
    }

    /// The frame's bytes without padding or FCS. For ARP and NS/NA payloads
    /// the EtherType written is 0x0806 / 0x86dd whatever `eth.ethertype` says;
    /// for [`Payload::Other`] it is `eth.ethertype`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buffer_len());
        let ethertype = match &self.payload {
            Payload::Arp(_) => ethernet::ETHERTYPE_ARP,
            Payload::Ndisc(_) => ethernet::ETHERTYPE_IPV6,
            Payload::Other(_) => self.eth.ethertype,
        };
        EthernetRepr {
            ethertype,
            ..self.eth.clone()
        }
        .append_to(&mut out);
        match &self.payload {
            Payload::Arp(a) => a.append_to(&mut out),
            Payload::Ndisc(n) => n.append_to(&mut out),
            Payload::Other(v) => out.extend_from_slice(v),
        }
        out
    }

    /// Writes [`Frame::to_bytes`] into the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        copy_out(&self.to_bytes(), buf)
    }

    fn arp(dst: MacAddr, src: MacAddr, arp: ArpRepr) -> Frame {
        Frame {
            eth: EthernetRepr::new(dst, src, ethernet::ETHERTYPE_ARP),
            payload: Payload::Arp(arp),
        }
    }

    fn ndisc(dst_mac: MacAddr, src_mac: MacAddr, packet: NdiscPacket) -> Frame {
        Frame {
            eth: EthernetRepr::new(dst_mac, src_mac, ethernet::ETHERTYPE_IPV6),
            payload: Payload::Ndisc(packet),
        }
    }

    /// The gratuitous ARP keepalived and FRR (`vrrp_arp.c`) send: broadcast,
    /// request, spa = tpa = `ip`, tha ff:ff:ff:ff:ff:ff. 42 bytes.
    pub fn gratuitous_arp(src_mac: MacAddr, ip: Ipv4Addr) -> Frame {
        Self::arp(
            MacAddr::BROADCAST,
            src_mac,
            ArpRepr::gratuitous_request(src_mac, ip),
        )
    }

    /// A broadcast ARP request for `tpa` (RFC 826), tha all zeros.
    pub fn arp_request(src_mac: MacAddr, spa: Ipv4Addr, tpa: Ipv4Addr) -> Frame {
        Self::arp(
            MacAddr::BROADCAST,
            src_mac,
            ArpRepr::request(src_mac, spa, tpa),
        )
    }

    /// A unicast ARP reply to `dst_mac` / `tpa`.
    pub fn arp_reply(src_mac: MacAddr, spa: Ipv4Addr, dst_mac: MacAddr, tpa: Ipv4Addr) -> Frame {
        Self::arp(dst_mac, src_mac, ArpRepr::reply(src_mac, spa, dst_mac, tpa))
    }

    /// The unsolicited NA keepalived and FRR (`vrrp_ndisc.c`) send: from `ip`
    /// to ff02::1 (33:33:00:00:00:01), hop limit 255, R = `router`, S = 0,
    /// O = 1, target `ip`, Target LLA `src_mac` (RFC 4861 §7.2.6). 86 bytes.
    pub fn unsolicited_na(src_mac: MacAddr, ip: Ipv6Addr, router: bool) -> Frame {
        Self::ndisc(
            MacAddr::ipv6_multicast(ndisc::ALL_NODES),
            src_mac,
            NdiscPacket {
                src: ip,
                dst: ndisc::ALL_NODES,
                hop_limit: ndisc::HOP_LIMIT,
                repr: NdiscRepr::NeighborAdvert {
                    flags: NaFlags {
                        router,
                        solicited: false,
                        override_: true,
                    },
                    target: ip,
                    target_lladdr: Some(src_mac),
                },
            },
        )
    }

    /// A Neighbor Solicitation for `target` (RFC 4861 §7.2.2). `dst` `None`
    /// sends it to the solicited-node multicast address of `target`; `Some`
    /// sends it unicast (reachability confirmation). The Source LLA option is
    /// included unless `src_ip` is unspecified (DAD, §4.3).
    pub fn neighbor_solicit(
        src_mac: MacAddr,
        src_ip: Ipv6Addr,
        target: Ipv6Addr,
        dst: Option<(MacAddr, Ipv6Addr)>,
    ) -> Frame {
        let (dst_mac, dst_ip) = dst.unwrap_or_else(|| {
            let group = ndisc::solicited_node(target);
            (MacAddr::ipv6_multicast(group), group)
        });
        let source_lladdr = (!src_ip.is_unspecified()).then_some(src_mac);
        Self::ndisc(
            dst_mac,
            src_mac,
            NdiscPacket {
                src: src_ip,
                dst: dst_ip,
                hop_limit: ndisc::HOP_LIMIT,
                repr: NdiscRepr::NeighborSolicit {
                    target,
                    source_lladdr,
                },
            },
        )
    }

    /// A Neighbor Advertisement for `target` with a Target LLA option
    /// `src_mac` (RFC 4861 §7.2.4).
    pub fn neighbor_advert(
        src_mac: MacAddr,
        src_ip: Ipv6Addr,
        dst_mac: MacAddr,
        dst_ip: Ipv6Addr,
        target: Ipv6Addr,
        flags: NaFlags,
    ) -> Frame {
        Self::ndisc(
            dst_mac,
            src_mac,
            NdiscPacket {
                src: src_ip,
                dst: dst_ip,
                hop_limit: ndisc::HOP_LIMIT,
                repr: NdiscRepr::NeighborAdvert {
                    flags,
                    target,
                    target_lladdr: Some(src_mac),
                },
            },
        )
    }
}

/// A big-endian `u16` at `at`.
pub(crate) fn be16(buf: &[u8], at: usize) -> Option<u16> {
    octets::<2>(buf, at).map(u16::from_be_bytes)
}

/// `N` bytes at `at`.
pub(crate) fn octets<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Copies `src` into the start of `dst`; returns its length.
pub(crate) fn copy_out(src: &[u8], dst: &mut [u8]) -> Result<usize, WireError> {
    let room = dst
        .get_mut(..src.len())
        .ok_or(WireError::InsufficientSize {
            required: src.len(),
        })?;
    for (d, s) in room.iter_mut().zip(src) {
        *d = *s;
    }
    Ok(src.len())
}
