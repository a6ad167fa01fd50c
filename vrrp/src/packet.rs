//! VRRP advertisement codec: a checked view ([`VrrpPacket`]) and an owned
//! representation ([`VrrpRepr`]) with parse and emit.
//!
//! VRRPv2 (RFC 3768 §5.1), IPv4 only:
//! `ver=2|type=1, VRID, Priority, Count, AuthType, AdverInt (s), Checksum,
//! IPv4 × Count, AuthData (8 B)`.
//!
//! VRRPv3 (RFC 5798 §5.1, RFC 9568 §5.1), IPv4 or IPv6:
//! `ver=3|type=1, VRID, Priority, Count, rsvd (4 bit) | MaxAdvInt (12 bit,
//! centiseconds), Checksum, addresses`.
//!
//! The codec sees the IP payload only; the address family and the IP source
//! and destination (for the checksum) come from the IP layer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::checksum::{self, AcceptChecksum, V3Ipv4Checksum};

/// IP protocol number of VRRP (RFC 5798 §5.1.1.3).
pub const PROTOCOL: u8 = 112;
/// TTL / hop limit of every advertisement (RFC 5798 §5.1.1.3, §5.1.2.3).
pub const TTL: u8 = 255;
/// IPv4 multicast destination (RFC 5798 §5.1.1.2).
pub const IPV4_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast destination (RFC 5798 §5.1.2.2).
pub const IPV6_GROUP: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// The only defined message type: ADVERTISEMENT (RFC 5798 §5.2.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Fixed header length, both versions.
pub const HEADER_LEN: usize = 8;
/// VRRPv2 authentication data trailer length (RFC 3768 §5.3.10).
pub const AUTH_DATA_LEN: usize = 8;
/// Largest VRRPv3 Max Adver Int (12 bits, centiseconds).
pub const MAX_V3_ADVER_INT: u16 = 0x0fff;

/// Protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// VRRPv2, RFC 3768.
    V2,
    /// VRRPv3, RFC 5798 / RFC 9568.
    V3,
}

impl Version {
    /// The value of the version field.
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    fn from_number(n: u8) -> Option<Self> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

/// Address family of a virtual router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// Bytes per address in the advertisement.
    pub fn address_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }

    /// The multicast destination of advertisements.
    pub fn group(self) -> IpAddr {
        match self {
            Family::Ipv4 => IpAddr::V4(IPV4_GROUP),
            Family::Ipv6 => IpAddr::V6(IPV6_GROUP),
        }
    }
}

/// VRRPv2 authentication (RFC 3768 §5.3.6); VRRPv3 has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Type 0, no authentication (auth data zero).
    None,
    /// Type 1, simple text password of up to 8 bytes, zero padded.
    SimplePassword([u8; AUTH_DATA_LEN]),
    /// Any other type (2 = IP Authentication Header, deprecated by RFC 3768).
    Other {
        /// The AuthType field.
        auth_type: u8,
        /// The 8 bytes of Authentication Data.
        data: [u8; AUTH_DATA_LEN],
    },
}

impl Auth {
    /// Type 1 with `password` truncated or zero padded to 8 bytes, as
    /// keepalived `auth_pass` does.
    pub fn password(password: &[u8]) -> Self {
        let mut data = [0u8; AUTH_DATA_LEN];
        for (d, s) in data.iter_mut().zip(password) {
            *d = *s;
        }
        Auth::SimplePassword(data)
    }

    /// The AuthType field.
    pub fn auth_type(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::SimplePassword(_) => 1,
            Auth::Other { auth_type, .. } => *auth_type,
        }
    }

    /// The Authentication Data field.
    pub fn data(&self) -> [u8; AUTH_DATA_LEN] {
        match self {
            Auth::None => [0; AUTH_DATA_LEN],
            Auth::SimplePassword(d) | Auth::Other { data: d, .. } => *d,
        }
    }

    fn from_wire(auth_type: u8, data: [u8; AUTH_DATA_LEN]) -> Self {
        match auth_type {
            0 => Auth::None,
            1 => Auth::SimplePassword(data),
            _ => Auth::Other { auth_type, data },
        }
    }
}

