//! ARP for Ethernet and IPv4 (RFC 826), with the gratuitous forms sent by
//! keepalived, FRR, iputils `arping` and the Linux kernel, Linux's
//! `arp_is_garp` test and the RFC 5227 probe.

use core::net::Ipv4Addr;

use super::{WireError, be16, octets};
use crate::MacAddr;

/// Hardware type Ethernet (RFC 826, IANA ARP parameters).
pub const HTYPE_ETHERNET: u16 = 1;
/// Protocol type IPv4.
pub const PTYPE_IPV4: u16 = 0x0800;
/// Length of an Ethernet/IPv4 ARP packet: 8-byte fixed part, 2 × (6 + 4).
pub const PACKET_LEN: usize = 28;
/// The fixed part: htype, ptype, hlen, plen, oper.
const FIXED_LEN: usize = 8;

/// The ARP opcode (RFC 826 `ar$op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOperation {
    /// `ares_op$REQUEST` = 1.
    Request,
    /// `ares_op$REPLY` = 2.
    Reply,
}

impl ArpOperation {
    /// The opcode on the wire.
    pub const fn code(self) -> u16 {
        match self {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
        }
    }

    /// The operation for an opcode, if it is 1 or 2.
    pub const fn from_code(code: u16) -> Option<Self> {
        match code {
            1 => Some(ArpOperation::Request),
            2 => Some(ArpOperation::Reply),
            _ => None,
        }
    }
}

/// A checked view of an Ethernet/IPv4 ARP packet: at least 28 bytes with
/// htype 1, ptype 0x0800, hlen 6 and plen 4. Trailing bytes (Ethernet
/// padding) are allowed and ignored.
#[derive(Debug, Clone)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Checks length and the four format fields.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let bytes = buffer.as_ref();
        let truncated = |needed| WireError::Truncated {
            needed,
            have: bytes.len(),
        };
        let fixed: &[u8; FIXED_LEN] = bytes.first_chunk().ok_or(truncated(FIXED_LEN))?;
        let [h0, h1, p0, p1, hlen, plen, _, _] = *fixed;
        let htype = u16::from_be_bytes([h0, h1]);
        if htype != HTYPE_ETHERNET {
            return Err(WireError::Unsupported {
                field: "ARP hardware type",
                value: u32::from(htype),
            });
        }
        let ptype = u16::from_be_bytes([p0, p1]);
        if ptype != PTYPE_IPV4 {
            return Err(WireError::Unsupported {
                field: "ARP protocol type",
                value: u32::from(ptype),
            });
        }
        if hlen != 6 {
            return Err(WireError::Malformed(
                "ARP hardware address length is not 6 for Ethernet",
            ));
        }
        if plen != 4 {
            return Err(WireError::Malformed(
                "ARP protocol address length is not 4 for IPv4",
            ));
        }
        if bytes.len() < PACKET_LEN {
            return Err(truncated(PACKET_LEN));
        }
        Ok(ArpPacket { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn mac_at(&self, at: usize) -> MacAddr {
        MacAddr(octets(self.buffer.as_ref(), at).unwrap_or([0; 6]))
    }

    fn ipv4_at(&self, at: usize) -> Ipv4Addr {
        Ipv4Addr::from(octets::<4>(self.buffer.as_ref(), at).unwrap_or([0; 4]))
    }

    /// `ar$op`, raw.
    pub fn opcode(&self) -> u16 {
        be16(self.buffer.as_ref(), 6).unwrap_or(0)
    }

    /// Sender hardware address `ar$sha`.
    pub fn sha(&self) -> MacAddr {
        self.mac_at(8)
    }

    /// Sender protocol address `ar$spa`.
    pub fn spa(&self) -> Ipv4Addr {
        self.ipv4_at(14)
    }

    /// Target hardware address `ar$tha`.
    pub fn tha(&self) -> MacAddr {
        self.mac_at(18)
    }

    /// Target protocol address `ar$tpa`.
    pub fn tpa(&self) -> Ipv4Addr {
        self.ipv4_at(24)
    }
}

/// An Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    /// Request or reply.
    pub operation: ArpOperation,
    /// Sender hardware address.
    pub sha: MacAddr,
    /// Sender protocol address.
    pub spa: Ipv4Addr,
    /// Target hardware address.
    pub tha: MacAddr,
    /// Target protocol address.
    pub tpa: Ipv4Addr,
}

