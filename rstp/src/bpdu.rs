//! BPDU encoding (IEEE 802.1D-2004 clause 9) and its 802.3/LLC framing.
//!
//! [`BpduPacket`] is a checked view over the BPDU bytes (9.3.4 length and
//! type rules); [`Bpdu`] is the owned representation with `parse`/`emit`;
//! [`BpduFrame`] adds the 802.3 header (length field, LLC `42 42 03`) to the
//! group address `01:80:c2:00:00:00`. Times are kept in units of 1/256 s as
//! on the wire (9.2.8).

use crate::id::{BridgeId, MacAddr, PortId};

/// Bridge Group Address (802.1D 7.12.3, table 7-10).
pub const GROUP_ADDRESS: MacAddr = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00];
/// LLC DSAP and SSAP of the Spanning Tree protocol.
pub const LLC_SAP: u8 = 0x42;
/// LLC control field: Unnumbered Information.
pub const LLC_UI: u8 = 0x03;
/// Configuration BPDU length (9.3.1).
pub const CONFIG_LEN: usize = 35;
/// Topology Change Notification BPDU length (9.3.2).
pub const TCN_LEN: usize = 4;
/// Rapid Spanning Tree BPDU length (9.3.3).
pub const RST_LEN: usize = 36;
/// Minimum Ethernet frame length without FCS; emitted frames are padded.
pub const MIN_FRAME_LEN: usize = 60;

const TYPE_CONFIG: u8 = 0x00;
const TYPE_TCN: u8 = 0x80;
const TYPE_RST: u8 = 0x02;
const ETH_HEADER_LEN: usize = 14;
const LLC_LEN: usize = 3;
/// Largest 802.3 length value; larger values are EtherTypes.
const MAX_8023_LENGTH: u16 = 1500;

/// Why bytes are not a BPDU (9.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BpduError {
    /// Fewer bytes than the header or the BPDU type needs.
    #[error("truncated: {got} bytes, need {need}")]
    Truncated {
        /// Bytes available.
        got: usize,
        /// Bytes required.
        need: usize,
    },
    /// Destination is not the Bridge Group Address.
    #[error("destination is not 01:80:c2:00:00:00")]
    NotGroupAddress,
    /// The length/type field holds an EtherType, not an 802.3 length.
    #[error("not an 802.3 length-encoded frame (type {0:#06x})")]
    NotLlc(u16),
    /// LLC header is not `42 42 03`.
    #[error("LLC header is not 42 42 03")]
    BadLlc,
    /// Protocol Identifier is not 0.
    #[error("protocol identifier {0:#06x} is not 0")]
    BadProtocolId(u16),
    /// BPDU type not Config, TCN or RST.
    #[error("unknown BPDU type {0:#04x}")]
    UnknownType(u8),
    /// RST type with a protocol version below 2 (9.3.4 c).
    #[error("RST BPDU with protocol version {0}")]
    BadVersion(u8),
}

/// BPDU flags octet (9.3.1, 9.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Flags(pub u8);

impl Flags {
    /// Topology Change.
    pub const TC: u8 = 0x01;
    /// Proposal (RST only).
    pub const PROPOSAL: u8 = 0x02;
    /// Port Role mask (RST only).
    pub const ROLE_MASK: u8 = 0x0c;
    /// Learning (RST only).
    pub const LEARNING: u8 = 0x10;
    /// Forwarding (RST only).
    pub const FORWARDING: u8 = 0x20;
    /// Agreement (RST only).
    pub const AGREEMENT: u8 = 0x40;
    /// Topology Change Acknowledgment (Config only; 0 in RST BPDUs).
    pub const TCA: u8 = 0x80;
    /// The flags a Configuration BPDU carries.
    pub const CONFIG_MASK: u8 = Self::TC | Self::TCA;

