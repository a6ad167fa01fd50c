//! Fuzz entry `arp_frame` (in progress).

/// Drives `arp_frame` with arbitrary input; `Err` names a violated invariant.
pub fn arp_frame(data: &[u8]) -> Result<(), String> {
    let _ = data;
    Ok(())
}