impl ArpRepr {
    /// A request for `tpa` (RFC 826): `tha` 00:00:00:00:00:00.
    pub const fn request(sha: MacAddr, spa: Ipv4Addr, tpa: Ipv4Addr) -> Self {
        ArpRepr {
            operation: ArpOperation::Request,
            sha,
            spa,
            tha: MacAddr::ZERO,
            tpa,
        }
    }

    /// A reply to `tha`/`tpa`.
    pub const fn reply(sha: MacAddr, spa: Ipv4Addr, tha: MacAddr, tpa: Ipv4Addr) -> Self {
        ArpRepr {
            operation: ArpOperation::Reply,
            sha,
            spa,
            tha,
            tpa,
        }
    }

    /// The gratuitous request keepalived, FRR (`vrrp_arp.c`), holo and
    /// `arping -U` send: spa = tpa = `ip`, tha ff:ff:ff:ff:ff:ff.
    pub const fn gratuitous_request(mac: MacAddr, ip: Ipv4Addr) -> Self {
        ArpRepr {
            operation: ArpOperation::Request,
            sha: mac,
            spa: ip,
            tha: MacAddr::BROADCAST,
            tpa: ip,
        }
    }

    /// The gratuitous reply `arping -A` sends: spa = tpa = `ip`, tha = sha.
    pub const fn gratuitous_reply(mac: MacAddr, ip: Ipv4Addr) -> Self {
        ArpRepr {
            operation: ArpOperation::Reply,
            sha: mac,
            spa: ip,
            tha: mac,
            tpa: ip,
        }
    }

    /// The gratuitous request the Linux kernel sends (`arp_send` with a NULL
    /// target hardware address, e.g. `arp_notify`, bonding): tha all zeros.
    pub const fn gratuitous_kernel(mac: MacAddr, ip: Ipv4Addr) -> Self {
        ArpRepr {
            operation: ArpOperation::Request,
            sha: mac,
            spa: ip,
            tha: MacAddr::ZERO,
            tpa: ip,
        }
    }

    /// Linux `arp_is_garp` (net/ipv4/arp.c): `tip == sip`; for a reply
    /// also `tha == sha`; and `inet_addr_type_dev_table(sip)` must be
    /// `RTN_UNICAST`. Of that last test only the address-class part is applied
    /// here (`__inet_dev_addr_type`: 0.0.0.0/8 and 255.255.255.255 are
    /// broadcast, 224.0.0.0/4 multicast); the routing-table part (the
    /// receiver's own local and subnet-broadcast addresses) is the caller's.
    pub fn is_gratuitous(&self) -> bool {
        let unicast_class = self.spa.octets().first() != Some(&0)
            && !self.spa.is_broadcast()
            && !self.spa.is_multicast();
        self.spa == self.tpa
            && (self.operation == ArpOperation::Request || self.tha == self.sha)
            && unicast_class
    }

    /// An RFC 5227 §2.1.1 ARP Probe: a request with sender IP 0.0.0.0.
    pub fn is_probe(&self) -> bool {
        self.operation == ArpOperation::Request && self.spa.is_unspecified()
    }

    /// An RFC 5227 §2.3 ARP Announcement: a request with spa == tpa.
    pub fn is_announcement(&self) -> bool {
        self.operation == ArpOperation::Request
            && self.spa == self.tpa
            && !self.spa.is_unspecified()
    }

    /// Reads a checked packet; opcodes other than 1 and 2 are
    /// [`WireError::Unsupported`].
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<Self, WireError> {
        let opcode = packet.opcode();
        let operation = ArpOperation::from_code(opcode).ok_or(WireError::Unsupported {
            field: "ARP operation",
            value: u32::from(opcode),
        })?;
        Ok(ArpRepr {
            operation,
            sha: packet.sha(),
            spa: packet.spa(),
            tha: packet.tha(),
            tpa: packet.tpa(),
        })
    }

