//! IPv6 Neighbor Solicitation and Advertisement (RFC 4861 §4.3, §4.4) with
//! the Source/Target Link-Layer Address options (§4.6.1), carried in a
//! fixed IPv6 header (RFC 8200 §3) and checksummed over the pseudo-header
//! (RFC 8200 §8.1, RFC 4443 §2.3). Receivers' validity checks follow
//! §7.1.1 / §7.1.2 except the hop limit of 255, which is reported in
//! [`NdiscPacket::hop_limit`] for the caller to check.

use core::net::Ipv6Addr;

use super::{WireError, be16, checksum, octets};
use crate::MacAddr;

/// Fixed IPv6 header length.
pub const IPV6_HEADER_LEN: usize = 40;
/// IPv6 next header value of ICMPv6.
pub const NEXT_HEADER_ICMPV6: u8 = 58;
/// ICMPv6 type Neighbor Solicitation.
pub const ICMPV6_NEIGHBOR_SOLICIT: u8 = 135;
/// ICMPv6 type Neighbor Advertisement.
pub const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
/// Option type Source Link-Layer Address (§4.6.1).
pub const OPT_SOURCE_LLADDR: u8 = 1;
/// Option type Target Link-Layer Address (§4.6.1).
pub const OPT_TARGET_LLADDR: u8 = 2;
/// The hop limit every ND message is sent with and must arrive with.
pub const HOP_LIMIT: u8 = 255;
/// ff02::1, all-nodes link-local multicast.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Type, code, checksum, 4 bytes of flags/reserved and the 16-byte target.
const NDISC_FIXED_LEN: usize = 24;
/// A link-layer address option for Ethernet: 8 bytes (length 1).
const LLADDR_OPT_LEN: usize = 8;

/// The solicited-node multicast address of `addr` (RFC 4291 §2.7.1):
/// ff02::1:ff00:0/104 plus its low 24 bits.
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, o[13], o[14], o[15],
    ])
}

/// A checked view of an IPv6 packet: the fixed header is present, the
/// version is 6 and the payload length fits. Bytes after the payload
/// (Ethernet padding) are ignored. Extension headers are not walked.
#[derive(Debug, Clone)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Checks the header length, version and payload length.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let bytes = buffer.as_ref();
        let header: &[u8; IPV6_HEADER_LEN] = bytes.first_chunk().ok_or(WireError::Truncated {
            needed: IPV6_HEADER_LEN,
            have: bytes.len(),
        })?;
        let version = header[0] >> 4;
        if version != 6 {
            return Err(WireError::Unsupported {
                field: "IPv6 version",
                value: u32::from(version),
            });
        }
        let needed =
            IPV6_HEADER_LEN.saturating_add(usize::from(u16::from_be_bytes([header[4], header[5]])));
        if bytes.len() < needed {
            return Err(WireError::Truncated {
                needed,
                have: bytes.len(),
            });
        }
        Ok(Ipv6Packet { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Payload length field.
    pub fn payload_len(&self) -> u16 {
        be16(self.buffer.as_ref(), 4).unwrap_or(0)
    }

    /// Next header field.
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref().get(6).copied().unwrap_or(0)
    }

    /// Hop limit field.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref().get(7).copied().unwrap_or(0)
    }

    /// Source address.
    pub fn src(&self) -> Ipv6Addr {
        Ipv6Addr::from(octets::<16>(self.buffer.as_ref(), 8).unwrap_or([0; 16]))
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv6Addr {
        Ipv6Addr::from(octets::<16>(self.buffer.as_ref(), 24).unwrap_or([0; 16]))
    }

    /// Exactly `payload_len` bytes after the header.
    pub fn payload(&self) -> &[u8] {
        let end = IPV6_HEADER_LEN.saturating_add(usize::from(self.payload_len()));
        self.buffer
            .as_ref()
            .get(IPV6_HEADER_LEN..end)
            .unwrap_or(&[])
    }
}