    /// Whether every bit of `mask` is set.
    #[must_use]
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }

    /// The encoded Port Role (9.3.3).
    #[must_use]
    pub fn role(self) -> BpduRole {
        match (self.0 & Self::ROLE_MASK) >> 2 {
            1 => BpduRole::AlternateOrBackup,
            2 => BpduRole::Root,
            3 => BpduRole::Designated,
            _ => BpduRole::Unknown,
        }
    }

    /// These flags with the role field replaced.
    #[must_use]
    pub fn with_role(self, role: BpduRole) -> Self {
        let bits = match role {
            BpduRole::Unknown => 0,
            BpduRole::AlternateOrBackup => 1,
            BpduRole::Root => 2,
            BpduRole::Designated => 3,
        };
        Flags((self.0 & !Self::ROLE_MASK) | (bits << 2))
    }
}

/// Port Role as encoded in an RST BPDU (9.3.3, bits 3–4 of the flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BpduRole {
    /// 00: Unknown; the BPDU is processed as a Config BPDU.
    Unknown,
    /// 01: Alternate or Backup.
    AlternateOrBackup,
    /// 10: Root.
    Root,
    /// 11: Designated.
    Designated,
}

/// Timer values as carried in a BPDU, in units of 1/256 s (9.2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct BpduTimes {
    /// Message Age.
    pub message_age: u16,
    /// Max Age.
    pub max_age: u16,
    /// Hello Time.
    pub hello_time: u16,
    /// Forward Delay.
    pub forward_delay: u16,
}

impl BpduTimes {
    /// Times given in whole seconds (saturating at 255 s).
    #[must_use]
    pub fn from_secs(message_age: u16, max_age: u16, hello_time: u16, forward_delay: u16) -> Self {
        let t = |s: u16| s.saturating_mul(256);
        BpduTimes {
            message_age: t(message_age),
            max_age: t(max_age),
            hello_time: t(hello_time),
            forward_delay: t(forward_delay),
        }
    }
}

/// The body shared by Config and RST BPDUs (octets 5–35).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct BpduBody {
    /// Flags; for Config BPDUs only TC and TCA are kept.
    pub flags: Flags,
    /// Root Identifier.
    pub root: BridgeId,
    /// Root Path Cost.
    pub root_path_cost: u32,
    /// Bridge Identifier of the transmitting bridge.
    pub bridge: BridgeId,
    /// Port Identifier of the transmitting port.
    pub port: PortId,
    /// Message Age, Max Age, Hello Time, Forward Delay.
    pub times: BpduTimes,
}

/// A parsed BPDU (9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bpdu {
    /// Configuration BPDU (type 0x00).
    Config {
        /// Protocol Version Identifier (0 for 802.1D-1998).
        version: u8,
        /// Fields.
        body: BpduBody,
    },
    /// Topology Change Notification BPDU (type 0x80).
    Tcn {
        /// Protocol Version Identifier.
        version: u8,
    },
    /// Rapid Spanning Tree BPDU (type 0x02, version 2 or above).
    Rst {
        /// Protocol Version Identifier (2 for RSTP, 3 for MSTP).
        version: u8,
        /// Fields.
        body: BpduBody,
    },
}

fn be16(b: &[u8], off: usize) -> u16 {
    b.get(off..)
        .and_then(<[u8]>::first_chunk::<2>)
        .map_or(0, |c| u16::from_be_bytes(*c))
}

fn be32(b: &[u8], off: usize) -> u32 {
    b.get(off..)
        .and_then(<[u8]>::first_chunk::<4>)
        .map_or(0, |c| u32::from_be_bytes(*c))
}

fn be64(b: &[u8], off: usize) -> u64 {
    b.get(off..)
        .and_then(<[u8]>::first_chunk::<8>)
        .map_or(0, |c| u64::from_be_bytes(*c))
}

