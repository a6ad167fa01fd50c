//! keepalived HTTP_GET / SSL_GET and HAProxy `option httpchk` as a sans-IO
//! HTTP/1.1 conversation (RFC 9112): send one `GET` with `Host` and
//! `Connection: close`, read the status line and header block (capped),
//! then, only if a digest or body expectation is configured, the body
//! (`Content-Length`, `chunked` per RFC 9112 §7.1, or until EOF; capped).
//!
//! Pass criteria: status in the configured ranges (keepalived
//! `status_code`, default 200–299), then the MD5 digest of the decoded body
//! (keepalived `digest`, as `genhash` prints it) and the body expectation:
//! a substring, or a regular expression (keepalived `regex`; the `regex`
//! crate, linear-time, unanchored, matched against the body bytes).
//! HTTPS is the same conversation over a TLS stream the driver provides.
//! Interim 1xx responses are skipped.

use std::sync::Arc;

use md5::{Digest, Md5};

use crate::conversation::Conversation;
use crate::verdict::{FailReason, Verdict};

/// Default cap on the status line plus header block (and on trailers).
pub const DEFAULT_MAX_HEADER_BYTES: usize = 8 * 1024;
/// Default cap on the decoded body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest chunk-size line accepted.
const MAX_CHUNK_LINE: usize = 1024;

/// What the body must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// These bytes somewhere in the body.
    Substring(Vec<u8>),
    /// A regular expression (`regex::bytes` syntax) matching somewhere.
    Regex(String),
}

/// HTTP check parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Request target, e.g. `/health` (keepalived `url path`).
    pub path: String,
    /// `Host` header (keepalived `virtualhost`, else the target address).
    pub host: String,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Accepted status codes as inclusive ranges (default 200–299).
    pub status: Vec<(u16, u16)>,
    /// keepalived `digest`: MD5 of the body as 32 hex digits.
    pub digest: Option<String>,
    /// Body expectation.
    pub expect: Option<Expect>,
    /// Status line + headers cap.
    pub max_header_bytes: usize,
    /// Decoded body cap.
    pub max_body_bytes: usize,
    /// A bad status fails the target at once (Envoy) instead of counting.
    pub fail_now_on_status: bool,
}

impl HttpConfig {
    /// `GET path` with `Host: host` and the defaults.
    pub fn new(path: &str, host: &str) -> Self {
        HttpConfig {
            path: path.to_owned(),
            host: host.to_owned(),
            user_agent: "dsas-healthcheck".to_owned(),
            status: vec![(200, 299)],
            digest: None,
            expect: None,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            fail_now_on_status: false,
        }
    }
}

/// Rejected HTTP check configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpConfigError {
    /// Path not starting with `/` or containing spaces / controls.
    BadPath,
    /// Host empty or containing spaces / controls.
    BadHost,
    /// User agent containing controls.
    BadUserAgent,
    /// Digest is not 32 hex digits.
    BadDigest,
    /// Regex does not compile.
    BadRegex(String),
    /// No status range, or a range with low > high.
    BadStatus,
}

impl std::fmt::Display for HttpConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpConfigError::BadPath => f.write_str("bad request path"),
            HttpConfigError::BadHost => f.write_str("bad Host"),
            HttpConfigError::BadUserAgent => f.write_str("bad User-Agent"),
            HttpConfigError::BadDigest => f.write_str("digest must be 32 hex digits"),
            HttpConfigError::BadRegex(e) => write!(f, "bad regex: {e}"),
            HttpConfigError::BadStatus => f.write_str("bad status ranges"),
        }
    }
}

impl std::error::Error for HttpConfigError {}

#[derive(Debug)]
enum Matcher {
    Substring(Vec<u8>),
    Regex(regex::bytes::Regex),
}

/// A validated, compiled HTTP check; cheap to share across probes.
#[derive(Debug)]
pub struct HttpSpec {
    request: Vec<u8>,
    status: Vec<(u16, u16)>,
    digest: Option<[u8; 16]>,
    matcher: Option<Matcher>,
    max_header_bytes: usize,
    max_body_bytes: usize,
    fail_now: bool,
}

fn token_ok(s: &str) -> bool {
    s.bytes().all(|b| b > 0x20 && b != 0x7f)
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => b.checked_sub(b'0'),
        b'a'..=b'f' => b.checked_sub(b'a' - 10),
        b'A'..=b'F' => b.checked_sub(b'A' - 10),
        _ => None,
    }
}

/// Parses 32 hex digits into an MD5 digest.
pub fn parse_digest(hex: &str) -> Option<[u8; 16]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let [h, l] = <[u8; 2]>::try_from(pair).ok()?;
        *o = (hex_digit(h)? << 4) | hex_digit(l)?;
    }
    Some(out)
}

