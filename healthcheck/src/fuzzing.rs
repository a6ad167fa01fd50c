//! Entry points shared by the cargo-fuzz targets (`fuzz/fuzz_targets/hc_*.rs`)
//! and the corpus replay test (`healthcheck/tests/fuzz_corpus.rs`).
//!
//! Each function takes arbitrary bytes, drives one parser or the engine
//! with them, checks the invariants that must hold for any input and
//! returns `Err(description)` when one is violated.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::conversation::Conversation;
use crate::http::{Expect, HttpCheck, HttpConfig, HttpSpec};
use crate::smtp::{SmtpCheck, SmtpConfig};
use crate::{
    CheckerConfig, Config, Engine, FailReason, Input, OutlierConfig, Output, ProbeKind, Schedule,
    ServiceConfig, TargetConfig, TargetId, Thresholds, Verdict, dns,
};

/// Splits fuzz input into small integers without ever failing.
#[derive(Debug)]
struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn slice(&mut self, len: usize) -> &'a [u8] {
        let want = len.min(self.data.len());
        let (head, rest) = self.data.split_at_checked(want).unwrap_or((self.data, &[]));
        self.data = rest;
        head
    }
}

/// Feeds the rest of `b` to `c` in input-chosen pieces, checking the memory
/// bound and that a verdict never changes; ends with EOF.
/// Feeds the peer's bytes in fuzz-chosen chunks and returns the bytes the
/// conversation was actually given (the chunk lengths are not part of them).
fn converse(c: &mut dyn Conversation, b: &mut Bytes<'_>, bound: usize) -> Result<Vec<u8>, String> {
    let _ = c.poll_transmit();
    let mut first: Option<Verdict> = None;
    let mut fed = Vec::new();
    while !b.data.is_empty() {
        let n = usize::from(b.u8()).saturating_add(1);
        let chunk = b.slice(n);
        fed.extend_from_slice(chunk);
        c.handle_data(chunk);
        while c.poll_transmit().is_some() {}
        if c.buffered() > bound {
            return Err(format!("buffered {} > bound {bound}", c.buffered()));
        }
        match (&first, c.verdict()) {
            (Some(f), v) if v.as_ref() != Some(f) => {
                return Err(format!("verdict changed {f:?} -> {v:?}"));
            }
            (None, v) => first = v,
            _ => {}
        }
    }
    c.handle_eof();
    match (first, c.verdict()) {
        (_, None) => Err("no verdict after EOF".into()),
        (Some(f), Some(v)) if f != v => Err(format!("verdict changed at EOF {f:?} -> {v:?}")),
        _ => Ok(fed),
    }
}

/// HTTP response parser: bounded memory, stable verdict, a verdict at EOF.
pub fn http(data: &[u8]) -> Result<(), String> {
    let mut b = Bytes { data };
    let flags = b.u8();
    let mut cfg = HttpConfig::new("/", "fuzz");
    cfg.max_header_bytes = 256;
    cfg.max_body_bytes = 512;
    if flags & 1 != 0 {
        cfg.digest = Some("5d41402abc4b2a76b9719d911017c592".into());
    }
    match (flags >> 1) & 3 {
        1 => cfg.expect = Some(Expect::Substring(b"ok".to_vec())),
        2 => cfg.expect = Some(Expect::Regex("o+k$".into())),
        _ => {}
    }
    cfg.fail_now_on_status = flags & 8 != 0;
    let spec = HttpSpec::new(&cfg).map_err(|e| e.to_string())?;
    let mut c = HttpCheck::new(spec);
    // Head buffer may hold cap + 1 bytes; the body buffer its cap.
    converse(&mut c, &mut b, 256 + 1 + 512).map(drop)
}

/// SMTP reply parser: bounded memory, stable verdict, a verdict at EOF,
/// and a pass only after HELO was sent.
pub fn smtp(data: &[u8]) -> Result<(), String> {
    let mut b = Bytes { data };
    let mut c = SmtpCheck::new(&SmtpConfig::default()).map_err(|e| e.to_string())?;
    let fed = converse(&mut c, &mut b, crate::smtp::MAX_LINE)?;
    // A pass needs a final greeting line: "220" then space or end of line,
    // at the start of a line of what the server sent.
    let greeted = fed.split(|&c| c == b'\n').any(|line| {
        line.strip_prefix(b"220")
            .is_some_and(|rest| matches!(rest.first(), None | Some(b' ' | b'\r')))
    });
    if c.verdict() == Some(Verdict::PASS) && !greeted {
        return Err("pass without a 220 greeting".into());
    }
    Ok(())
}

/// DNS response parser and name decoder on arbitrary bytes.
pub fn dns(data: &[u8]) -> Result<(), String> {
    let id = u16::from_be_bytes([
        data.first().copied().unwrap_or(0),
        data.get(1).copied().unwrap_or(0),
    ]);
    let name = dns::encode_name("example.com").map_err(|e| e.to_string())?;
    for qtype in [1u16, 6, 28] {
        for require in [false, true] {
            let v = dns::check_response(data, id, &name, qtype, require);
            if v.is_pass() {
                let flags = data.get(3).copied().unwrap_or(0xff);
                if data.get(2).is_none_or(|f| f & 0x80 == 0) || flags & 0x0f != 0 {
                    return Err(format!("pass without QR / with RCODE: {v:?}"));
                }
            }
        }
    }
    for at in 0..data.len().min(512) {
        if let Ok((n, end)) = dns::read_name(data, at)
            && (n.len() > 255 || end > data.len() || end <= at)
        {
            return Err(format!("read_name({at}) = len {} end {end}", n.len()));
        }
    }
    Ok(())
}