/// Why a buffer is not a valid advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// Shorter than the 8-byte header.
    #[error("{len} bytes, shorter than the VRRP header")]
    Truncated {
        /// Bytes received.
        len: usize,
    },
    /// Version field neither 2 nor 3.
    #[error("unknown version {0}")]
    Version(u8),
    /// VRRPv2 over IPv6 (RFC 3768 is IPv4 only).
    #[error("VRRPv2 over IPv6")]
    V2OverIpv6,
    /// Type field not ADVERTISEMENT.
    #[error("unknown type {0}")]
    Type(u8),
    /// Length does not match the address count.
    #[error("{count} addresses do not fit {len} bytes")]
    Length {
        /// Count IPvX Addr field.
        count: u8,
        /// Bytes received.
        len: usize,
    },
    /// Checksum wrong under every accepted form.
    #[error("bad checksum")]
    Checksum,
    /// Source, destination or an address of the other family.
    #[error("address family mismatch")]
    FamilyMismatch,
    /// More than 255 addresses.
    #[error("more than 255 addresses")]
    TooManyAddresses,
    /// Interval too large for the version's field.
    #[error("interval {0} does not fit the field")]
    Interval(u16),
    /// Emit buffer too small.
    #[error("buffer too small, {required} bytes required")]
    BufferTooSmall {
        /// Bytes needed.
        required: usize,
    },
}

/// Expected message length for `count` addresses.
pub fn message_len(version: Version, family: Family, count: u8) -> usize {
    let addrs = usize::from(count).saturating_mul(family.address_len());
    let trailer = match version {
        Version::V2 => AUTH_DATA_LEN,
        Version::V3 => 0,
    };
    HEADER_LEN.saturating_add(addrs).saturating_add(trailer)
}

/// A read-only view of an advertisement whose length, version and type
/// have been checked ([`VrrpPacket::new_checked`]). Accessors never panic,
/// checked or not.
#[derive(Debug, Clone, Copy)]
pub struct VrrpPacket<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
}

impl<T: AsRef<[u8]>> VrrpPacket<T> {
    /// Wraps without checks.
    pub fn new_unchecked(buffer: T, family: Family) -> Self {
        VrrpPacket { buffer, family }
    }

    /// Wraps after checking, in RFC 5798 §7.1 order: header length,
    /// version, type, then the length against Count (and the family).
    pub fn new_checked(buffer: T, family: Family) -> Result<Self, PacketError> {
        let p = VrrpPacket { buffer, family };
        let len = p.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(PacketError::Truncated { len });
        }
        let version = Version::from_number(p.version()).ok_or(PacketError::Version(p.version()))?;
        if version == Version::V2 && family == Family::Ipv6 {
            return Err(PacketError::V2OverIpv6);
        }
        if p.kind() != TYPE_ADVERTISEMENT {
            return Err(PacketError::Type(p.kind()));
        }
        if len != message_len(version, family, p.count()) {
            return Err(PacketError::Length {
                count: p.count(),
                len,
            });
        }
        Ok(p)
    }

    fn byte(&self, i: usize) -> u8 {
        self.buffer.as_ref().get(i).copied().unwrap_or(0)
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Family given at construction.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Version field (high nibble of byte 0).
    pub fn version(&self) -> u8 {
        self.byte(0) >> 4
    }

    /// Type field (low nibble of byte 0).
    pub fn kind(&self) -> u8 {
        self.byte(0) & 0x0f
    }

    /// Virtual Router Identifier.
    pub fn vrid(&self) -> u8 {
        self.byte(1)
    }

    /// Priority.
    pub fn priority(&self) -> u8 {
        self.byte(2)
    }

    /// Count IPvX Addr.
    pub fn count(&self) -> u8 {
        self.byte(3)
    }

    /// VRRPv2 Auth Type.
    pub fn auth_type(&self) -> u8 {
        self.byte(4)
    }

    /// VRRPv2 Adver Int (seconds).
    pub fn adver_int_v2(&self) -> u8 {
        self.byte(5)
    }

    /// VRRPv3 reserved nibble (must be sent as zero, ignored on receipt).
    pub fn reserved(&self) -> u8 {
        self.byte(4) >> 4
    }

    /// VRRPv3 Max Adver Int (centiseconds).
    pub fn max_adver_int(&self) -> u16 {
        u16::from_be_bytes([self.byte(4) & 0x0f, self.byte(5)])
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.byte(6), self.byte(7)])
    }

    /// The addresses, in order (as many as fit the buffer, at most Count).
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let step = self.family.address_len();
        let family = self.family;
        let bytes = self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[]);
        bytes
            .chunks_exact(step)
            .take(usize::from(self.count()))
            .filter_map(move |c| match family {
                Family::Ipv4 => <[u8; 4]>::try_from(c).ok().map(IpAddr::from),
                Family::Ipv6 => <[u8; 16]>::try_from(c).ok().map(IpAddr::from),
            })
    }

    /// VRRPv2 Authentication Data (zeros when absent).
    pub fn auth_data(&self) -> [u8; AUTH_DATA_LEN] {
        let start = HEADER_LEN.saturating_add(usize::from(self.count()).saturating_mul(4));
        let mut out = [0u8; AUTH_DATA_LEN];
        if let Some(src) = self
            .buffer
            .as_ref()
            .get(start..start.saturating_add(AUTH_DATA_LEN))
        {
            out.copy_from_slice(src);
        }
        out
    }
}

