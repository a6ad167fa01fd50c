//! HAProxy `agent-check` (configuration.txt §5.2 `agent-check`): the agent
//! answers one ASCII line; this module parses it and holds the conversation.
//!
//! Recognised words (case-insensitive, separated by space, tab or comma):
//! `N%` (weight as a percentage of the configured weight), `weight:N%`
//! (same) or `weight:N` (absolute weight, our extension), `maxconn:N`,
//! `ready`, `drain`, `maint`, `down` / `fail` / `stopped` (optionally
//! followed by `#description`, which ends the reply), `up`. A reply with no
//! recognised word is malformed. Agent connection failures never mark a
//! server down (HAProxy); the engine only counts them.

use crate::conversation::Conversation;
use crate::verdict::{FailReason, Verdict};

/// Longest agent reply line accepted (HAProxy reads one buffer's worth).
pub const MAX_REPLY: usize = 1024;

/// Administrative state requested by the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminState {
    /// `ready`: cancel DRAIN / MAINT.
    Ready,
    /// `drain`: effective weight 0, server stays up.
    Drain,
    /// `maint`: out of the pool.
    Maint,
}

/// Operational state reported by the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperState {
    /// `up`: up again if the health checks agree.
    Up,
    /// `down`, `fail`, `stopped`.
    Down,
}

/// A weight from the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentWeight {
    /// `N%` of the configured weight.
    Percent(u32),
    /// `weight:N`, an absolute weight.
    Absolute(u32),
}

/// One parsed agent reply; absent fields were not mentioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AgentReply {
    /// New weight.
    pub weight: Option<AgentWeight>,
    /// `maxconn:N` (passed through; the engine has no connection limits).
    pub maxconn: Option<u32>,
    /// Administrative state.
    pub admin: Option<AdminState>,
    /// Operational state.
    pub oper: Option<OperState>,
}

fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.iter().try_fold(0u32, |acc, &b| {
        let d = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u32::from(d))
    })
}

/// Parses one reply line (without or with its trailing CR/LF).
pub fn parse_reply(line: &[u8]) -> Result<AgentReply, &'static str> {
    let mut reply = AgentReply::default();
    let mut recognised = false;
    // A `#` starts a free-form description that ends the reply.
    let body = line.split(|&b| b == b'#').next().unwrap_or(&[]);
    for word in body
        .split(|&b| matches!(b, b' ' | b'\t' | b',' | b'\r' | b'\n'))
        .filter(|w| !w.is_empty())
    {
        let lower = word.to_ascii_lowercase();
        match lower.as_slice() {
            b"ready" => reply.admin = Some(AdminState::Ready),
            b"drain" => reply.admin = Some(AdminState::Drain),
            b"maint" => reply.admin = Some(AdminState::Maint),
            b"down" | b"fail" | b"stopped" => reply.oper = Some(OperState::Down),
            b"up" => reply.oper = Some(OperState::Up),
            w => {
                if let Some(n) = w.strip_prefix(b"maxconn:") {
                    reply.maxconn = Some(parse_u32(n).ok_or("bad maxconn")?);
                } else if let Some(n) = w.strip_prefix(b"weight:") {
                    reply.weight = Some(match n.strip_suffix(b"%") {
                        Some(p) => AgentWeight::Percent(parse_u32(p).ok_or("bad weight")?),
                        None => AgentWeight::Absolute(parse_u32(n).ok_or("bad weight")?),
                    });
                } else if let Some(p) = w.strip_suffix(b"%") {
                    reply.weight =
                        Some(AgentWeight::Percent(parse_u32(p).ok_or("bad percentage")?));
                } else {
                    // HAProxy ignores unknown words; keep going.
                    continue;
                }
            }
        }
        recognised = true;
    }
    if recognised {
        Ok(reply)
    } else {
        Err("no recognised word in agent reply")
    }
}

/// The agent conversation: connect, read one line (or until EOF), parse.
#[derive(Debug, Default)]
pub struct AgentCheck {
    buf: Vec<u8>,
    verdict: Option<Verdict>,
}

