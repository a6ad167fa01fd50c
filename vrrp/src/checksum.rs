//! VRRP checksums: the RFC 1071 sum over the VRRP message, with or without
//! an IP pseudo-header depending on version and family.
//!
//! * VRRPv2 (RFC 3768 §5.3.8): the VRRP message only.
//! * VRRPv3 over IPv6 (RFC 5798 §5.2.8): the RFC 8200 §8.1 pseudo-header
//!   (source, destination, length, next header 112) plus the message.
//! * VRRPv3 over IPv4: RFC 5798 left it open. keepalived, FRR and Wireshark
//!   include the pseudo-header `src, dst, 0, 112, length`
//!   ([`V3Ipv4Checksum::PseudoHeader`]); RFC 9568 §5.2.8 settles on the
//!   message only ([`V3Ipv4Checksum::Rfc9568`]), as Cisco and Juniper send.

use std::net::{IpAddr, Ipv4Addr};

use arp::wire::checksum::{Checksum, ipv6_pseudo_header};

use crate::packet::{PROTOCOL, Version};

/// How a VRRPv3 message over IPv4 is checksummed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum V3Ipv4Checksum {
    /// With the IPv4 pseudo-header (keepalived and FRR default).
    #[default]
    PseudoHeader,
    /// The VRRP message only (RFC 9568 §5.2.8; keepalived
    /// `v3_checksum_as_v2`, FRR `no checksum-with-ipv4-pseudoheader`).
    Rfc9568,
}

/// Which VRRPv3/IPv4 checksum forms a receiver accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AcceptChecksum {
    /// Only the pseudo-header form.
    PseudoHeader,
    /// Only the RFC 9568 form.
    Rfc9568,
    /// Either form (interoperates with both camps, vrrp-arp.md §9.13).
    #[default]
    Either,
}

impl AcceptChecksum {
    /// Accepts only the form a router sends.
    pub fn only(form: V3Ipv4Checksum) -> Self {
        match form {
            V3Ipv4Checksum::PseudoHeader => AcceptChecksum::PseudoHeader,
            V3Ipv4Checksum::Rfc9568 => AcceptChecksum::Rfc9568,
        }
    }

    fn allows(self, form: V3Ipv4Checksum) -> bool {
        matches!(
            (self, form),
            (AcceptChecksum::Either, _)
                | (AcceptChecksum::PseudoHeader, V3Ipv4Checksum::PseudoHeader)
                | (AcceptChecksum::Rfc9568, V3Ipv4Checksum::Rfc9568)
        )
    }
}

fn ipv4_pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, len: usize) -> Checksum {
    let mut c = Checksum::new();
    c.add_bytes(&src.octets())
        .add_bytes(&dst.octets())
        .add_u16(u16::from(PROTOCOL))
        .add_u16(u16::try_from(len).unwrap_or(u16::MAX));
    c
}

/// The value of the checksum field for `message` (whose checksum field must
/// be zero, or hold the received value when verifying: a correct message
/// then yields 0). `form` applies to VRRPv3 over IPv4 only. A mixed-family
/// `src`/`dst` pair sums the message alone.
pub fn compute(
    version: Version,
    src: IpAddr,
    dst: IpAddr,
    form: V3Ipv4Checksum,
    message: &[u8],
) -> u16 {
    let mut c = match (version, src, dst) {
        (Version::V2, _, _) => Checksum::new(),
        (Version::V3, IpAddr::V4(s), IpAddr::V4(d)) => match form {
            V3Ipv4Checksum::PseudoHeader => ipv4_pseudo_header(s, d, message.len()),
            V3Ipv4Checksum::Rfc9568 => Checksum::new(),
        },
        (Version::V3, IpAddr::V6(s), IpAddr::V6(d)) => {
            let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
            ipv6_pseudo_header(&s, &d, len, PROTOCOL)
        }
        (Version::V3, _, _) => Checksum::new(),
    };
    c.add_bytes(message).finish()
}

/// Verifies the checksum of a received `message`, trying each form
/// `accept` allows with each destination in `dsts` (the packet's own
/// destination first; unicast receivers add 224.0.0.18 for peers that
/// keep it in the pseudo-header, keepalived `old_unicast_checksum`).
/// Returns the form that matched.
pub fn verify(
    version: Version,
    src: IpAddr,
    dsts: &[IpAddr],
    accept: AcceptChecksum,
    message: &[u8],
) -> Option<V3Ipv4Checksum> {
    let v3_ipv4 = version == Version::V3 && src.is_ipv4();
    let forms: &[V3Ipv4Checksum] = if v3_ipv4 {
        &[V3Ipv4Checksum::PseudoHeader, V3Ipv4Checksum::Rfc9568]
    } else {
        &[V3Ipv4Checksum::PseudoHeader]
    };
    for &form in forms {
        if v3_ipv4 && !accept.allows(form) {
            continue;
        }
        for &dst in dsts {
            if compute(version, src, dst, form, message) == 0 {
                return Some(form);
            }
            if v3_ipv4 && form == V3Ipv4Checksum::Rfc9568 {
                break; // destination does not enter this form
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// vrrp-arp.md §3: keepalived 10.0.0.1 → 224.0.0.18, VRID 52.
    const V3: [u8; 12] = [
        0x31, 0x34, 0x96, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x65,
    ];

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v3_ipv4_both_forms() {
        let (s, d) = (v4("10.0.0.1"), v4("224.0.0.18"));
        assert_eq!(
            compute(Version::V3, s, d, V3Ipv4Checksum::PseudoHeader, &V3),
            0x43cb
        );
        assert_eq!(
            compute(Version::V3, s, d, V3Ipv4Checksum::Rfc9568, &V3),
            0x2e5b
        );
    }

    #[test]
    fn verify_honours_accept() {
        let (s, d) = (v4("10.0.0.1"), v4("224.0.0.18"));
        let mut pseudo = V3;
        pseudo[6..8].copy_from_slice(&0x43cbu16.to_be_bytes());
        let mut plain = V3;
        plain[6..8].copy_from_slice(&0x2e5bu16.to_be_bytes());
        let v = |acc, m: &[u8]| verify(Version::V3, s, &[d], acc, m);
        assert_eq!(
            v(AcceptChecksum::Either, &pseudo),
            Some(V3Ipv4Checksum::PseudoHeader)
        );
        assert_eq!(
            v(AcceptChecksum::Either, &plain),
            Some(V3Ipv4Checksum::Rfc9568)
        );
        assert_eq!(v(AcceptChecksum::Rfc9568, &pseudo), None);
        assert_eq!(v(AcceptChecksum::PseudoHeader, &plain), None);
        // Unicast: the pseudo-header held 224.0.0.18, the packet went to a peer.
        let peer = v4("10.0.0.2");
        assert_eq!(
            verify(
                Version::V3,
                s,
                &[peer, d],
                AcceptChecksum::PseudoHeader,
                &pseudo
            ),
            Some(V3Ipv4Checksum::PseudoHeader)
        );
        assert_eq!(
            verify(
                Version::V3,
                s,
                &[peer],
                AcceptChecksum::PseudoHeader,
                &pseudo
            ),
            None
        );
    }
}