impl HttpSpec {
    /// Validates and compiles a configuration.
    pub fn new(cfg: &HttpConfig) -> Result<Arc<HttpSpec>, HttpConfigError> {
        if !cfg.path.starts_with('/') || !token_ok(&cfg.path) {
            return Err(HttpConfigError::BadPath);
        }
        if cfg.host.is_empty() || !token_ok(&cfg.host) {
            return Err(HttpConfigError::BadHost);
        }
        if cfg.user_agent.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(HttpConfigError::BadUserAgent);
        }
        if cfg.status.is_empty() || cfg.status.iter().any(|(lo, hi)| lo > hi) {
            return Err(HttpConfigError::BadStatus);
        }
        let digest = match &cfg.digest {
            Some(h) => Some(parse_digest(h).ok_or(HttpConfigError::BadDigest)?),
            None => None,
        };
        let matcher = match &cfg.expect {
            None => None,
            Some(Expect::Substring(s)) => Some(Matcher::Substring(s.clone())),
            Some(Expect::Regex(r)) => Some(Matcher::Regex(
                regex::bytes::RegexBuilder::new(r)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| HttpConfigError::BadRegex(e.to_string()))?,
            )),
        };
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            cfg.path, cfg.host, cfg.user_agent
        )
        .into_bytes();
        Ok(Arc::new(HttpSpec {
            request,
            status: cfg.status.clone(),
            digest,
            matcher,
            max_header_bytes: cfg.max_header_bytes,
            max_body_bytes: cfg.max_body_bytes,
            fail_now: cfg.fail_now_on_status,
        }))
    }

    /// The exact request bytes.
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    fn needs_body(&self) -> bool {
        self.digest.is_some() || self.matcher.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading a chunk-size line.
    Size,
    /// Chunk data left.
    Data(u64),
    /// CRLF after chunk data: bytes of it seen.
    DataEnd(u8),
    /// Trailer section until an empty line.
    Trailers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Length(u64),
    Chunked(Chunk),
    UntilEof,
}

