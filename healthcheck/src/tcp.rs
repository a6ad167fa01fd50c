//! keepalived TCP_CHECK / HAProxy plain `check`: the probe passes when the
//! TCP three-way handshake completes. The driver reports a refused or reset
//! connection as [`FailReason::ConnectFailed`]; a silent peer is failed by
//! the engine's timeout.

use crate::conversation::Conversation;
use crate::verdict::{FailReason, Verdict};

/// The TCP connect conversation: nothing to send, nothing to read.
#[derive(Debug, Default)]
pub struct TcpConnect {
    verdict: Option<Verdict>,
}

impl TcpConnect {
    /// A fresh conversation.
    pub fn new() -> Self {
        TcpConnect::default()
    }
}

impl Conversation for TcpConnect {
    fn handle_connected(&mut self) {
        if self.verdict.is_none() {
            self.verdict = Some(Verdict::PASS);
        }
    }

    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        None
    }

    fn handle_data(&mut self, _data: &[u8]) {}

    fn handle_eof(&mut self) {
        if self.verdict.is_none() {
            self.verdict = Some(Verdict::Fail(FailReason::ConnectFailed));
        }
    }

    fn verdict(&self) -> Option<Verdict> {
        self.verdict.clone()
    }

    fn buffered(&self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_passes() {
        let mut c = TcpConnect::new();
        assert_eq!(c.verdict(), None);
        c.handle_connected();
        assert_eq!(c.verdict(), Some(Verdict::PASS));
        c.handle_eof();
        assert_eq!(c.verdict(), Some(Verdict::PASS), "verdicts never change");
        let mut c = TcpConnect::new();
        c.handle_eof();
        assert_eq!(c.verdict(), Some(Verdict::Fail(FailReason::ConnectFailed)));
    }
}
