//! keepalived SMTP_CHECK as a sans-IO conversation (RFC 5321 §4.2, §4.3.2):
//! expect the `220` greeting, send `HELO <name>`, expect `250`, send `QUIT`.
//! The verdict is reached at the `250`; the driver drains the queued `QUIT`
//! before closing. Multi-line replies (`250-…` continuation lines, §4.2.1)
//! are accepted when every line carries the same code. Reply lines and the
//! whole reply are capped, so garbage or an endless reply fails cleanly.

use crate::conversation::Conversation;
use crate::verdict::{FailReason, Verdict};

/// Longest reply line accepted (RFC 5321 §4.5.3.1.5 allows 512 with CRLF;
/// we tolerate twice that).
pub const MAX_LINE: usize = 1024;
/// Most lines in one multi-line reply.
pub const MAX_LINES: usize = 64;

/// SMTP check parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// keepalived `helo_name` (default `smtpchecker.keepalived.org`).
    pub helo_name: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            helo_name: "smtpchecker.keepalived.org".to_owned(),
        }
    }
}

/// `helo_name` empty or with spaces / controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadHeloName;

impl std::fmt::Display for BadHeloName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bad HELO name")
    }
}

impl std::error::Error for BadHeloName {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Greeting,
    Helo,
}

/// One SMTP check conversation.
#[derive(Debug)]
pub struct SmtpCheck {
    helo: Vec<u8>,
    state: State,
    line: Vec<u8>,
    /// Code of the multi-line reply in progress and its line count.
    pending: Option<(u16, usize)>,
    out: Vec<Vec<u8>>,
    verdict: Option<Verdict>,
}

/// One parsed reply line: code and whether it is the last.
fn parse_line(line: &[u8]) -> Result<(u16, bool), &'static str> {
    let (code, rest) = line.split_at_checked(3).ok_or("short SMTP reply line")?;
    let [a, b, c] = <[u8; 3]>::try_from(code).map_err(|_| "short SMTP reply line")?;
    if !matches!(a, b'2'..=b'5') || !matches!(b, b'0'..=b'5') || !c.is_ascii_digit() {
        return Err("bad SMTP reply code");
    }
    let code = [a, b, c].iter().fold(0u16, |acc, &d| {
        acc.saturating_mul(10)
            .saturating_add(u16::from(d.saturating_sub(b'0')))
    });
    match rest.first() {
        None | Some(b' ') => Ok((code, true)),
        Some(b'-') => Ok((code, false)),
        Some(_) => Err("bad SMTP reply separator"),
    }
}

impl SmtpCheck {
    /// A fresh conversation.
    pub fn new(cfg: &SmtpConfig) -> Result<Self, BadHeloName> {
        if cfg.helo_name.is_empty() || cfg.helo_name.bytes().any(|b| b <= 0x20 || b == 0x7f) {
            return Err(BadHeloName);
        }
        Ok(SmtpCheck {
            helo: format!("HELO {}\r\n", cfg.helo_name).into_bytes(),
            state: State::Greeting,
            line: Vec::new(),
            pending: None,
            out: Vec::new(),
            verdict: None,
        })
    }

    fn done(&mut self, v: Verdict) {
        self.verdict = Some(v);
        self.line = Vec::new();
    }

    fn reply(&mut self, code: u16) {
        match (self.state, code) {
            (State::Greeting, 220) => {
                self.out.push(self.helo.clone());
                self.state = State::Helo;
            }
            (State::Helo, 250) => {
                self.out.push(b"QUIT\r\n".to_vec());
                self.done(Verdict::PASS);
            }
            (_, code) => self.done(Verdict::Fail(FailReason::SmtpReply(code))),
        }
    }

    fn line_done(&mut self) {
        let line = std::mem::take(&mut self.line);
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        let (code, last) = match parse_line(line) {
            Ok(x) => x,
            Err(e) => return self.done(Verdict::Fail(FailReason::Malformed(e))),
        };
        let count = match self.pending {
            Some((c, _)) if c != code => {
                return self.done(Verdict::Fail(FailReason::Malformed(
                    "SMTP reply code changed mid-reply",
                )));
            }
            Some((_, n)) => n.saturating_add(1),
            None => 1,
        };
        if last {
            self.pending = None;
            self.reply(code);
        } else if count >= MAX_LINES {
            self.done(Verdict::Fail(FailReason::Malformed("SMTP reply too long")));
        } else {
            self.pending = Some((code, count));
        }
    }
}

impl Conversation for SmtpCheck {
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.out.is_empty() {
            None
        } else {
            Some(self.out.remove(0))
        }
    }

    fn handle_data(&mut self, data: &[u8]) {
        let mut data = data;
        while self.verdict.is_none() && !data.is_empty() {
            let (part, rest, complete) = match data.iter().position(|&b| b == b'\n') {
                Some(i) => (
                    data.get(..i).unwrap_or(&[]),
                    data.get(i.saturating_add(1)..).unwrap_or(&[]),
                    true,
                ),
                None => (data, &[][..], false),
            };
            if self.line.len().saturating_add(part.len()) > MAX_LINE {
                return self.done(Verdict::Fail(FailReason::Malformed("SMTP line too long")));
            }
            self.line.extend_from_slice(part);
            if complete {
                self.line_done();
            }
            data = rest;
        }
    }

    fn handle_eof(&mut self) {
        if self.verdict.is_none() {
            self.done(Verdict::Fail(FailReason::ClosedEarly));
        }
    }

    fn verdict(&self) -> Option<Verdict> {
        self.verdict.clone()
    }

    fn buffered(&self) -> usize {
        self.line.len()
    }
}