/// An advertisement's fields.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VrrpRepr {
    /// Version.
    pub version: Version,
    /// Virtual Router Identifier (1–255; 0 is carried but never valid).
    pub vrid: u8,
    /// Priority (0 = the Master stops, 255 = address owner).
    pub priority: u8,
    /// Advertisement interval: VRRPv2 seconds (8 bit), VRRPv3 centiseconds
    /// (12 bit).
    pub adver_int: u16,
    /// The virtual addresses, all of one family.
    pub addresses: Vec<IpAddr>,
    /// VRRPv2 authentication; ignored for VRRPv3.
    pub auth: Auth,
}

/// A parsed advertisement and the checksum form it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The fields.
    pub repr: VrrpRepr,
    /// For VRRPv3/IPv4, which form matched; `PseudoHeader` otherwise.
    pub checksum_form: V3Ipv4Checksum,
}

impl VrrpRepr {
    /// Parses `bytes` received from `src` for destination `dst` (the family
    /// comes from `src`), accepting the checksum forms `accept` allows.
    pub fn parse(
        bytes: &[u8],
        src: IpAddr,
        dst: IpAddr,
        accept: AcceptChecksum,
    ) -> Result<Parsed, PacketError> {
        Self::parse_with(bytes, src, &[dst], accept)
    }

    /// As [`VrrpRepr::parse`], trying each pseudo-header destination in
    /// `dsts` (unicast receivers pass the real destination and the group).
    pub fn parse_with(
        bytes: &[u8],
        src: IpAddr,
        dsts: &[IpAddr],
        accept: AcceptChecksum,
    ) -> Result<Parsed, PacketError> {
        let family = Family::of(src);
        if dsts.iter().any(|d| Family::of(*d) != family) {
            return Err(PacketError::FamilyMismatch);
        }
        let p = VrrpPacket::new_checked(bytes, family)?;
        let version = Version::from_number(p.version()).ok_or(PacketError::Version(p.version()))?;
        let checksum_form =
            checksum::verify(version, src, dsts, accept, bytes).ok_or(PacketError::Checksum)?;
        let (adver_int, auth) = match version {
            Version::V2 => (
                u16::from(p.adver_int_v2()),
                Auth::from_wire(p.auth_type(), p.auth_data()),
            ),
            Version::V3 => (p.max_adver_int(), Auth::None),
        };
        Ok(Parsed {
            repr: VrrpRepr {
                version,
                vrid: p.vrid(),
                priority: p.priority(),
                adver_int,
                addresses: p.addresses().collect(),
                auth,
            },
            checksum_form,
        })
    }

    /// Bytes [`VrrpRepr::emit`] writes for `family`.
    pub fn buffer_len(&self, family: Family) -> usize {
        let count = u8::try_from(self.addresses.len()).unwrap_or(u8::MAX);
        message_len(self.version, family, count)
    }

    /// Writes the message sent from `src` to `dst` into `buf`, with the
    /// checksum in `form` (VRRPv3/IPv4 only); returns the length.
    pub fn emit(
        &self,
        buf: &mut [u8],
        src: IpAddr,
        dst: IpAddr,
        form: V3Ipv4Checksum,
    ) -> Result<usize, PacketError> {
        let family = Family::of(src);
        if Family::of(dst) != family || self.addresses.iter().any(|a| Family::of(*a) != family) {
            return Err(PacketError::FamilyMismatch);
        }
        if self.version == Version::V2 && family == Family::Ipv6 {
            return Err(PacketError::V2OverIpv6);
        }
        let count =
            u8::try_from(self.addresses.len()).map_err(|_| PacketError::TooManyAddresses)?;
        let (b4, b5) = match self.version {
            Version::V2 => {
                let int = u8::try_from(self.adver_int)
                    .map_err(|_| PacketError::Interval(self.adver_int))?;
                (self.auth.auth_type(), int)
            }
            Version::V3 => {
                if self.adver_int > MAX_V3_ADVER_INT {
                    return Err(PacketError::Interval(self.adver_int));
                }
                let [hi, lo] = self.adver_int.to_be_bytes();
                (hi, lo)
            }
        };
        let len = message_len(self.version, family, count);
        let out = buf
            .get_mut(..len)
            .ok_or(PacketError::BufferTooSmall { required: len })?;
        let mut w = Writer { buf: out, pos: 0 };
        w.put(&[
            (self.version.number() << 4) | TYPE_ADVERTISEMENT,
            self.vrid,
            self.priority,
            count,
            b4,
            b5,
            0,
            0,
        ]);
        for a in &self.addresses {
            match a {
                IpAddr::V4(a) => w.put(&a.octets()),
                IpAddr::V6(a) => w.put(&a.octets()),
            }
        }
        if self.version == Version::V2 {
            w.put(&self.auth.data());
        }
        let sum = checksum::compute(self.version, src, dst, form, out);
        if let Some(field) = out.get_mut(6..8) {
            field.copy_from_slice(&sum.to_be_bytes());
        }
        Ok(len)
    }