/// A checked view of an ICMPv6 message: type, code and checksum are present.
#[derive(Debug, Clone)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    /// Checks that the 4-byte ICMPv6 header is present.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let have = buffer.as_ref().len();
        if have < 4 {
            return Err(WireError::Truncated { needed: 4, have });
        }
        Ok(Icmpv6Packet { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// ICMPv6 type.
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref().first().copied().unwrap_or(0)
    }

    /// ICMPv6 code.
    pub fn code(&self) -> u8 {
        self.buffer.as_ref().get(1).copied().unwrap_or(0)
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), 2).unwrap_or(0)
    }

    /// Whether the checksum verifies for this source and destination.
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        checksum::ipv6_upper_layer(src, dst, NEXT_HEADER_ICMPV6, self.buffer.as_ref()) == 0
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The R, S and O flags of a Neighbor Advertisement (§4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NaFlags {
    /// R: the sender is a router.
    pub router: bool,
    /// S: sent in response to a solicitation.
    pub solicited: bool,
    /// O: override an existing cache entry.
    pub override_: bool,
}

impl NaFlags {
    const ROUTER: u8 = 0x80;
    const SOLICITED: u8 = 0x40;
    const OVERRIDE: u8 = 0x20;

    /// The flag byte on the wire.
    pub fn bits(self) -> u8 {
        (if self.router { Self::ROUTER } else { 0 })
            | (if self.solicited { Self::SOLICITED } else { 0 })
            | (if self.override_ { Self::OVERRIDE } else { 0 })
    }

    /// Flags from the first byte after the checksum; reserved bits ignored.
    pub fn from_bits(bits: u8) -> Self {
        NaFlags {
            router: bits & Self::ROUTER != 0,
            solicited: bits & Self::SOLICITED != 0,
            override_: bits & Self::OVERRIDE != 0,
        }
    }
}

/// A Neighbor Solicitation or Advertisement for Ethernet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdiscRepr {
    /// Type 135 (§4.3).
    NeighborSolicit {
        /// The address being resolved; never multicast.
        target: Ipv6Addr,
        /// The Source Link-Layer Address option.
        source_lladdr: Option<MacAddr>,
    },
    /// Type 136 (§4.4).
    NeighborAdvert {
        /// R, S, O.
        flags: NaFlags,
        /// The address whose link-layer address is advertised; never multicast.
        target: Ipv6Addr,
        /// The Target Link-Layer Address option.
        target_lladdr: Option<MacAddr>,
    },
}

impl NdiscRepr {
    /// The ICMPv6 type.
    pub const fn msg_type(&self) -> u8 {
        match self {
            NdiscRepr::NeighborSolicit { .. } => ICMPV6_NEIGHBOR_SOLICIT,
            NdiscRepr::NeighborAdvert { .. } => ICMPV6_NEIGHBOR_ADVERT,
        }
    }

    /// The target address.
    pub const fn target(&self) -> Ipv6Addr {
        match *self {
            NdiscRepr::NeighborSolicit { target, .. }
            | NdiscRepr::NeighborAdvert { target, .. } => target,
        }
    }

    /// The link-layer address option (source for NS, target for NA).
    pub const fn lladdr(&self) -> Option<MacAddr> {
        match *self {
            NdiscRepr::NeighborSolicit { source_lladdr, .. } => source_lladdr,
            NdiscRepr::NeighborAdvert { target_lladdr, .. } => target_lladdr,
        }
    }