fn byte(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

/// A checked view over BPDU bytes (the 802.3 payload after the LLC header).
///
/// `new_checked` applies the length and type rules of 9.3.4; every accessor
/// is then in bounds (and would read 0 rather than panic if it were not).
#[derive(Debug, Clone, Copy)]
pub struct BpduPacket<'a> {
    buf: &'a [u8],
}

impl<'a> BpduPacket<'a> {
    /// Checks protocol identifier, type and the length the type needs.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, BpduError> {
        if buf.len() < TCN_LEN {
            return Err(BpduError::Truncated {
                got: buf.len(),
                need: TCN_LEN,
            });
        }
        let p = BpduPacket { buf };
        if p.protocol_id() != 0 {
            return Err(BpduError::BadProtocolId(p.protocol_id()));
        }
        let need = match p.bpdu_type() {
            TYPE_CONFIG => CONFIG_LEN,
            TYPE_TCN => TCN_LEN,
            TYPE_RST if p.version() >= 2 => RST_LEN,
            TYPE_RST => return Err(BpduError::BadVersion(p.version())),
            other => return Err(BpduError::UnknownType(other)),
        };
        if buf.len() < need {
            return Err(BpduError::Truncated {
                got: buf.len(),
                need,
            });
        }
        Ok(p)
    }

    /// The underlying bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }
    /// Octets 1–2: Protocol Identifier.
    #[must_use]
    pub fn protocol_id(&self) -> u16 {
        be16(self.buf, 0)
    }
    /// Octet 3: Protocol Version Identifier.
    #[must_use]
    pub fn version(&self) -> u8 {
        byte(self.buf, 2)
    }
    /// Octet 4: BPDU Type.
    #[must_use]
    pub fn bpdu_type(&self) -> u8 {
        byte(self.buf, 3)
    }
    /// Octet 5: flags.
    #[must_use]
    pub fn flags(&self) -> Flags {
        Flags(byte(self.buf, 4))
    }
    /// Octets 6–13: Root Identifier.
    #[must_use]
    pub fn root(&self) -> BridgeId {
        BridgeId(be64(self.buf, 5))
    }
    /// Octets 14–17: Root Path Cost.
    #[must_use]
    pub fn root_path_cost(&self) -> u32 {
        be32(self.buf, 13)
    }
    /// Octets 18–25: Bridge Identifier.
    #[must_use]
    pub fn bridge(&self) -> BridgeId {
        BridgeId(be64(self.buf, 17))
    }
    /// Octets 26–27: Port Identifier.
    #[must_use]
    pub fn port(&self) -> PortId {
        PortId(be16(self.buf, 25))
    }
    /// Octets 28–35: the four timers.
    #[must_use]
    pub fn times(&self) -> BpduTimes {
        BpduTimes {
            message_age: be16(self.buf, 27),
            max_age: be16(self.buf, 29),
            hello_time: be16(self.buf, 31),
            forward_delay: be16(self.buf, 33),
        }
    }
    /// Octet 36 (RST only): Version 1 Length.
    #[must_use]
    pub fn version1_length(&self) -> u8 {
        byte(self.buf, 35)
    }
}

impl Bpdu {
    /// Reads the representation out of a checked view.
    #[must_use]
    pub fn parse(p: &BpduPacket<'_>) -> Self {
        let body = |mask: u8| BpduBody {
            flags: Flags(p.flags().0 & mask),
            root: p.root(),
            root_path_cost: p.root_path_cost(),
            bridge: p.bridge(),
            port: p.port(),
            times: p.times(),
        };
        match p.bpdu_type() {
            TYPE_TCN => Bpdu::Tcn {
                version: p.version(),
            },
            TYPE_RST => Bpdu::Rst {
                version: p.version(),
                body: body(0xff),
            },
            _ => Bpdu::Config {
                version: p.version(),
                body: body(Flags::CONFIG_MASK),
            },
        }
    }

    /// Checks and parses BPDU bytes.
    pub fn parse_bytes(buf: &[u8]) -> Result<Self, BpduError> {
        BpduPacket::new_checked(buf).map(|p| Bpdu::parse(&p))
    }