    /// [`VrrpRepr::emit`] into a new vector.
    pub fn to_bytes(
        &self,
        src: IpAddr,
        dst: IpAddr,
        form: V3Ipv4Checksum,
    ) -> Result<Vec<u8>, PacketError> {
        let mut buf = vec![0u8; self.buffer_len(Family::of(src))];
        let n = self.emit(&mut buf, src, dst, form)?;
        buf.truncate(n);
        Ok(buf)
    }
}

struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, data: &[u8]) {
        let end = self.pos.saturating_add(data.len());
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(data);
        }
        self.pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// holo `tests/packet/mod.rs` (vrrp-arp.md §2).
    const V2_HOLO: [u8; 20] = [
        0x21, 0x33, 0x1e, 0x01, 0x00, 0x01, 0xb5, 0xc5, 0x0a, 0x00, 0x01, 0x05, 0, 0, 0, 0, 0, 0,
        0, 0,
    ];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v2_holo_vector_round_trips() {
        let src = ip("10.0.1.1");
        let dst = IpAddr::V4(IPV4_GROUP);
        let parsed = VrrpRepr::parse(&V2_HOLO, src, dst, AcceptChecksum::Either).unwrap();
        let repr = VrrpRepr {
            version: Version::V2,
            vrid: 51,
            priority: 30,
            adver_int: 1,
            addresses: vec![ip("10.0.1.5")],
            auth: Auth::None,
        };
        assert_eq!(parsed.repr, repr);
        assert_eq!(
            repr.to_bytes(src, dst, V3Ipv4Checksum::PseudoHeader)
                .unwrap(),
            V2_HOLO
        );
    }

    #[test]
    fn checked_view_errors_in_rfc_order() {
        let f = Family::Ipv4;
        assert_eq!(
            VrrpPacket::new_checked(&V2_HOLO[..7], f).unwrap_err(),
            PacketError::Truncated { len: 7 }
        );
        let mut b = V2_HOLO;
        b[0] = 0x41;
        b[3] = 9;
        assert_eq!(
            VrrpPacket::new_checked(&b[..], f).unwrap_err(),
            PacketError::Version(4)
        );
        b[0] = 0x22;
        assert_eq!(
            VrrpPacket::new_checked(&b[..], f).unwrap_err(),
            PacketError::Type(2)
        );
        b[0] = 0x21;
        assert_eq!(
            VrrpPacket::new_checked(&b[..], f).unwrap_err(),
            PacketError::Length { count: 9, len: 20 }
        );
        assert_eq!(
            VrrpPacket::new_checked(&V2_HOLO[..], Family::Ipv6).unwrap_err(),
            PacketError::V2OverIpv6
        );
    }

    #[test]
    fn emit_rejects_bad_reprs() {
        let src = ip("10.0.0.1");
        let dst = IpAddr::V4(IPV4_GROUP);
        let mut r = VrrpRepr {
            version: Version::V3,
            vrid: 1,
            priority: 100,
            adver_int: 4096,
            addresses: vec![ip("10.0.0.2")],
            auth: Auth::None,
        };
        let form = V3Ipv4Checksum::PseudoHeader;
        assert_eq!(r.to_bytes(src, dst, form), Err(PacketError::Interval(4096)));
        r.adver_int = 100;
        r.addresses = vec![ip("fe80::1")];
        assert_eq!(r.to_bytes(src, dst, form), Err(PacketError::FamilyMismatch));
        r.addresses = vec![ip("10.0.0.2")];
        let mut small = [0u8; 11];
        assert_eq!(
            r.emit(&mut small, src, dst, form),
            Err(PacketError::BufferTooSmall { required: 12 })
        );
        r.addresses = vec![ip("10.0.0.2"); 256];
        assert_eq!(
            r.to_bytes(src, dst, form),
            Err(PacketError::TooManyAddresses)
        );
    }

    #[test]
    fn password_is_padded_and_truncated() {
        assert_eq!(Auth::password(b"abc").data(), *b"abc\0\0\0\0\0");
        assert_eq!(Auth::password(b"0123456789").data(), *b"01234567");
        assert_eq!(Auth::password(b"x").auth_type(), 1);
    }
}