/// One HTTP check conversation.
#[derive(Debug)]
pub struct HttpCheck {
    spec: Arc<HttpSpec>,
    sent: bool,
    state: State,
    /// Head bytes, a chunk line or trailer line.
    buf: Vec<u8>,
    /// Trailer bytes seen (capped like headers).
    trailer_bytes: usize,
    body: Vec<u8>,
    body_len: usize,
    md5: Md5,
    verdict: Option<Verdict>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_u64_dec(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        let d = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

fn trim(s: &[u8]) -> &[u8] {
    let s = match s.iter().position(|b| !b.is_ascii_whitespace()) {
        Some(i) => s.get(i..).unwrap_or(&[]),
        None => return &[],
    };
    match s.iter().rposition(|b| !b.is_ascii_whitespace()) {
        Some(i) => s.get(..=i).unwrap_or(&[]),
        None => &[],
    }
}

/// What a parsed response head asks for.
enum Head {
    Interim,
    Final { status: u16, body: State },
}

fn parse_head(head: &[u8]) -> Result<Head, &'static str> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next().ok_or("empty response")?;
    let rest = status_line
        .strip_prefix(b"HTTP/1.")
        .ok_or("not an HTTP/1.x status line")?;
    let (minor, rest) = rest.split_first().ok_or("short status line")?;
    if !minor.is_ascii_digit() {
        return Err("bad HTTP version");
    }
    let rest = rest.strip_prefix(b" ").ok_or("bad status line")?;
    let code = rest.get(..3).ok_or("short status code")?;
    if rest.get(3).is_some_and(|&b| b != b' ') {
        return Err("bad status code");
    }
    let status = u16::try_from(parse_u64_dec(code).ok_or("bad status code")?)
        .map_err(|_| "bad status code")?;
    if !(100..=999).contains(&status) {
        return Err("bad status code");
    }
    let mut length: Option<u64> = None;
    let mut chunked = false;
    for line in lines {
        if line.is_empty() {
            break;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or("header without colon")?;
        let (name, value) = line.split_at_checked(colon).ok_or("header")?;
        let value = trim(value.get(1..).unwrap_or(&[]));
        if name.is_empty() || name.iter().any(|b| b.is_ascii_whitespace()) {
            return Err("bad header name");
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_u64_dec(value).ok_or("bad Content-Length")?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting Content-Length");
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let last = value.rsplit(|&b| b == b',').next().map(trim).unwrap_or(&[]);
            chunked = last.eq_ignore_ascii_case(b"chunked");
            if !chunked {
                return Err("unsupported Transfer-Encoding");
            }
        }
    }
    if status < 200 {
        return Ok(Head::Interim);
    }
    // RFC 9112 §6.3: 204 and 304 have no body; chunked wins over length.
    let body = if status == 204 || status == 304 {
        State::Length(0)
    } else if chunked {
        State::Chunked(Chunk::Size)
    } else if let Some(n) = length {
        State::Length(n)
    } else {
        State::UntilEof
    };
    Ok(Head::Final { status, body })
}

impl HttpCheck {
    /// A fresh conversation for `spec`.
    pub fn new(spec: Arc<HttpSpec>) -> Self {
        HttpCheck {
            spec,
            sent: false,
            state: State::Head,
            buf: Vec::new(),
            trailer_bytes: 0,
            body: Vec::new(),
            body_len: 0,
            md5: Md5::new(),
            verdict: None,
        }
    }

    fn done(&mut self, v: Verdict) {
        self.verdict = Some(v);
        self.buf = Vec::new();
        self.body = Vec::new();
    }

    fn fail(&mut self, r: FailReason) {
        self.done(Verdict::Fail(r));
    }

    fn body_bytes(&mut self, data: &[u8]) {
        self.body_len = self.body_len.saturating_add(data.len());
        if self.body_len > self.spec.max_body_bytes {
            self.fail(FailReason::BodyTooLarge);
            return;
        }
        if self.spec.digest.is_some() {
            self.md5.update(data);
        }
        if self.spec.matcher.is_some() {
            self.body.extend_from_slice(data);
        }
    }

    fn finish_body(&mut self) {
        if self.verdict.is_some() {
            return;
        }
        if let Some(want) = self.spec.digest {
            let got = std::mem::take(&mut self.md5).finalize();
            if got.as_slice() != want.as_slice() {
                return self.fail(FailReason::DigestMismatch);
            }
        }
        let ok = match &self.spec.matcher {
            None => true,
            Some(Matcher::Substring(s)) => find(&self.body, s).is_some(),
            Some(Matcher::Regex(r)) => r.is_match(&self.body),
        };
        if ok {
            self.done(Verdict::PASS);
        } else {
            self.fail(FailReason::ExpectMismatch);
        }
    }

    /// Consumes head bytes; returns the unconsumed remainder (body bytes).
    fn head<'a>(&mut self, data: &'a [u8]) -> Option<&'a [u8]> {
        let start = self.buf.len().saturating_sub(3);
        let room = self.spec.max_header_bytes.saturating_sub(self.buf.len());
        let take = data.len().min(room.saturating_add(1));
        let (now, _) = data.split_at_checked(take).unwrap_or((data, &[]));
        self.buf.extend_from_slice(now);
        if self.buf.len() >= 5 && !self.buf.starts_with(b"HTTP/") {
            self.fail(FailReason::Malformed("not an HTTP response"));
            return None;
        }
        let Some(end) = self.buf.get(start..).and_then(|t| find(t, b"\r\n\r\n")) else {
            if self.buf.len() > self.spec.max_header_bytes {
                self.fail(FailReason::HeadersTooLarge);
            }
            return None;
        };
        let head_len = start.saturating_add(end).saturating_add(4);
        if head_len > self.spec.max_header_bytes {
            self.fail(FailReason::HeadersTooLarge);
            return None;
        }
        // Bytes of `data` after the head.
        let used_from_data = head_len.saturating_sub(self.buf.len().saturating_sub(now.len()));
        let rest = data.get(used_from_data..).unwrap_or(&[]);
        let head = std::mem::take(&mut self.buf);
        match parse_head(head.get(..head_len).unwrap_or(&[])) {
            Err(e) => {
                self.fail(FailReason::Malformed(e));
                None
            }
            Ok(Head::Interim) => Some(rest),
            Ok(Head::Final { status, body }) => {
                if !self
                    .spec
                    .status
                    .iter()
                    .any(|&(lo, hi)| (lo..=hi).contains(&status))
                {
                    let r = FailReason::HttpStatus(status);
                    self.done(if self.spec.fail_now {
                        Verdict::FailNow(r)
                    } else {
                        Verdict::Fail(r)
                    });
                    return None;
                }
                if !self.spec.needs_body() {
                    self.done(Verdict::PASS);
                    return None;
                }
                if let State::Length(n) = body
                    && usize::try_from(n).map_or(true, |n| n > self.spec.max_body_bytes)
                {
                    self.fail(FailReason::BodyTooLarge);
                    return None;
                }
                self.state = body;
                if self.state == State::Length(0) {
                    self.finish_body();
                    return None;
                }
                Some(rest)
            }
        }
    }