    /// Encoded length: 35, 4 or 36.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        match self {
            Bpdu::Config { .. } => CONFIG_LEN,
            Bpdu::Tcn { .. } => TCN_LEN,
            Bpdu::Rst { .. } => RST_LEN,
        }
    }

    /// Appends the encoding to `out`. Config BPDUs carry only TC and TCA;
    /// RST BPDUs are written with Version 1 Length 0.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let (version, ty) = match self {
            Bpdu::Config { version, .. } => (*version, TYPE_CONFIG),
            Bpdu::Tcn { version } => (*version, TYPE_TCN),
            Bpdu::Rst { version, .. } => (*version, TYPE_RST),
        };
        out.extend_from_slice(&[0, 0, version, ty]);
        let (body, mask) = match self {
            Bpdu::Config { body, .. } => (body, Flags::CONFIG_MASK),
            Bpdu::Rst { body, .. } => (body, 0xff),
            Bpdu::Tcn { .. } => return,
        };
        out.push(body.flags.0 & mask);
        out.extend_from_slice(&body.root.0.to_be_bytes());
        out.extend_from_slice(&body.root_path_cost.to_be_bytes());
        out.extend_from_slice(&body.bridge.0.to_be_bytes());
        out.extend_from_slice(&body.port.0.to_be_bytes());
        for t in [
            body.times.message_age,
            body.times.max_age,
            body.times.hello_time,
            body.times.forward_delay,
        ] {
            out.extend_from_slice(&t.to_be_bytes());
        }
        if matches!(self, Bpdu::Rst { .. }) {
            out.push(0);
        }
    }

    /// The encoding as a new vector.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.buffer_len());
        self.emit(&mut v);
        v
    }

    /// The priority/timer body, absent for TCN BPDUs.
    #[must_use]
    pub fn body(&self) -> Option<&BpduBody> {
        match self {
            Bpdu::Config { body, .. } | Bpdu::Rst { body, .. } => Some(body),
            Bpdu::Tcn { .. } => None,
        }
    }
}

/// A BPDU in its 802.3/LLC frame (802.1D 7.12.3, 802.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BpduFrame {
    /// Source address (the transmitting port's MAC).
    pub src: MacAddr,
    /// The BPDU.
    pub bpdu: Bpdu,
}

impl BpduFrame {
    /// Parses an Ethernet frame: destination `01:80:c2:00:00:00`, an 802.3
    /// length (≤ 1500), LLC `42 42 03`, then the BPDU. Bytes beyond the
    /// 802.3 length (padding) are ignored.
    pub fn parse(frame: &[u8]) -> Result<Self, BpduError> {
        let need = ETH_HEADER_LEN.saturating_add(LLC_LEN);
        let Some((header, rest)) = frame.split_first_chunk::<ETH_HEADER_LEN>() else {
            return Err(BpduError::Truncated {
                got: frame.len(),
                need,
            });
        };
        let [d0, d1, d2, d3, d4, d5, s0, s1, s2, s3, s4, s5, l0, l1] = *header;
        if [d0, d1, d2, d3, d4, d5] != GROUP_ADDRESS {
            return Err(BpduError::NotGroupAddress);
        }
        let length = u16::from_be_bytes([l0, l1]);
        if length > MAX_8023_LENGTH {
            return Err(BpduError::NotLlc(length));
        }
        let payload = rest
            .get(..usize::from(length))
            .ok_or(BpduError::Truncated {
                got: frame.len(),
                need: ETH_HEADER_LEN.saturating_add(usize::from(length)),
            })?;
        let Some((llc, bpdu)) = payload.split_first_chunk::<LLC_LEN>() else {
            return Err(BpduError::Truncated {
                got: frame.len(),
                need,
            });
        };
        if *llc != [LLC_SAP, LLC_SAP, LLC_UI] {
            return Err(BpduError::BadLlc);
        }
        Ok(BpduFrame {
            src: [s0, s1, s2, s3, s4, s5],
            bpdu: Bpdu::parse_bytes(bpdu)?,
        })
    }