    /// Checks and reads `bytes` (trailing padding allowed).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        Self::parse(&ArpPacket::new_checked(bytes)?)
    }

    /// Always [`PACKET_LEN`].
    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Writes the 28-byte packet into the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let mut v = Vec::with_capacity(PACKET_LEN);
        self.append_to(&mut v);
        super::copy_out(&v, buf)
    }

    /// Appends the 28-byte packet to `out`.
    pub fn append_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        out.extend_from_slice(&PTYPE_IPV4.to_be_bytes());
        out.extend_from_slice(&[6, 4]);
        out.extend_from_slice(&self.operation.code().to_be_bytes());
        out.extend_from_slice(&self.sha.0);
        out.extend_from_slice(&self.spa.octets());
        out.extend_from_slice(&self.tha.0);
        out.extend_from_slice(&self.tpa.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, 0x33]);
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

    #[test]
    fn garp_forms() {
        assert!(ArpRepr::gratuitous_request(MAC, VIP).is_gratuitous());
        assert!(ArpRepr::gratuitous_reply(MAC, VIP).is_gratuitous());
        assert!(ArpRepr::gratuitous_kernel(MAC, VIP).is_gratuitous());
        // A reply with spa == tpa but tha != sha is not a GARP for Linux.
        let mut r = ArpRepr::gratuitous_reply(MAC, VIP);
        r.tha = MacAddr::BROADCAST;
        assert!(!r.is_gratuitous());
        // A request's tha is not looked at.
        let mut q = ArpRepr::gratuitous_request(MAC, VIP);
        q.tha = MacAddr([9, 9, 9, 9, 9, 9]);
        assert!(q.is_gratuitous());
        assert!(!ArpRepr::request(MAC, VIP, Ipv4Addr::new(192, 0, 2, 1)).is_gratuitous());
        for ip in [
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::BROADCAST,
            Ipv4Addr::new(224, 0, 0, 18),
            Ipv4Addr::new(0, 1, 2, 3),
        ] {
            assert!(
                !ArpRepr::gratuitous_request(MAC, ip).is_gratuitous(),
                "{ip}"
            );
        }
    }

    #[test]
    fn probe_and_announcement() {
        let probe = ArpRepr::request(MAC, Ipv4Addr::UNSPECIFIED, VIP);
        assert!(probe.is_probe());
        assert!(!probe.is_announcement());
        assert!(!probe.is_gratuitous());
        assert!(ArpRepr::gratuitous_kernel(MAC, VIP).is_announcement());
        assert!(!ArpRepr::gratuitous_reply(MAC, VIP).is_announcement());
        let mut reply = probe;
        reply.operation = ArpOperation::Reply;
        assert!(!reply.is_probe());
    }

    #[test]
    fn field_checks() {
        let mut b = Vec::new();
        ArpRepr::request(MAC, VIP, VIP).append_to(&mut b);
        let set = |i: usize, v: u8| {
            let mut c = b.clone();
            c[i] = v;
            ArpRepr::parse_bytes(&c)
        };
        assert_eq!(
            set(1, 6),
            Err(WireError::Unsupported {
                field: "ARP hardware type",
                value: 6
            })
        );
        assert_eq!(
            set(2, 0x86),
            Err(WireError::Unsupported {
                field: "ARP protocol type",
                value: 0x8600
            })
        );
        assert!(matches!(set(4, 8), Err(WireError::Malformed(_))));
        assert!(matches!(set(5, 16), Err(WireError::Malformed(_))));
        assert_eq!(
            set(7, 3),
            Err(WireError::Unsupported {
                field: "ARP operation",
                value: 3
            })
        );
        assert_eq!(set(7, 2).unwrap().operation, ArpOperation::Reply);
        // Padding to the 60-byte Ethernet minimum is accepted.
        let mut padded = b.clone();
        padded.resize(46, 0);
        assert_eq!(
            ArpRepr::parse_bytes(&padded),
            Ok(ArpRepr::request(MAC, VIP, VIP))
        );
    }
}
