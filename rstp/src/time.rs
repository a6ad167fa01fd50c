//! Saturating `Instant` arithmetic, so deadlines never panic.

use std::time::{Duration, Instant};

/// `now + d`, or `now` if not representable.
pub(crate) fn add(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}
