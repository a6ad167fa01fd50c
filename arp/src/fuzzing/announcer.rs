//! Fuzz entry `announcer` (in progress).

/// Drives `announcer` with arbitrary input; `Err` names a violated invariant.
pub fn announcer(data: &[u8]) -> Result<(), String> {
    let _ = data;
    Ok(())
}