    /// Reads an NS or NA message whose checksum has been verified: code 0
    /// (§7.1.1/§7.1.2), at least 24 bytes, target not multicast, options
    /// well-formed (§4.6: length 0 is invalid). Unknown options are skipped;
    /// of repeated link-layer address options the first counts (as Linux
    /// `ndisc_parse_options`). Other ICMPv6 types are [`WireError::Unsupported`].
    pub fn parse<T: AsRef<[u8]>>(packet: &Icmpv6Packet<T>) -> Result<Self, WireError> {
        let msg_type = packet.msg_type();
        let wanted = match msg_type {
            ICMPV6_NEIGHBOR_SOLICIT => OPT_SOURCE_LLADDR,
            ICMPV6_NEIGHBOR_ADVERT => OPT_TARGET_LLADDR,
            other => {
                return Err(WireError::Unsupported {
                    field: "ICMPv6 type",
                    value: u32::from(other),
                });
            }
        };
        if packet.code() != 0 {
            return Err(WireError::Malformed("ICMPv6 code of an NS/NA is not 0"));
        }
        let bytes = packet.as_bytes();
        let (fixed, options) =
            bytes
                .split_first_chunk::<NDISC_FIXED_LEN>()
                .ok_or(WireError::Truncated {
                    needed: NDISC_FIXED_LEN,
                    have: bytes.len(),
                })?;
        let target = Ipv6Addr::from(octets::<16>(fixed, 8).unwrap_or([0; 16]));
        if target.is_multicast() {
            return Err(WireError::Malformed("NS/NA target is a multicast address"));
        }
        let lladdr = parse_options(options, wanted)?;
        Ok(if msg_type == ICMPV6_NEIGHBOR_SOLICIT {
            NdiscRepr::NeighborSolicit {
                target,
                source_lladdr: lladdr,
            }
        } else {
            NdiscRepr::NeighborAdvert {
                flags: NaFlags::from_bits(fixed[4]),
                target,
                target_lladdr: lladdr,
            }
        })
    }

    /// Length of the ICMPv6 message.
    pub fn buffer_len(&self) -> usize {
        if self.lladdr().is_some() {
            NDISC_FIXED_LEN.saturating_add(LLADDR_OPT_LEN)
        } else {
            NDISC_FIXED_LEN
        }
    }

    /// Appends the ICMPv6 message, checksummed for `src` → `dst`, to `out`.
    pub fn append_to(&self, src: &Ipv6Addr, dst: &Ipv6Addr, out: &mut Vec<u8>) {
        let start = out.len();
        let (flags, option) = match *self {
            NdiscRepr::NeighborSolicit { source_lladdr, .. } => {
                (0, (OPT_SOURCE_LLADDR, source_lladdr))
            }
            NdiscRepr::NeighborAdvert {
                flags,
                target_lladdr,
                ..
            } => (flags.bits(), (OPT_TARGET_LLADDR, target_lladdr)),
        };
        out.extend_from_slice(&[self.msg_type(), 0, 0, 0, flags, 0, 0, 0]);
        out.extend_from_slice(&self.target().octets());
        if let (opt_type, Some(mac)) = option {
            out.extend_from_slice(&[opt_type, 1]);
            out.extend_from_slice(&mac.0);
        }
        let sum = checksum::ipv6_upper_layer(
            src,
            dst,
            NEXT_HEADER_ICMPV6,
            out.get(start..).unwrap_or(&[]),
        );
        if let Some(field) = out.get_mut(start.saturating_add(2)..start.saturating_add(4)) {
            field.copy_from_slice(&sum.to_be_bytes());
        }
    }
}

/// Walks the options (§4.6) and returns the first Ethernet link-layer
/// address option of type `wanted`.
fn parse_options(mut options: &[u8], wanted: u8) -> Result<Option<MacAddr>, WireError> {
    let mut found = None;
    while !options.is_empty() {
        let [opt_type, len_units, ..] = *options else {
            return Err(WireError::Malformed("ND option shorter than 2 bytes"));
        };
        if len_units == 0 {
            return Err(WireError::Malformed("ND option length 0 (RFC 4861 §4.6)"));
        }
        let len = usize::from(len_units).saturating_mul(8);
        let (option, rest) = options
            .split_at_checked(len)
            .ok_or(WireError::Malformed("ND option runs past the message"))?;
        if opt_type == wanted && found.is_none() {
            if len_units != 1 {
                return Err(WireError::Malformed(
                    "link-layer address option length is not 1 for Ethernet",
                ));
            }
            found = octets::<6>(option, 2).map(MacAddr);
        }
        options = rest;
    }
    Ok(found)
}

/// An NS or NA with the IPv6 header fields that matter to ND.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdiscPacket {
    /// IPv6 source.
    pub src: Ipv6Addr,
    /// IPv6 destination.
    pub dst: Ipv6Addr,
    /// IPv6 hop limit; valid ND messages carry 255 (§7.1.1).
    pub hop_limit: u8,
    /// The ICMPv6 message.
    pub repr: NdiscRepr,
}

