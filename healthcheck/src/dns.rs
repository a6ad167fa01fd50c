//! keepalived DNS_CHECK as a sans-IO conversation over UDP (RFC 1035 §4):
//! build one query (RD set, one question, class IN), then check the reply:
//! same ID, QR set, RCODE 0 (NOERROR), the question echoed, and (unless
//! disabled) at least one answer record of the asked type (Seesaw).
//! keepalived's default is type SOA for the root name `.`.
//!
//! Names in the reply are decoded with compression pointers (§4.1.4)
//! followed only strictly backwards, at most [`MAX_POINTERS`] times and up
//! to 255 octets, so pointer loops and forward references fail cleanly.

use crate::conversation::Conversation;
use crate::verdict::{FailReason, Verdict};

/// Most compression pointers followed while reading one name.
pub const MAX_POINTERS: usize = 64;
/// Longest name in wire form (RFC 1035 §2.3.4).
const MAX_NAME: usize = 255;

/// Query types keepalived offers (RFC 1035 §3.2.2, RFC 3596 for AAAA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QType {
    /// 1
    A,
    /// 2
    Ns,
    /// 5
    Cname,
    /// 6
    Soa,
    /// 15
    Mx,
    /// 16
    Txt,
    /// 28
    Aaaa,
}

impl QType {
    /// The wire code.
    pub fn code(self) -> u16 {
        match self {
            QType::A => 1,
            QType::Ns => 2,
            QType::Cname => 5,
            QType::Soa => 6,
            QType::Mx => 15,
            QType::Txt => 16,
            QType::Aaaa => 28,
        }
    }
}

/// DNS check parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    /// Name to query (keepalived `name`, default `.`).
    pub name: String,
    /// Type to query (keepalived `type`, default SOA).
    pub qtype: QType,
    /// Require an answer of the asked type (Seesaw); keepalived does not.
    pub require_answer: bool,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            name: ".".to_owned(),
            qtype: QType::Soa,
            require_answer: true,
        }
    }
}

/// Name not encodable (empty label, label > 63 octets, name > 255).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadName;

impl std::fmt::Display for BadName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bad DNS name")
    }
}

impl std::error::Error for BadName {}

/// Encodes a dotted name in wire form (lower-cased for comparison is the
/// caller's business; bytes are kept).
pub fn encode_name(name: &str) -> Result<Vec<u8>, BadName> {
    let mut out = Vec::new();
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            let len = u8::try_from(label.len()).map_err(|_| BadName)?;
            if len == 0 || len > 63 {
                return Err(BadName);
            }
            out.push(len);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    if out.len() > MAX_NAME {
        return Err(BadName);
    }
    Ok(out)
}

/// Builds the query message.
pub fn build_query(id: u16, name: &[u8], qtype: QType) -> Vec<u8> {
    let mut q = Vec::with_capacity(name.len().saturating_add(16));
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    q.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    q.extend_from_slice(&[0; 6]); // AN, NS, AR
    q.extend_from_slice(name);
    q.extend_from_slice(&qtype.code().to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes()); // IN
    q
}

fn be16(msg: &[u8], at: usize) -> Option<u16> {
    let b = msg.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(<[u8; 2]>::try_from(b).ok()?))
}

/// Reads a (possibly compressed) name at `at`: its lower-cased wire form
/// and the offset just past it in the message.
pub fn read_name(msg: &[u8], at: usize) -> Result<(Vec<u8>, usize), &'static str> {
    let mut name = Vec::new();
    let mut pos = at;
    let mut end = None;
    let mut jumps = 0usize;
    loop {
        let &len = msg.get(pos).ok_or("name runs past the message")?;
        match len & 0xc0 {
            0x00 => {
                let label_end = pos.saturating_add(1).saturating_add(usize::from(len));
                let label = msg
                    .get(pos..label_end)
                    .ok_or("label runs past the message")?;
                name.extend(label.iter().map(u8::to_ascii_lowercase));
                if name.len() > MAX_NAME {
                    return Err("name longer than 255 octets");
                }
                if len == 0 {
                    return Ok((name, end.unwrap_or(label_end)));
                }
                pos = label_end;
            }
            0xc0 => {
                let ptr = usize::from(be16(msg, pos).ok_or("truncated pointer")? & 0x3fff);
                if ptr >= pos {
                    return Err("compression pointer not backwards");
                }
                jumps = jumps.saturating_add(1);
                if jumps > MAX_POINTERS {
                    return Err("too many compression pointers");
                }
                end.get_or_insert(pos.saturating_add(2));
                pos = ptr;
            }
            _ => return Err("reserved label type"),
        }
    }
}

