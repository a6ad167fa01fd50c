//! keepalived MISC_CHECK: an external command run by the driver; its exit
//! status is the verdict (keepalived.conf(5) `misc_dynamic`): 0 passes,
//! 1 fails, and with `misc_dynamic` 2–255 passes with weight `status − 2`
//! (without it, any non-zero status fails). A command killed by a signal
//! fails. The engine's probe timeout bounds the run (the driver kills the
//! command on [`crate::Output::ProbeTimedOut`]).

use crate::verdict::{FailReason, Verdict};

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MiscExit {
    /// Exited with this status.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

/// The verdict for an exit status.
pub fn verdict(exit: MiscExit, dynamic: bool) -> Verdict {
    match exit {
        MiscExit::Code(0) => Verdict::PASS,
        MiscExit::Code(rc @ 2..=255) if dynamic => Verdict::Pass {
            weight: u32::try_from(rc.saturating_sub(2)).ok(),
        },
        MiscExit::Code(rc) => Verdict::Fail(FailReason::ExitStatus(rc)),
        MiscExit::Signal(s) => Verdict::Fail(FailReason::Signal(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_scenario_9() {
        assert_eq!(verdict(MiscExit::Code(0), true), Verdict::PASS);
        assert_eq!(
            verdict(MiscExit::Code(1), true),
            Verdict::Fail(FailReason::ExitStatus(1))
        );
        assert_eq!(
            verdict(MiscExit::Code(5), true),
            Verdict::Pass { weight: Some(3) }
        );
        assert_eq!(
            verdict(MiscExit::Code(2), true),
            Verdict::Pass { weight: Some(0) }
        );
        assert_eq!(
            verdict(MiscExit::Code(255), true),
            Verdict::Pass { weight: Some(253) }
        );
        assert_eq!(
            verdict(MiscExit::Code(5), false),
            Verdict::Fail(FailReason::ExitStatus(5))
        );
        assert_eq!(
            verdict(MiscExit::Code(256), true),
            Verdict::Fail(FailReason::ExitStatus(256))
        );
        assert_eq!(
            verdict(MiscExit::Signal(9), true),
            Verdict::Fail(FailReason::Signal(9))
        );
    }
}