    /// Unpadded frame length: 14 + 3 + BPDU length.
    #[must_use]
    pub fn unpadded_len(&self) -> usize {
        ETH_HEADER_LEN
            .saturating_add(LLC_LEN)
            .saturating_add(self.bpdu.buffer_len())
    }

    /// Emits the frame padded with zeros to 60 bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(MIN_FRAME_LEN);
        v.extend_from_slice(&GROUP_ADDRESS);
        v.extend_from_slice(&self.src);
        let length = LLC_LEN.saturating_add(self.bpdu.buffer_len());
        v.extend_from_slice(&u16::try_from(length).unwrap_or(0).to_be_bytes());
        v.extend_from_slice(&[LLC_SAP, LLC_SAP, LLC_UI]);
        self.bpdu.emit(&mut v);
        if v.len() < MIN_FRAME_LEN {
            v.resize(MIN_FRAME_LEN, 0);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        s.as_bytes()
            .chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
            .collect()
    }

    const MSTPD_ROOT: &str = "0180c2000000 da68e0439903 0027 424203 0000 02 02 4e \
        8000da68e0439903 00000000 8000da68e0439903 8001 0000 1400 0200 0f00 00";

    fn mstpd_body() -> BpduBody {
        let id = BridgeId(0x8000_da68_e043_9903);
        BpduBody {
            flags: Flags(0x4e),
            root: id,
            root_path_cost: 0,
            bridge: id,
            port: PortId(0x8001),
            times: BpduTimes::from_secs(0, 20, 2, 15),
        }
    }

    #[test]
    fn captured_mstpd_rst_bpdu() {
        let bytes = hex(MSTPD_ROOT);
        assert_eq!(bytes.len(), 53);
        let f = BpduFrame::parse(&bytes).unwrap();
        assert_eq!(f.src, [0xda, 0x68, 0xe0, 0x43, 0x99, 0x03]);
        assert_eq!(
            f.bpdu,
            Bpdu::Rst {
                version: 2,
                body: mstpd_body()
            }
        );
        let body = f.bpdu.body().unwrap();
        assert!(body.flags.has(Flags::AGREEMENT | Flags::PROPOSAL));
        assert_eq!(body.flags.role(), BpduRole::Designated);
        let out = f.to_bytes();
        assert_eq!(out.len(), MIN_FRAME_LEN);
        assert_eq!(&out[..53], &bytes[..]);
        assert!(out[53..].iter().all(|&b| b == 0));
        // Padding after the 802.3 length is ignored.
        assert_eq!(BpduFrame::parse(&out).unwrap(), f);
    }

    #[test]
    fn config_bpdu_bytes() {
        let mut body = mstpd_body();
        body.flags = Flags(0xff); // only TC and TCA survive
        body.root_path_cost = 200_000;
        body.times.message_age = 0x0100;
        let b = Bpdu::Config { version: 0, body };
        let bytes = b.to_bytes();
        assert_eq!(
            bytes,
            hex(
                "0000 00 00 81 8000da68e0439903 00030d40 8000da68e0439903 8001 0100 1400 0200 0f00"
            )
        );
        assert_eq!(bytes.len(), CONFIG_LEN);
        let parsed = Bpdu::parse_bytes(&bytes).unwrap();
        let Bpdu::Config { body: pb, .. } = parsed else {
            panic!()
        };
        assert_eq!(pb.flags, Flags(0x81));
        let frame = BpduFrame {
            src: [2, 0, 0, 0, 0, 1],
            bpdu: parsed,
        }
        .to_bytes();
        assert_eq!(&frame[12..17], &hex("0026 424203")[..]);
    }