    /// One step of the body state machine; returns the unconsumed bytes.
    fn body_step<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        match self.state {
            State::Head => data,
            State::UntilEof => {
                self.body_bytes(data);
                &[]
            }
            State::Length(left) => {
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                let (now, rest) = data.split_at_checked(n).unwrap_or((data, &[]));
                self.body_bytes(now);
                let left = left.saturating_sub(u64::try_from(n).unwrap_or(u64::MAX));
                self.state = State::Length(left);
                if left == 0 {
                    self.finish_body();
                }
                rest
            }
            State::Chunked(Chunk::Data(left)) => {
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                let (now, rest) = data.split_at_checked(n).unwrap_or((data, &[]));
                self.body_bytes(now);
                let left = left.saturating_sub(u64::try_from(n).unwrap_or(u64::MAX));
                self.state = State::Chunked(if left == 0 {
                    Chunk::DataEnd(0)
                } else {
                    Chunk::Data(left)
                });
                rest
            }
            State::Chunked(Chunk::DataEnd(seen)) => {
                let Some((&b, rest)) = data.split_first() else {
                    return data;
                };
                match (seen, b) {
                    (0, b'\r') => self.state = State::Chunked(Chunk::DataEnd(1)),
                    (0 | 1, b'\n') => self.state = State::Chunked(Chunk::Size),
                    _ => self.fail(FailReason::Malformed("missing CRLF after chunk")),
                }
                rest
            }
            State::Chunked(chunk @ (Chunk::Size | Chunk::Trailers)) => {
                let (line, rest, complete) = match data.iter().position(|&b| b == b'\n') {
                    Some(i) => (
                        data.get(..i).unwrap_or(&[]),
                        data.get(i.saturating_add(1)..).unwrap_or(&[]),
                        true,
                    ),
                    None => (data, &[][..], false),
                };
                let cap = if chunk == Chunk::Size {
                    MAX_CHUNK_LINE
                } else {
                    self.spec.max_header_bytes
                };
                self.trailer_bytes =
                    self.trailer_bytes
                        .saturating_add(if chunk == Chunk::Trailers {
                            line.len().saturating_add(1)
                        } else {
                            0
                        });
                if self.buf.len().saturating_add(line.len()) > cap || self.trailer_bytes > cap {
                    self.fail(if chunk == Chunk::Size {
                        FailReason::Malformed("chunk-size line too long")
                    } else {
                        FailReason::HeadersTooLarge
                    });
                    return &[];
                }
                self.buf.extend_from_slice(line);
                if complete {
                    let line = std::mem::take(&mut self.buf);
                    let line = line.strip_suffix(b"\r").unwrap_or(&line);
                    if chunk == Chunk::Trailers {
                        if line.is_empty() {
                            self.finish_body();
                        }
                    } else {
                        self.chunk_size(line);
                    }
                }
                rest
            }
        }
    }

    fn chunk_size(&mut self, line: &[u8]) {
        let digits = line.split(|&b| b == b';').next().map(trim).unwrap_or(&[]);
        let size = if digits.is_empty() || digits.len() > 15 {
            None
        } else {
            digits
                .iter()
                .try_fold(0u64, |acc, &b| Some((acc << 4) | u64::from(hex_digit(b)?)))
        };
        match size {
            None => self.fail(FailReason::Malformed("bad chunk size")),
            Some(0) => self.state = State::Chunked(Chunk::Trailers),
            Some(n) => {
                let total = u64::try_from(self.body_len)
                    .unwrap_or(u64::MAX)
                    .saturating_add(n);
                if total > u64::try_from(self.spec.max_body_bytes).unwrap_or(u64::MAX) {
                    self.fail(FailReason::BodyTooLarge);
                } else {
                    self.state = State::Chunked(Chunk::Data(n));
                }
            }
        }
    }
}

impl Conversation for HttpCheck {
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.sent || self.verdict.is_some() {
            return None;
        }
        self.sent = true;
        Some(self.spec.request.clone())
    }

    fn handle_data(&mut self, mut data: &[u8]) {
        // Each step consumes at least one byte or ends the conversation.
        while !data.is_empty() && self.verdict.is_none() {
            if self.state == State::Head {
                match self.head(data) {
                    Some(rest) => data = rest,
                    None => return,
                }
            } else {
                let before = data.len();
                data = self.body_step(data);
                if data.len() >= before {
                    return;
                }
            }
        }
    }

    fn handle_eof(&mut self) {
        if self.verdict.is_some() {
            return;
        }
        match self.state {
            State::UntilEof => self.finish_body(),
            State::Head if !self.buf.is_empty() => {
                self.fail(FailReason::Malformed("truncated response head"));
            }
            _ => self.fail(FailReason::ClosedEarly),
        }
    }

    fn verdict(&self) -> Option<Verdict> {
        self.verdict.clone()
    }

    fn buffered(&self) -> usize {
        self.buf.len().saturating_add(self.body.len())
    }
}
