//! Fuzz entry `arp_monitor` (in progress).

/// Drives `arp_monitor` with arbitrary input; `Err` names a violated invariant.
pub fn arp_monitor(data: &[u8]) -> Result<(), String> {
    let _ = data;
    Ok(())
}
