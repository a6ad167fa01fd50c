//! Ethernet II frames (IEEE 802.3 §3.2.6 type interpretation) with up to
//! two VLAN tags: IEEE 802.1Q C-tags (TPID 0x8100) and 802.1ad S-tags
//! (0x88a8, or the pre-standard 0x9100 on parse). No FCS, no padding.

use super::{WireError, be16, octets};
use crate::MacAddr;

/// ARP (RFC 826).
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// IPv4 (RFC 894).
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// IPv6 (RFC 2464).
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// IEEE 802.1Q customer VLAN tag.
pub const TPID_8021Q: u16 = 0x8100;
/// IEEE 802.1ad service VLAN tag (QinQ outer tag).
pub const TPID_8021AD: u16 = 0x88a8;
/// Pre-standard QinQ outer tag, accepted on parse only.
pub const TPID_QINQ_LEGACY: u16 = 0x9100;

/// Destination, source and EtherType: 14 bytes.
pub const HEADER_LEN: usize = 14;
/// One VLAN tag: TPID and TCI, 4 bytes.
pub const VLAN_TAG_LEN: usize = 4;
/// The most tags [`EthernetFrame::new_checked`] accepts (outer S-tag, inner C-tag).
pub const MAX_VLAN_TAGS: usize = 2;

/// Whether `ethertype` is a VLAN tag protocol identifier.
pub const fn is_tpid(ethertype: u16) -> bool {
    matches!(ethertype, TPID_8021Q | TPID_8021AD | TPID_QINQ_LEGACY)
}

/// One IEEE 802.1Q tag: TPID plus the tag control information.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag {
    /// Tag protocol identifier ([`TPID_8021Q`], [`TPID_8021AD`]).
    pub tpid: u16,
    /// Priority code point, 3 bits.
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier, 12 bits.
    pub vid: u16,
}

impl VlanTag {
    /// An 802.1Q C-tag with priority 0.
    pub const fn dot1q(vid: u16) -> Self {
        VlanTag {
            tpid: TPID_8021Q,
            pcp: 0,
            dei: false,
            vid,
        }
    }

    /// An 802.1ad S-tag with priority 0.
    pub const fn dot1ad(vid: u16) -> Self {
        VlanTag {
            tpid: TPID_8021AD,
            pcp: 0,
            dei: false,
            vid,
        }
    }

    fn from_tci(tpid: u16, tci: u16) -> Self {
        VlanTag {
            tpid,
            pcp: u8::try_from(tci >> 13).unwrap_or(0),
            dei: tci & 0x1000 != 0,
            vid: tci & 0x0fff,
        }
    }

    /// The tag control information; out-of-range `pcp` / `vid` bits are masked.
    pub fn tci(&self) -> u16 {
        (u16::from(self.pcp & 0x07) << 13) | (u16::from(self.dei) << 12) | (self.vid & 0x0fff)
    }
}

/// A checked view of an Ethernet II frame: the header and its tags are
/// known to be present.
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
    tags: usize,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Checks that the header and up to [`MAX_VLAN_TAGS`] tags fit; a third
    /// tag is [`WireError::Unsupported`].
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let bytes = buffer.as_ref();
        let mut tags = 0usize;
        loop {
            let at = HEADER_LEN
                .saturating_sub(2)
                .saturating_add(tags.saturating_mul(VLAN_TAG_LEN));
            let header = at.saturating_add(2);
            let ethertype = be16(bytes, at).ok_or(WireError::Truncated {
                needed: header,
                have: bytes.len(),
            })?;
            if !is_tpid(ethertype) {
                break;
            }
            if tags >= MAX_VLAN_TAGS {
                return Err(WireError::Unsupported {
                    field: "VLAN tag depth (third tag TPID)",
                    value: u32::from(ethertype),
                });
            }
            tags = tags.saturating_add(1);
        }
        Ok(EthernetFrame { buffer, tags })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination MAC address.
    pub fn dst(&self) -> MacAddr {
        MacAddr(octets(self.buffer.as_ref(), 0).unwrap_or([0; 6]))
    }

    /// Source MAC address.
    pub fn src(&self) -> MacAddr {
        MacAddr(octets(self.buffer.as_ref(), 6).unwrap_or([0; 6]))
    }

    /// Number of VLAN tags (0..=2).
    pub fn vlan_count(&self) -> usize {
        self.tags
    }

    /// The `index`-th VLAN tag, outer first.
    pub fn vlan(&self, index: usize) -> Option<VlanTag> {
        if index >= self.tags {
            return None;
        }
        let at = index.checked_mul(VLAN_TAG_LEN)?.checked_add(12)?;
        let bytes = self.buffer.as_ref();
        Some(VlanTag::from_tci(
            be16(bytes, at)?,
            be16(bytes, at.checked_add(2)?)?,
        ))
    }

    /// The EtherType after the tags.
    pub fn ethertype(&self) -> u16 {
        be16(self.buffer.as_ref(), self.header_len().saturating_sub(2)).unwrap_or(0)
    }

    /// Header length including tags.
    pub fn header_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.tags.saturating_mul(VLAN_TAG_LEN))
    }

    /// Everything after the header (including any Ethernet padding).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(self.header_len()..).unwrap_or(&[])
    }
}

