//! Fuzz entry `rstp_bpdu`: the BPDU view, `Bpdu` parse/emit and the 802.3
//! frame codec on arbitrary bytes.

use crate::bpdu::{Bpdu, BpduFrame, BpduPacket, Flags, GROUP_ADDRESS, MIN_FRAME_LEN};

/// Parses `data` both as BPDU bytes and as a whole frame. Whatever parses
/// must re-emit to bytes that parse to the same value, agree with the input
/// on every field the representation keeps, and agree between the view and
/// the frame codec.
pub fn bpdu(data: &[u8]) -> Result<(), String> {
    check_bpdu(data)?;
    check_frame(data)?;
    // The same bytes wrapped in a frame must parse as the bare BPDU does.
    if data.len() <= 1497 {
        let mut frame = Vec::with_capacity(data.len().saturating_add(17));
        frame.extend_from_slice(&GROUP_ADDRESS);
        frame.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
        let len = u16::try_from(data.len().saturating_add(3)).unwrap_or(0);
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(&[0x42, 0x42, 0x03]);
        frame.extend_from_slice(data);
        let framed = BpduFrame::parse(&frame).map(|f| f.bpdu);
        if framed != Bpdu::parse_bytes(data) {
            return Err(format!(
                "framed {framed:?} vs bare {:?}",
                Bpdu::parse_bytes(data)
            ));
        }
    }
    Ok(())
}

fn check_bpdu(data: &[u8]) -> Result<(), String> {
    let Ok(view) = BpduPacket::new_checked(data) else {
        return Ok(());
    };
    let repr = Bpdu::parse(&view);
    let bytes = repr.to_bytes();
    if bytes.len() != repr.buffer_len() {
        return Err(format!(
            "emitted {} bytes, buffer_len {}",
            bytes.len(),
            repr.buffer_len()
        ));
    }
    match Bpdu::parse_bytes(&bytes) {
        Ok(again) if again == repr => {}
        other => return Err(format!("re-parse {other:?} vs {repr:?}")),
    }
    // Every kept byte matches the input: only Config flags are masked and
    // the RST Version 1 Length is written as 0.
    let n = bytes.len();
    let original = data.get(..n).ok_or("input shorter than the emitted BPDU")?;
    for (i, (a, b)) in original.iter().zip(&bytes).enumerate() {
        let expected = match (&repr, i) {
            (Bpdu::Config { .. }, 4) => a & Flags::CONFIG_MASK,
            (Bpdu::Rst { .. }, 35) => 0,
            _ => *a,
        };
        if expected != *b {
            return Err(format!("byte {i}: input {a:#04x}, emitted {b:#04x}"));
        }
    }
    if view.version() != data.get(2).copied().unwrap_or(0) {
        return Err("view version differs from byte 2".into());
    }
    Ok(())
}

fn check_frame(data: &[u8]) -> Result<(), String> {
    let Ok(frame) = BpduFrame::parse(data) else {
        return Ok(());
    };
    let bytes = frame.to_bytes();
    if bytes.len() != frame.unpadded_len().max(MIN_FRAME_LEN) {
        return Err(format!("frame of {} bytes", bytes.len()));
    }
    match BpduFrame::parse(&bytes) {
        Ok(again) if again == frame => Ok(()),
        other => Err(format!("frame re-parse {other:?} vs {frame:?}")),
    }
}
