//! Bridge and port identifiers (IEEE 802.1D-2004 9.2.5, 9.2.7, 17.13.7).

use core::fmt;

/// A 48-bit MAC address.
pub type MacAddr = [u8; 6];

/// Bridge Identifier (9.2.5): 4-bit priority (steps of 4096), 12-bit system
/// ID extension and the bridge MAC address, compared as a `u64` (lower wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BridgeId(pub u64);

impl BridgeId {
    /// Builds an identifier from the 16-bit priority field (priority plus
    /// system ID extension) and the bridge address.
    #[must_use]
    pub fn new(priority: u16, mac: MacAddr) -> Self {
        let [p0, p1] = priority.to_be_bytes();
        let [m0, m1, m2, m3, m4, m5] = mac;
        BridgeId(u64::from_be_bytes([p0, p1, m0, m1, m2, m3, m4, m5]))
    }

    /// The 16-bit priority field (priority and system ID extension).
    #[must_use]
    pub fn priority(self) -> u16 {
        let [p0, p1, ..] = self.0.to_be_bytes();
        u16::from_be_bytes([p0, p1])
    }

    /// The bridge address (the "Bridge Address" component of 17.6).
    #[must_use]
    pub fn mac(self) -> MacAddr {
        let [_, _, m0, m1, m2, m3, m4, m5] = self.0.to_be_bytes();
        [m0, m1, m2, m3, m4, m5]
    }
}

impl fmt::Display for BridgeId {
    /// `8000.da68e0439903`, as `mstpctl` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}.", self.priority())?;
        for b in self.mac() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Port Identifier (9.2.7): 4-bit priority (steps of 16) and 12-bit port
/// number (1..=4095).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PortId(pub u16);

impl PortId {
    /// Builds an identifier from a port priority (0..=240, only the top four
    /// bits are kept) and a port number (only the low 12 bits are kept).
    #[must_use]
    pub fn new(priority: u8, number: u16) -> Self {
        let hi = u16::from(priority & 0xf0) << 8;
        PortId(hi | (number & 0x0fff))
    }

    /// Port priority (multiple of 16).
    #[must_use]
    pub fn priority(self) -> u8 {
        let [hi, _] = self.0.to_be_bytes();
        hi & 0xf0
    }

    /// Port number (the 12 low bits).
    #[must_use]
    pub fn number(self) -> u16 {
        self.0 & 0x0fff
    }
}

impl fmt::Display for PortId {
    /// `8.001`, as `mstpctl` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}.{:03x}", self.priority() >> 4, self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_id_layout() {
        let id = BridgeId::new(0x8000, [0xda, 0x68, 0xe0, 0x43, 0x99, 0x03]);
        assert_eq!(id.0, 0x8000_da68_e043_9903);
        assert_eq!(id.priority(), 0x8000);
        assert_eq!(id.mac(), [0xda, 0x68, 0xe0, 0x43, 0x99, 0x03]);
        assert_eq!(id.to_string(), "8000.da68e0439903");
        assert!(BridgeId::new(0x7000, [0xff; 6]) < id);
    }

    #[test]
    fn port_id_layout() {
        let id = PortId::new(128, 1);
        assert_eq!(id.0, 0x8001);
        assert_eq!((id.priority(), id.number()), (128, 1));
        assert_eq!(id.to_string(), "8.001");
        assert_eq!(PortId::new(0x7f, 0x1234).0, 0x7234);
    }
}