/// Checks a response against the query `(id, name, qtype)`.
pub fn check_response(
    msg: &[u8],
    id: u16,
    name: &[u8],
    qtype: u16,
    require_answer: bool,
) -> Verdict {
    match check(msg, id, name, qtype, require_answer) {
        Ok(()) => Verdict::PASS,
        Err(r) => Verdict::Fail(r),
    }
}

fn check(
    msg: &[u8],
    id: u16,
    name: &[u8],
    qtype: u16,
    require_answer: bool,
) -> Result<(), FailReason> {
    let bad = FailReason::Malformed;
    let hdr = |at| be16(msg, at).ok_or(bad("short DNS header"));
    if hdr(0)? != id {
        return Err(FailReason::DnsIdMismatch);
    }
    let flags = hdr(2)?;
    if flags & 0x8000 == 0 {
        return Err(FailReason::DnsNotResponse);
    }
    let rcode = u8::try_from(flags & 0x000f).unwrap_or(0);
    if rcode != 0 {
        return Err(FailReason::DnsRcode(rcode));
    }
    let (qd, an) = (hdr(4)?, hdr(6)?);
    if qd != 1 {
        return Err(bad("DNS reply without our question"));
    }
    let (qname, mut pos) = read_name(msg, 12).map_err(bad)?;
    let lower: Vec<u8> = name.iter().map(u8::to_ascii_lowercase).collect();
    if qname != lower || be16(msg, pos) != Some(qtype) {
        return Err(bad("DNS question differs from ours"));
    }
    pos = pos.saturating_add(4);
    if pos > msg.len() {
        return Err(bad("truncated DNS question"));
    }
    let mut found = false;
    for _ in 0..an {
        let (_, p) = read_name(msg, pos).map_err(bad)?;
        let rtype = be16(msg, p).ok_or(bad("truncated DNS record"))?;
        let rdlen = be16(msg, p.saturating_add(8)).ok_or(bad("truncated DNS record"))?;
        pos = p.saturating_add(10).saturating_add(usize::from(rdlen));
        if pos > msg.len() {
            return Err(bad("DNS record data runs past the message"));
        }
        found |= rtype == qtype;
    }
    if require_answer && !found {
        return Err(FailReason::DnsNoAnswer);
    }
    Ok(())
}

/// One DNS check conversation (one query datagram, one reply datagram).
#[derive(Debug)]
pub struct DnsCheck {
    id: u16,
    name: Vec<u8>,
    qtype: QType,
    require_answer: bool,
    sent: bool,
    verdict: Option<Verdict>,
}

impl DnsCheck {
    /// A conversation with query ID `id` (the driver derives it from the
    /// probe id or a random source).
    pub fn new(cfg: &DnsConfig, id: u16) -> Result<Self, BadName> {
        Ok(DnsCheck {
            id,
            name: encode_name(&cfg.name)?,
            qtype: cfg.qtype,
            require_answer: cfg.require_answer,
            sent: false,
            verdict: None,
        })
    }

    /// The query bytes.
    pub fn query(&self) -> Vec<u8> {
        build_query(self.id, &self.name, self.qtype)
    }
}

impl Conversation for DnsCheck {
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.sent {
            return None;
        }
        self.sent = true;
        Some(self.query())
    }

    fn handle_data(&mut self, data: &[u8]) {
        if self.verdict.is_none() {
            self.verdict = Some(check_response(
                data,
                self.id,
                &self.name,
                self.qtype.code(),
                self.require_answer,
            ));
        }
    }

    fn handle_eof(&mut self) {}

    fn verdict(&self) -> Option<Verdict> {
        self.verdict.clone()
    }

    fn buffered(&self) -> usize {
        0
    }
}
