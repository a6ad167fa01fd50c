//! The outcome of one probe, as a checker conversation (or the driver)
//! reports it to the engine in [`crate::Input::ProbeResult`].

use crate::agent::AgentReply;

/// Why a probe failed. Plain data, so verdicts stay `Copy`-cheap and
/// reasons can be printed in transition events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// The engine's probe timeout expired (keepalived `connect_timeout`,
    /// HAProxy `timeout check`).
    Timeout,
    /// TCP connect refused / reset / unreachable (reported by the driver).
    ConnectFailed,
    /// An ICMP error came back for a datagram probe (reported by the driver).
    Unreachable,
    /// The peer closed the connection before the conversation was complete.
    ClosedEarly,
    /// The peer's bytes do not parse as the expected protocol.
    Malformed(&'static str),
    /// Status line / header block longer than the configured cap.
    HeadersTooLarge,
    /// Body longer than the configured cap (or never-ending).
    BodyTooLarge,
    /// HTTP status outside the accepted ranges (keepalived `status_code`).
    HttpStatus(u16),
    /// MD5 of the body differs from keepalived's `digest`.
    DigestMismatch,
    /// Body does not contain the expected substring / match the regex.
    ExpectMismatch,
    /// SMTP reply code other than the one expected in this state.
    SmtpReply(u16),
    /// DNS response ID differs from the query's.
    DnsIdMismatch,
    /// DNS response has QR clear (a query, not a response).
    DnsNotResponse,
    /// DNS RCODE other than NOERROR (RFC 1035 §4.1.1).
    DnsRcode(u8),
    /// No answer record of the asked type.
    DnsNoAnswer,
    /// UDP reply does not match the expectation.
    UdpMismatch,
    /// MISC_CHECK script exited with this status (non-zero, not dynamic).
    ExitStatus(i32),
    /// MISC_CHECK script killed by this signal.
    Signal(i32),
    /// The driver could not run the probe (e.g. script not found).
    Driver,
}

/// The verdict of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The check passed. `weight`: a dynamic weight (keepalived MISC_CHECK
    /// `misc_dynamic`, exit status 2–255 ⇒ weight `status − 2`).
    Pass {
        /// New weight for the target, if the checker reported one.
        weight: Option<u32>,
    },
    /// The check failed; retried / counted per the thresholds.
    Fail(FailReason),
    /// The check failed in a way that marks the target down at once,
    /// regardless of `retry` / `fall` (Envoy: an unexpected HTTP status).
    FailNow(FailReason),
    /// An HAProxy agent-check reply (never a health verdict by itself).
    Agent(AgentReply),
}

impl Verdict {
    /// A plain pass without a weight.
    pub const PASS: Verdict = Verdict::Pass { weight: None };

    /// True for [`Verdict::Pass`].
    pub fn is_pass(&self) -> bool {
        matches!(self, Verdict::Pass { .. })
    }
}