/// An Ethernet II header with its VLAN tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Destination MAC address.
    pub dst: MacAddr,
    /// Source MAC address.
    pub src: MacAddr,
    /// VLAN tags, outer first; [`EthernetFrame::new_checked`] accepts at most two.
    pub vlans: Vec<VlanTag>,
    /// EtherType of the payload.
    pub ethertype: u16,
}

impl EthernetRepr {
    /// An untagged header.
    pub fn new(dst: MacAddr, src: MacAddr, ethertype: u16) -> Self {
        EthernetRepr {
            dst,
            src,
            vlans: Vec::new(),
            ethertype,
        }
    }

    /// Reads the header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<Self, WireError> {
        let vlans = (0..frame.vlan_count())
            .filter_map(|i| frame.vlan(i))
            .collect();
        Ok(EthernetRepr {
            dst: frame.dst(),
            src: frame.src(),
            vlans,
            ethertype: frame.ethertype(),
        })
    }

    /// Header length including tags.
    pub fn header_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.vlans.len().saturating_mul(VLAN_TAG_LEN))
    }

    /// Writes the header into the start of `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let mut v = Vec::with_capacity(self.header_len());
        self.append_to(&mut v);
        super::copy_out(&v, buf)
    }

    /// Appends the header to `out`.
    pub fn append_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.dst.0);
        out.extend_from_slice(&self.src.0);
        for tag in &self.vlans {
            out.extend_from_slice(&tag.tpid.to_be_bytes());
            out.extend_from_slice(&tag.tci().to_be_bytes());
        }
        out.extend_from_slice(&self.ethertype.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QINQ: [u8; 24] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x88, 0xa8, 0xa0, 0x64, 0x81,
        0x00, 0x30, 0x0a, 0x08, 0x06, 0xaa, 0xbb,
    ];

    #[test]
    fn qinq_header() {
        let f = EthernetFrame::new_checked(&QINQ[..]).unwrap();
        assert_eq!(f.dst(), MacAddr::BROADCAST);
        assert_eq!(f.src(), MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(f.vlan_count(), 2);
        assert_eq!(
            f.vlan(0),
            Some(VlanTag {
                tpid: TPID_8021AD,
                pcp: 5,
                dei: false,
                vid: 100
            })
        );
        assert_eq!(
            f.vlan(1),
            Some(VlanTag {
                tpid: TPID_8021Q,
                pcp: 1,
                dei: true,
                vid: 10
            })
        );
        assert_eq!(f.vlan(2), None);
        assert_eq!(f.ethertype(), ETHERTYPE_ARP);
        assert_eq!(f.header_len(), 22);
        assert_eq!(f.payload(), &[0xaa, 0xbb]);
        let repr = EthernetRepr::parse(&f).unwrap();
        let mut out = [0u8; 22];
        assert_eq!(repr.emit(&mut out), Ok(22));
        assert_eq!(out[..], QINQ[..22]);
        assert_eq!(
            repr.emit(&mut [0u8; 21]),
            Err(WireError::InsufficientSize { required: 22 })
        );
    }

    #[test]
    fn legacy_outer_tpid_and_third_tag() {
        let mut b = QINQ;
        b[12] = 0x91;
        b[13] = 0x00;
        let f = EthernetFrame::new_checked(&b[..]).unwrap();
        assert_eq!(f.vlan(0).unwrap().tpid, TPID_QINQ_LEGACY);
        let mut three = QINQ.to_vec();
        three.splice(20..20, [0x81, 0x00, 0x00, 0x01]);
        assert_eq!(
            EthernetFrame::new_checked(&three[..]).unwrap_err(),
            WireError::Unsupported {
                field: "VLAN tag depth (third tag TPID)",
                value: 0x8100
            }
        );
    }

    #[test]
    fn truncated_header() {
        for n in 0..22 {
            assert_eq!(
                EthernetFrame::new_checked(&QINQ[..n]).unwrap_err(),
                WireError::Truncated {
                    needed: if n < 14 {
                        14
                    } else if n < 18 {
                        18
                    } else {
                        22
                    },
                    have: n
                },
                "length {n}"
            );
        }
    }
}