    #[test]
    fn tcn_bpdu_bytes() {
        let b = Bpdu::Tcn { version: 0 };
        assert_eq!(b.to_bytes(), vec![0, 0, 0, 0x80]);
        assert_eq!(Bpdu::parse_bytes(&[0, 0, 0, 0x80]).unwrap(), b);
        let f = BpduFrame {
            src: [2, 0, 0, 0, 0, 1],
            bpdu: b,
        };
        let bytes = f.to_bytes();
        assert_eq!(
            &bytes[..21],
            &hex("0180c2000000 020000000001 0007 424203 00000080")[..]
        );
        assert_eq!(f.unpadded_len(), 21);
    }

    #[test]
    fn validation_9_3_4() {
        assert_eq!(
            Bpdu::parse_bytes(&[0, 0, 0]),
            Err(BpduError::Truncated { got: 3, need: 4 })
        );
        assert_eq!(
            Bpdu::parse_bytes(&[0, 1, 0, 0x80]),
            Err(BpduError::BadProtocolId(1))
        );
        assert_eq!(
            Bpdu::parse_bytes(&[0, 0, 0, 0x81]),
            Err(BpduError::UnknownType(0x81))
        );
        let mut cfg = vec![0u8; 34];
        assert_eq!(
            Bpdu::parse_bytes(&cfg),
            Err(BpduError::Truncated { got: 34, need: 35 })
        );
        cfg.push(0);
        assert!(matches!(Bpdu::parse_bytes(&cfg), Ok(Bpdu::Config { .. })));
        // A Config-type BPDU of any version is a Config BPDU.
        cfg[2] = 2;
        assert!(matches!(
            Bpdu::parse_bytes(&cfg),
            Ok(Bpdu::Config { version: 2, .. })
        ));
        // RST needs 36 bytes and version >= 2.
        let rst = hex(MSTPD_ROOT)[17..].to_vec();
        assert_eq!(
            Bpdu::parse_bytes(&rst[..35]),
            Err(BpduError::Truncated { got: 35, need: 36 })
        );
        let mut v1 = rst.clone();
        v1[2] = 1;
        assert_eq!(Bpdu::parse_bytes(&v1), Err(BpduError::BadVersion(1)));
        // Version 3 (MSTP) with trailing MSTI data is read as RSTP.
        let mut v3 = rst.clone();
        v3[2] = 3;
        v3.extend_from_slice(&[0; 64]);
        assert!(matches!(
            Bpdu::parse_bytes(&v3),
            Ok(Bpdu::Rst { version: 3, .. })
        ));
    }

    #[test]
    fn frame_validation() {
        let good = hex(MSTPD_ROOT);
        let mut bad = good.clone();
        bad[5] = 1;
        assert_eq!(BpduFrame::parse(&bad), Err(BpduError::NotGroupAddress));
        let mut bad = good.clone();
        bad[12..14].copy_from_slice(&[0x88, 0xcc]);
        assert_eq!(BpduFrame::parse(&bad), Err(BpduError::NotLlc(0x88cc)));
        let mut bad = good.clone();
        bad[16] = 0x13;
        assert_eq!(BpduFrame::parse(&bad), Err(BpduError::BadLlc));
        assert!(matches!(
            BpduFrame::parse(&good[..40]),
            Err(BpduError::Truncated { .. })
        ));
        assert!(matches!(
            BpduFrame::parse(&[]),
            Err(BpduError::Truncated { .. })
        ));
    }

    #[test]
    fn role_bits() {
        for role in [
            BpduRole::Unknown,
            BpduRole::AlternateOrBackup,
            BpduRole::Root,
            BpduRole::Designated,
        ] {
            assert_eq!(Flags(0xf3).with_role(role).role(), role);
            assert_eq!(Flags(0xf3).with_role(role).0 & 0xf3, 0xf3);
        }
        assert_eq!(Flags(0x08).role(), BpduRole::Root);
    }
}
