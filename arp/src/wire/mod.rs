//! Wire formats: checked views over byte slices plus owned `Repr`s with
//! `parse` / `emit`, in the style of smoltcp. Nothing here panics on any input.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod ndisc;

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