impl NdiscPacket {
    /// Reads an NS/NA from a checked IPv6 packet: next header 58 (extension
    /// headers are not walked), ICMPv6 checksum, then [`NdiscRepr::parse`] and
    /// the address checks of §7.1.1 (unspecified source: no SLLA) and §7.1.2
    /// (multicast destination: S = 0).
    pub fn parse<T: AsRef<[u8]>>(ip: &Ipv6Packet<T>) -> Result<Self, WireError> {
        if ip.next_header() != NEXT_HEADER_ICMPV6 {
            return Err(WireError::Unsupported {
                field: "IPv6 next header",
                value: u32::from(ip.next_header()),
            });
        }
        let icmp = Icmpv6Packet::new_checked(ip.payload())?;
        let (src, dst) = (ip.src(), ip.dst());
        if !matches!(
            icmp.msg_type(),
            ICMPV6_NEIGHBOR_SOLICIT | ICMPV6_NEIGHBOR_ADVERT
        ) {
            return Err(WireError::Unsupported {
                field: "ICMPv6 type",
                value: u32::from(icmp.msg_type()),
            });
        }
        if !icmp.verify_checksum(&src, &dst) {
            return Err(WireError::Checksum);
        }
        let repr = NdiscRepr::parse(&icmp)?;
        match repr {
            NdiscRepr::NeighborSolicit {
                source_lladdr: Some(_),
                ..
            } if src.is_unspecified() => {
                return Err(WireError::Malformed(
                    "NS from the unspecified address carries a source link-layer address",
                ));
            }
            NdiscRepr::NeighborAdvert { flags, .. } if flags.solicited && dst.is_multicast() => {
                return Err(WireError::Malformed(
                    "NA to a multicast destination has the S flag set",
                ));
            }
            _ => {}
        }
        Ok(NdiscPacket {
            src,
            dst,
            hop_limit: ip.hop_limit(),
            repr,
        })
    }

