//! keepalived UDP_CHECK: send a payload, expect a reply datagram. With an
//! expectation the reply must be `min_len..=max_len` bytes long and match
//! `data` under `mask` byte by byte (keepalived `reply_data`, `reply_mask`,
//! `min_reply_length`, `max_reply_length`); without one, any reply passes.
//! An ICMP port unreachable is reported by the driver as
//! [`FailReason::Unreachable`]; silence is failed by the engine timeout
//! (keepalived's "no reply is fine" mode is not offered).

use crate::conversation::Conversation;
use crate::verdict::{FailReason, Verdict};

/// What a reply must look like.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UdpExpect {
    /// Expected bytes (compared over their length).
    pub data: Vec<u8>,
    /// Mask applied to both sides; missing bytes mean `0xff`.
    pub mask: Vec<u8>,
    /// Minimum reply length.
    pub min_len: usize,
    /// Maximum reply length.
    pub max_len: usize,
}

/// UDP check parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UdpConfig {
    /// Datagram to send.
    pub payload: Vec<u8>,
    /// Reply expectation.
    pub expect: Option<UdpExpect>,
}

/// Whether `reply` satisfies `e`.
pub fn reply_matches(e: &UdpExpect, reply: &[u8]) -> bool {
    if reply.len() < e.min_len || reply.len() > e.max_len || reply.len() < e.data.len() {
        return false;
    }
    e.data
        .iter()
        .zip(reply)
        .enumerate()
        .all(|(i, (want, got))| {
            let m = e.mask.get(i).copied().unwrap_or(0xff);
            want & m == got & m
        })
}

/// One UDP check conversation.
#[derive(Debug)]
pub struct UdpCheck {
    cfg: UdpConfig,
    sent: bool,
    verdict: Option<Verdict>,
}

impl UdpCheck {
    /// A fresh conversation.
    pub fn new(cfg: UdpConfig) -> Self {
        UdpCheck {
            cfg,
            sent: false,
            verdict: None,
        }
    }
}

impl Conversation for UdpCheck {
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.sent {
            return None;
        }
        self.sent = true;
        Some(self.cfg.payload.clone())
    }

    fn handle_data(&mut self, data: &[u8]) {
        if self.verdict.is_some() {
            return;
        }
        let ok = self
            .cfg
            .expect
            .as_ref()
            .is_none_or(|e| reply_matches(e, data));
        self.verdict = Some(if ok {
            Verdict::PASS
        } else {
            Verdict::Fail(FailReason::UdpMismatch)
        });
    }

    fn handle_eof(&mut self) {}

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
    fn masked_match() {
        let e = UdpExpect {
            data: vec![0x12, 0x34, 0xff],
            mask: vec![0xff, 0xf0],
            min_len: 3,
            max_len: 8,
        };
        assert!(reply_matches(&e, &[0x12, 0x3f, 0xff]));
        assert!(reply_matches(&e, &[0x12, 0x30, 0xff, 0, 0]));
        assert!(!reply_matches(&e, &[0x12, 0x44, 0xff]));
        assert!(!reply_matches(&e, &[0x12, 0x34, 0xfe]));
        assert!(!reply_matches(&e, &[0x12, 0x34]), "too short");
        assert!(
            !reply_matches(&e, &[0x12, 0x34, 0xff, 0, 0, 0, 0, 0, 0]),
            "too long"
        );
        let mut c = UdpCheck::new(UdpConfig {
            payload: b"ping".to_vec(),
            expect: Some(e),
        });
        assert_eq!(c.poll_transmit(), Some(b"ping".to_vec()));
        assert_eq!(c.poll_transmit(), None);
        c.handle_data(b"pong");
        assert_eq!(c.verdict(), Some(Verdict::Fail(FailReason::UdpMismatch)));
        let mut c = UdpCheck::new(UdpConfig::default());
        c.handle_data(b"");
        assert_eq!(c.verdict(), Some(Verdict::PASS));
    }
}