impl AgentCheck {
    /// A fresh conversation.
    pub fn new() -> Self {
        AgentCheck::default()
    }

    fn finish(&mut self) {
        self.verdict = Some(match parse_reply(&self.buf) {
            Ok(r) => Verdict::Agent(r),
            Err(e) => Verdict::Fail(FailReason::Malformed(e)),
        });
        self.buf = Vec::new();
    }
}

impl Conversation for AgentCheck {
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        None
    }

    fn handle_data(&mut self, data: &[u8]) {
        if self.verdict.is_some() {
            return;
        }
        let (line, done) = match data.iter().position(|&b| b == b'\n') {
            Some(i) => (data.get(..i).unwrap_or(&[]), true),
            None => (data, false),
        };
        if self.buf.len().saturating_add(line.len()) > MAX_REPLY {
            self.buf = Vec::new();
            self.verdict = Some(Verdict::Fail(FailReason::Malformed("agent reply too long")));
            return;
        }
        self.buf.extend_from_slice(line);
        if done {
            self.finish();
        }
    }

    fn handle_eof(&mut self) {
        if self.verdict.is_none() {
            if self.buf.is_empty() {
                self.verdict = Some(Verdict::Fail(FailReason::ClosedEarly));
            } else {
                self.finish();
            }
        }
    }

    fn verdict(&self) -> Option<Verdict> {
        self.verdict.clone()
    }

    fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_haproxy_words() {
        let r = parse_reply(b"75% drain\n").unwrap();
        assert_eq!(r.weight, Some(AgentWeight::Percent(75)));
        assert_eq!(r.admin, Some(AdminState::Drain));
        let r = parse_reply(b"up,ready,maxconn:30 weight:12").unwrap();
        assert_eq!(r.oper, Some(OperState::Up));
        assert_eq!(r.admin, Some(AdminState::Ready));
        assert_eq!(r.maxconn, Some(30));
        assert_eq!(r.weight, Some(AgentWeight::Absolute(12)));
        let r = parse_reply(b"stopped#disk full, maint").unwrap();
        assert_eq!(r.oper, Some(OperState::Down));
        assert_eq!(r.admin, None, "text after # is a description");
        assert_eq!(parse_reply(b"FAIL").unwrap().oper, Some(OperState::Down));
        assert_eq!(
            parse_reply(b"MAINT\r\n").unwrap().admin,
            Some(AdminState::Maint)
        );
        assert_eq!(
            parse_reply(b"weight:50%").unwrap().weight,
            Some(AgentWeight::Percent(50))
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_reply(b"").is_err());
        assert!(parse_reply(b"hello world").is_err());
        assert!(parse_reply(b"x%").is_err());
        assert!(parse_reply(b"99999999999%").is_err());
        assert!(parse_reply(b"maxconn:").is_err());
    }

    #[test]
    fn conversation_line_and_cap() {
        let mut c = AgentCheck::new();
        c.handle_data(b"5");
        c.handle_data(b"0%\nignored");
        assert_eq!(
            c.verdict(),
            Some(Verdict::Agent(AgentReply {
                weight: Some(AgentWeight::Percent(50)),
                ..AgentReply::default()
            }))
        );
        let mut c = AgentCheck::new();
        for _ in 0..100 {
            c.handle_data(&[b'a'; 100]);
            assert!(c.buffered() <= MAX_REPLY);
        }
        assert_eq!(
            c.verdict(),
            Some(Verdict::Fail(FailReason::Malformed("agent reply too long")))
        );
        let mut c = AgentCheck::new();
        c.handle_eof();
        assert_eq!(c.verdict(), Some(Verdict::Fail(FailReason::ClosedEarly)));
        let mut c = AgentCheck::new();
        c.handle_data(b"down");
        c.handle_eof();
        assert!(matches!(c.verdict(), Some(Verdict::Agent(r)) if r.oper == Some(OperState::Down)));
    }
}