    /// Checks and reads an IPv6 packet (trailing padding allowed).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        Self::parse(&Ipv6Packet::new_checked(bytes)?)
    }

    /// IPv6 header plus ICMPv6 message.
    pub fn buffer_len(&self) -> usize {
        IPV6_HEADER_LEN.saturating_add(self.repr.buffer_len())
    }

    /// Writes the IPv6 packet into the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let mut v = Vec::with_capacity(self.buffer_len());
        self.append_to(&mut v);
        super::copy_out(&v, buf)
    }

    /// Appends the IPv6 packet (traffic class and flow label 0) to `out`.
    pub fn append_to(&self, out: &mut Vec<u8>) {
        let payload_len = u16::try_from(self.repr.buffer_len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&[0x60, 0, 0, 0]);
        out.extend_from_slice(&payload_len.to_be_bytes());
        out.extend_from_slice(&[NEXT_HEADER_ICMPV6, self.hop_limit]);
        out.extend_from_slice(&self.src.octets());
        out.extend_from_slice(&self.dst.octets());
        self.repr.append_to(&self.src, &self.dst, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0x00, 0x00, 0x5e, 0x00, 0x02, 0x01]);
    const VIP: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);

    fn na() -> NdiscPacket {
        NdiscPacket {
            src: VIP,
            dst: ALL_NODES,
            hop_limit: 255,
            repr: NdiscRepr::NeighborAdvert {
                flags: NaFlags {
                    router: true,
                    solicited: false,
                    override_: true,
                },
                target: VIP,
                target_lladdr: Some(MAC),
            },
        }
    }

    fn bytes(p: &NdiscPacket) -> Vec<u8> {
        let mut v = Vec::new();
        p.append_to(&mut v);
        v
    }

    /// Re-checksums a modified message so only the intended defect remains.
    fn fix_checksum(v: &mut [u8]) {
        v[42] = 0;
        v[43] = 0;
        let src = Ipv6Addr::from(<[u8; 16]>::try_from(&v[8..24]).unwrap());
        let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&v[24..40]).unwrap());
        let c = checksum::ipv6_upper_layer(&src, &dst, 58, &v[40..]);
        v[42..44].copy_from_slice(&c.to_be_bytes());
    }

    #[test]
    fn solicited_node_address() {
        assert_eq!(
            solicited_node("fe80::2aa:ff:fe28:9c5a".parse().unwrap()),
            "ff02::1:ff28:9c5a".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn round_trip_and_layout() {
        let v = bytes(&na());
        assert_eq!(v.len(), 72);
        assert_eq!(&v[..8], &[0x60, 0, 0, 0, 0, 32, 58, 255]);
        assert_eq!(&v[40..42], &[136, 0]);
        assert_eq!(v[44], 0xa0);
        assert_eq!(&v[64..72], &[2, 1, 0x00, 0x00, 0x5e, 0x00, 0x02, 0x01]);
        assert_eq!(NdiscPacket::parse_bytes(&v), Ok(na()));
        let mut out = [0u8; 71];
        assert_eq!(
            na().emit(&mut out),
            Err(WireError::InsufficientSize { required: 72 })
        );
    }

    #[test]
    fn options() {
        let mut v = bytes(&na());
        // Unknown option (type 14 Nonce, length 1) before the TLLA is skipped.
        v.splice(64..64, [14, 1, 1, 2, 3, 4, 5, 6]);
        v[5] = 40;
        fix_checksum(&mut v);
        assert_eq!(NdiscPacket::parse_bytes(&v), Ok(na()));
        // A second TLLA is ignored; the first counts.
        v.extend_from_slice(&[2, 1, 9, 9, 9, 9, 9, 9]);
        v[5] = 48;
        fix_checksum(&mut v);
        assert_eq!(NdiscPacket::parse_bytes(&v), Ok(na()));
        // Length 0 is invalid.
        let mut z = bytes(&na());
        z[65] = 0;
        fix_checksum(&mut z);
        assert_eq!(
            NdiscPacket::parse_bytes(&z),
            Err(WireError::Malformed("ND option length 0 (RFC 4861 §4.6)"))
        );
        // An option longer than the message.
        let mut long = bytes(&na());
        long[65] = 2;
        fix_checksum(&mut long);
        assert!(matches!(
            NdiscPacket::parse_bytes(&long),
            Err(WireError::Malformed(_))
        ));
        // A dangling single byte.
        let mut odd = bytes(&na());
        odd.push(2);
        odd[5] = 33;
        fix_checksum(&mut odd);
        assert!(matches!(
            NdiscPacket::parse_bytes(&odd),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn validity_checks() {
        let mut code = bytes(&na());
        code[41] = 1;
        fix_checksum(&mut code);
        assert!(matches!(
            NdiscPacket::parse_bytes(&code),
            Err(WireError::Malformed(_))
        ));
        let mut bad = bytes(&na());
        bad[43] ^= 1;
        assert_eq!(NdiscPacket::parse_bytes(&bad), Err(WireError::Checksum));
        let mut p = na();
        p.repr = NdiscRepr::NeighborSolicit {
            target: ALL_NODES,
            source_lladdr: None,
        };
        assert!(matches!(
            NdiscPacket::parse_bytes(&bytes(&p)),
            Err(WireError::Malformed(_))
        ));
        p.repr = NdiscRepr::NeighborSolicit {
            target: VIP,
            source_lladdr: Some(MAC),
        };
        p.src = Ipv6Addr::UNSPECIFIED;
        assert!(matches!(
            NdiscPacket::parse_bytes(&bytes(&p)),
            Err(WireError::Malformed(_))
        ));
        let mut s = na();
        s.repr = NdiscRepr::NeighborAdvert {
            flags: NaFlags {
                router: false,
                solicited: true,
                override_: true,
            },
            target: VIP,
            target_lladdr: None,
        };
        assert!(matches!(
            NdiscPacket::parse_bytes(&bytes(&s)),
            Err(WireError::Malformed(_))
        ));
        s.dst = "fe80::1".parse().unwrap();
        assert_eq!(NdiscPacket::parse_bytes(&bytes(&s)), Ok(s));
        let mut v6 = bytes(&na());
        v6[0] = 0x40;
        assert_eq!(
            NdiscPacket::parse_bytes(&v6),
            Err(WireError::Unsupported {
                field: "IPv6 version",
                value: 4
            })
        );
    }
}
