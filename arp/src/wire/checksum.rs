//! The Internet checksum (RFC 1071): the 16-bit ones'-complement of the
//! ones'-complement sum of 16-bit big-endian words, and the IPv6
//! pseudo-header of RFC 8200 §8.1 that upper-layer checksums cover.

use core::net::Ipv6Addr;

/// A running ones'-complement sum (RFC 1071 §4.1), accumulated in 64 bits
/// and folded at the end, so adding never overflows for any realistic input.
///
/// Every chunk passed to [`Checksum::add_bytes`] except the last must have
/// even length: an odd trailing byte is padded with zero as the final word.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checksum {
    acc: u64,
}

impl Checksum {
    /// An empty sum.
    pub const fn new() -> Self {
        Checksum { acc: 0 }
    }

    /// Adds one 16-bit word.
    pub fn add_u16(&mut self, word: u16) -> &mut Self {
        self.acc = self.acc.wrapping_add(u64::from(word));
        self
    }

    /// Adds a 32-bit value as two words.
    pub fn add_u32(&mut self, value: u32) -> &mut Self {
        self.acc = self
            .acc
            .wrapping_add(u64::from(value >> 16))
            .wrapping_add(u64::from(value & 0xffff));
        self
    }

    /// Adds `data` as big-endian words; an odd last byte is padded with zero.
    pub fn add_bytes(&mut self, data: &[u8]) -> &mut Self {
        let mut chunks = data.chunks_exact(2);
        for pair in &mut chunks {
            if let [hi, lo] = *pair {
                self.add_u16(u16::from_be_bytes([hi, lo]));
            }
        }
        if let [last] = *chunks.remainder() {
            self.add_u16(u16::from_be_bytes([last, 0]));
        }
        self
    }

    /// The folded 16-bit ones'-complement sum (not yet complemented).
    pub fn sum(&self) -> u16 {
        let mut acc = self.acc;
        while acc > 0xffff {
            acc = (acc & 0xffff).wrapping_add(acc >> 16);
        }
        u16::try_from(acc).unwrap_or(0xffff)
    }

    /// The checksum to store in a header: the complement of [`Checksum::sum`].
    /// Over data that already holds a correct checksum this is `0`.
    pub fn finish(&self) -> u16 {
        !self.sum()
    }
}

/// The RFC 1071 checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    Checksum::new().add_bytes(data).finish()
}

/// The ones'-complement sum of the IPv6 pseudo-header (RFC 8200 §8.1):
/// source, destination, upper-layer packet length and next header.
pub fn ipv6_pseudo_header(
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
    upper_layer_len: u32,
    next_header: u8,
) -> Checksum {
    let mut c = Checksum::new();
    c.add_bytes(&src.octets())
        .add_bytes(&dst.octets())
        .add_u32(upper_layer_len)
        .add_u16(u16::from(next_header));
    c
}

/// The checksum of an upper-layer message over IPv6 (RFC 8200 §8.1, ICMPv6
/// per RFC 4443 §2.3): the pseudo-header plus `message`, whose checksum field
/// must be zero when computing and hold the received value when verifying
/// (then a correct message yields `0`). Messages longer than `u32::MAX`
/// cannot occur in IPv6 (jumbograms aside) and are summed with length
/// `u32::MAX`.
pub fn ipv6_upper_layer(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, message: &[u8]) -> u16 {
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    ipv6_pseudo_header(src, dst, len, next_header)
        .add_bytes(message)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(Checksum::new().add_bytes(&data).sum(), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(checksum(&[0xab]), checksum(&[0xab, 0x00]));
        assert_eq!(checksum(&[]), 0xffff);
    }

    #[test]
    fn ipv4_header_example() {
        // A well-known IPv4 header (checksum field b861 stored) verifies to 0.
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&hdr), 0);
        let mut zeroed = hdr;
        zeroed[10] = 0;
        zeroed[11] = 0;
        assert_eq!(checksum(&zeroed), 0xb861);
    }

    #[test]
    fn fold_carries_repeatedly() {
        let mut c = Checksum::new();
        for _ in 0..100_000 {
            c.add_u16(0xffff);
        }
        assert_eq!(c.sum(), 0xffff);
        assert_eq!(c.add_u32(0x0001_0001).sum(), 0x0002);
    }
}