/// The engine under random probe verdicts, data-plane reports and time
/// steps: outputs stay consistent with the reported state.
pub fn engine(data: &[u8]) -> Result<(), String> {
    let mut b = Bytes { data };
    #[allow(
        clippy::disallowed_methods,
        reason = "the fuzz harness needs one origin; all later times are relative to it"
    )]
    let t0 = Instant::now();
    let n_targets = usize::from(b.u8() % 4).saturating_add(1);
    let mut targets = Vec::new();
    for _ in 0..n_targets {
        let k = b.u8();
        let thresholds = if k & 1 == 0 {
            Thresholds::Keepalived {
                retry: u32::from(k >> 1 & 3),
                delay_before_retry: Duration::from_millis(300),
            }
        } else {
            Thresholds::Haproxy {
                rise: u32::from(k >> 1 & 3).saturating_add(1),
                fall: u32::from(k >> 3 & 3).saturating_add(1),
            }
        };
        let schedule = Schedule {
            interval: Duration::from_millis(u64::from(b.u8()).saturating_add(1).saturating_mul(10)),
            timeout: Duration::from_millis(u64::from(b.u8()).saturating_add(1).saturating_mul(5)),
            warmup: (k & 0x20 != 0).then_some(Duration::from_secs(1)),
            fast_interval: (k & 0x40 != 0).then_some(Duration::from_millis(50)),
            down_interval: (k & 0x80 != 0).then_some(Duration::from_secs(2)),
        };
        let kind = if b.u8() & 3 == 0 {
            ProbeKind::Agent
        } else {
            ProbeKind::Tcp
        };
        targets.push(TargetConfig {
            weight: u32::from(b.u8() % 5),
            alpha: k & 0x10 != 0,
            inhibit_on_failure: k & 0x08 != 0,
            checkers: vec![CheckerConfig {
                kind,
                schedule,
                thresholds,
            }],
        });
    }
    let q = b.u8();
    let cfg = Config {
        seed: u64::from(q),
        services: vec![ServiceConfig {
            quorum: u64::from(q % 4),
            hysteresis: u64::from(q >> 2 & 1),
            sorry_server: true,
            omega: q & 8 != 0,
            outlier: Some(OutlierConfig {
                consecutive_errors: 2,
                max_ejection_percent: 50,
                ..OutlierConfig::default()
            }),
            targets,
        }],
    };
    let mut e = Engine::new(cfg, t0).map_err(|e| e.to_string())?;
    let mut now = t0;
    let mut serving: HashMap<TargetId, bool> = HashMap::new();
    let mut in_flight: Vec<u64> = Vec::new();
    let mut steps = 0u32;
    loop {
        while let Some(o) = e.poll_output() {
            match o {
                Output::StartProbe { probe_id, .. } => in_flight.push(probe_id),
                Output::ProbeTimedOut { probe_id, .. } => in_flight.retain(|p| *p != probe_id),
                Output::TargetUp { target, .. } => {
                    let before = serving.insert(target, true);
                    if before == Some(true) {
                        return Err(format!("{target:?} up twice"));
                    }
                }
                Output::TargetDown { target, .. } => {
                    let before = serving.insert(target, false);
                    if before != Some(true) {
                        return Err(format!("{target:?} down while not up"));
                    }
                }
                _ => {}
            }
        }
        for (t, s) in &serving {
            if e.target_status(*t).map(|st| st.serving) != Some(*s) {
                return Err(format!("{t:?} reported {s} but status differs"));
            }
        }
        if e.in_flight() > n_targets {
            return Err("more probes in flight than checkers".into());
        }
        if b.data.is_empty() || steps > 2000 {
            return Ok(());
        }
        steps = steps.saturating_add(1);
        let op = b.u8();
        match op % 5 {
            0 | 1 => {
                now = now
                    .checked_add(Duration::from_millis(u64::from(b.u8()).saturating_mul(7)))
                    .unwrap_or(now);
                e.handle_timeout(now);
                if e.poll_timeout().is_some_and(|t| t <= now) {
                    return Err("timer still due after handle_timeout".into());
                }
            }
            2 => {
                let i = usize::from(b.u8());
                let id = match in_flight.len() {
                    0 => u64::from(b.u8()),
                    n => in_flight.remove(i.checked_rem(n).unwrap_or(0)),
                };
                let verdict = match b.u8() % 6 {
                    0 => Verdict::PASS,
                    1 => Verdict::Pass {
                        weight: Some(u32::from(b.u8())),
                    },
                    2 => Verdict::FailNow(FailReason::HttpStatus(503)),
                    3 => Verdict::Agent(crate::agent::parse_reply(b.slice(8)).unwrap_or_default()),
                    _ => Verdict::Fail(FailReason::Timeout),
                };
                e.handle(
                    now,
                    Input::ProbeResult {
                        probe_id: id,
                        verdict,
                    },
                );
            }
            3 => {
                let target = TargetId {
                    service: usize::from(b.u8() % 2),
                    target: usize::from(b.u8() % 5),
                };
                e.handle(
                    now,
                    Input::DataPlane {
                        target,
                        success: b.u8() & 1 == 0,
                    },
                );
            }
            _ => {
                if op == 0xff {
                    e.handle(now, Input::Shutdown);
                }
            }
        }
    }
}
