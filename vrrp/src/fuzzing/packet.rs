//! Fuzz entry `packet`: the first bytes choose the IP context (family,
//! addresses, accepted checksum forms), the rest is a VRRP message.
//!
//! Invariants: parsing never panics; the checked view agrees with the
//! parsed fields; a parsed message re-emits (with the checksum form it
//! carried) to bytes that parse to the same fields, and to the very input
//! when the VRRPv3 reserved nibble is zero; a representation built from
//! the input emits and parses back unchanged.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Bytes;
use crate::checksum::AcceptChecksum;
use crate::packet::{Auth, Family, Version, VrrpPacket, VrrpRepr};

fn context(b: &mut Bytes<'_>) -> (IpAddr, IpAddr, AcceptChecksum) {
    let sel = b.u8();
    let low = b.u8();
    let accept = match (sel >> 2) % 3 {
        0 => AcceptChecksum::PseudoHeader,
        1 => AcceptChecksum::Rfc9568,
        _ => AcceptChecksum::Either,
    };
    let (src, dst) = if sel & 1 == 0 {
        let dst = if sel & 2 == 0 {
            IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18))
        } else {
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))
        };
        (IpAddr::V4(Ipv4Addr::new(10, 0, 0, low)), dst)
    } else {
        (
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(low))),
            IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
        )
    };
    (src, dst, accept)
}

fn roundtrip_built(b: &mut Bytes<'_>, src: IpAddr, dst: IpAddr) -> Result<(), String> {
    let family = Family::of(src);
    let version = if family == Family::Ipv6 || b.bool() {
        Version::V3
    } else {
        Version::V2
    };
    let n = b.u8() % 4;
    let mut addresses = Vec::new();
    for _ in 0..n {
        let x = b.u16();
        addresses.push(match family {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::from(u32::from(x).wrapping_mul(0x0001_0003))),
            Family::Ipv6 => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, x)),
        });
    }
    let adver_int = match version {
        Version::V2 => u16::from(b.u8()),
        Version::V3 => b.u16() & 0x0fff,
    };
    let auth = match (version, b.u8() % 3) {
        (Version::V3, _) | (_, 0) => Auth::None,
        (_, 1) => Auth::password(b.slice(8)),
        _ => Auth::Other {
            auth_type: b.u8().max(2),
            data: [b.u8(); 8],
        },
    };
    let repr = VrrpRepr {
        version,
        vrid: b.u8(),
        priority: b.u8(),
        adver_int,
        addresses,
        auth,
    };
    let form = if b.bool() {
        crate::V3Ipv4Checksum::Rfc9568
    } else {
        crate::V3Ipv4Checksum::PseudoHeader
    };
    let bytes = repr
        .to_bytes(src, dst, form)
        .map_err(|e| format!("valid repr does not emit: {e}"))?;
    let back = VrrpRepr::parse(&bytes, src, dst, AcceptChecksum::only(form))
        .map_err(|e| format!("own message does not parse: {e}"))?;
    if back.repr != repr {
        return Err(format!("round trip changed {repr:?} into {:?}", back.repr));
    }
    Ok(())
}

/// Parses arbitrary bytes; `Err` names a violated invariant.
pub fn packet(data: &[u8]) -> Result<(), String> {
    let mut b = Bytes::new(data);
    let (src, dst, accept) = context(&mut b);
    let built = b.slice(64);
    let msg = b.rest();
    let view = VrrpPacket::new_unchecked(msg, Family::of(src));
    let _ = (
        view.max_adver_int(),
        view.auth_data(),
        view.addresses().count(),
    );
    if let Ok(parsed) = VrrpRepr::parse(msg, src, dst, accept) {
        let repr = &parsed.repr;
        let checked = VrrpPacket::new_checked(msg, Family::of(src))
            .map_err(|e| format!("parse ok but new_checked failed: {e}"))?;
        if checked.vrid() != repr.vrid
            || checked.priority() != repr.priority
            || usize::from(checked.count()) != repr.addresses.len()
        {
            return Err("view and repr disagree".into());
        }
        let again = repr
            .to_bytes(src, dst, parsed.checksum_form)
            .map_err(|e| format!("parsed repr does not emit: {e}"))?;
        let back = VrrpRepr::parse(&again, src, dst, accept)
            .map_err(|e| format!("re-emitted message does not parse: {e}"))?;
        if back.repr != *repr {
            return Err("re-emitted message parses differently".into());
        }
        let reserved_clear = repr.version == Version::V2 || checked.reserved() == 0;
        // 0xffff and 0x0000 both verify when the sum is zero (RFC 1071).
        let alt_zero = checked.checksum() == 0xffff
            && again.get(6..8) == Some(&[0, 0][..])
            && again.get(..6) == msg.get(..6)
            && again.get(8..) == msg.get(8..);
        // RFC 3768 §5.3.6.1: with no authentication the Authentication Data
        // is ignored on reception, so it (and hence the checksum) may differ.
        let v2_unauth_same = repr.version == Version::V2
            && repr.auth == Auth::None
            && again.len() == msg.len()
            && again.get(..6) == msg.get(..6)
            && again.get(8..again.len().saturating_sub(8))
                == msg.get(8..msg.len().saturating_sub(8));
        if reserved_clear && again != msg && !alt_zero && !v2_unauth_same {
            return Err(format!("re-emit differs: {msg:02x?} vs {again:02x?}"));
        }
    }
    roundtrip_built(&mut Bytes::new(built), src, dst)
}
