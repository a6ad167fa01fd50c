//! Saturating `Instant` arithmetic, so deadlines never panic or overflow.

use std::time::{Duration, Instant};

/// `now + d`, or `now` pushed as far as representable on overflow
/// (never in practice: `Instant` spans centuries).
pub(crate) fn add(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}

/// The earlier of two optional deadlines.
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}
