//! `[health]`: real-server health checks, shaped like keepalived.conf(5)
//! `virtual_server` / `real_server` blocks and their checkers, with the same
//! key names, plus HAProxy `rise` / `fall` / `fastinter` / `downinter` and
//! `agent-check` (configuration.txt §5.2).
//!
//! ```toml
//! [health]
//! max_concurrent_probes = 1024
//!
//! [[health.virtual_server]]
//! ip = "10.0.0.100"
//! port = 80
//! delay_loop = 2
//! quorum = 1
//!
//! [[health.virtual_server.real_server]]
//! ip = "10.0.0.1"
//! port = 80
//! weight = 2
//! notify_down = "/usr/local/bin/rs-down web1"
//! HTTP_GET = { connect_timeout = 1, retry = 1, url = [{ path = "/health", status_code = [200] }] }
//! TCP_CHECK = [{ connect_port = 8080 }]
//! ```
//!
//! Each checker key (`TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `SMTP_CHECK`,
//! `DNS_CHECK`, `PING_CHECK`, `UDP_CHECK`, `MISC_CHECK`) takes one table or
//! an array of tables. Thresholds are keepalived's (`retry`,
//! `delay_before_retry`) unless `rise` or `fall` is set (on the checker or
//! the virtual server): then HAProxy's health counter applies. Timing keys
//! on a checker override the virtual server's.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, Error as _};
use serde::{Deserialize, Serialize};

use super::{Invalid, Seg, de_count, de_opt_seconds, de_seconds, idx, key};

/// Default `max_concurrent_probes`.
pub const DEFAULT_MAX_CONCURRENT_PROBES: usize = 1024;

/// `[health]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Probes running at once (HAProxy `tune.max-checks-per-thread`); more
    /// wait for a slot, and the wait counts against their timeout.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent_probes: usize,
    /// Seed of the warm-up jitter (default: from the clock).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Seconds before a notify script is killed (default 30).
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub notify_timeout: Option<Duration>,
    /// `[[health.virtual_server]]`.
    #[serde(default)]
    pub virtual_server: Vec<VirtualServer>,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            max_concurrent_probes: DEFAULT_MAX_CONCURRENT_PROBES,
            seed: None,
            notify_timeout: None,
            virtual_server: Vec::new(),
        }
    }
}

fn default_max_concurrent() -> usize {
    DEFAULT_MAX_CONCURRENT_PROBES
}

fn sixty_seconds() -> Duration {
    Duration::from_secs(60)
}

fn one_weight() -> u32 {
    1
}

fn one_u64() -> u64 {
    1
}

/// keepalived `sorry_server IP PORT` (also `"IP:PORT"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SorryServer(pub SocketAddr);

impl<'de> Deserialize<'de> for SorryServer {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bad = || D::Error::custom(format!("invalid sorry_server {s:?}, expected \"IP PORT\""));
        let mut words = s.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some(ip), Some(port), None) => {
                let ip: IpAddr = ip.parse().map_err(|_| bad())?;
                let port: u16 = port.parse().map_err(|_| bad())?;
                Ok(Self(SocketAddr::new(ip, port)))
            }
            (Some(one), None, None) => one.parse().map(Self).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

/// `[[health.virtual_server]]` (keepalived `virtual_server IP PORT`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualServer {
    /// Name in logs, status and events (default `IP:PORT`).
    #[serde(default)]
    pub name: Option<String>,
    /// Virtual address.
    pub ip: IpAddr,
    /// Virtual port.
    pub port: u16,
    /// Seconds between checks (default 60).
    #[serde(default = "sixty_seconds", deserialize_with = "de_seconds")]
    pub delay_loop: Duration,
    /// First check at a random offset below this many seconds.
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub warmup: Option<Duration>,
    /// HAProxy `rise` for every checker (turns on the health counter).
    #[serde(default, deserialize_with = "de_opt_count")]
    pub rise: Option<u32>,
    /// HAProxy `fall` for every checker (turns on the health counter).
    #[serde(default, deserialize_with = "de_opt_count")]
    pub fall: Option<u32>,
    /// HAProxy `fastinter` (seconds) while a target changes state.
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub fastinter: Option<Duration>,
    /// HAProxy `downinter` (seconds) while a target is down.
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub downinter: Option<Duration>,
    /// Real servers start down until their first pass.
    #[serde(default)]
    pub alpha: bool,
    /// On shutdown, report every target down and the quorum lost.
    #[serde(default)]
    pub omega: bool,
    /// Failed real servers get weight 0 instead of removal (default for
    /// every real server of this virtual server).
    #[serde(default)]
    pub inhibit_on_failure: bool,
    /// Minimum live weight sum (default 1).
    #[serde(default = "one_u64")]
    pub quorum: u64,
    /// Quorum hysteresis (default 0).
    #[serde(default)]
    pub hysteresis: u64,
    /// Run when the quorum is gained.
    #[serde(default)]
    pub quorum_up: Option<String>,
    /// Run when the quorum is lost.
    #[serde(default)]
    pub quorum_down: Option<String>,
    /// Server put in while the quorum is lost.
    #[serde(default)]
    pub sorry_server: Option<SorryServer>,
    /// HTTP `Host` for every HTTP_GET / SSL_GET (keepalived `virtualhost`).
    #[serde(default)]
    pub virtualhost: Option<String>,
    /// Real servers.
    #[serde(default)]
    pub real_server: Vec<RealServer>,
}

impl VirtualServer {
    /// `name`, else `IP:PORT`.
    #[must_use]
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| SocketAddr::new(self.ip, self.port).to_string())
    }
}

/// `[[health.virtual_server.real_server]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RealServer {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
    /// Weight (default 1).
    #[serde(default = "one_weight")]
    pub weight: u32,
    /// Overrides the virtual server's `inhibit_on_failure`.
    #[serde(default)]
    pub inhibit_on_failure: Option<bool>,
    /// Seconds between checks for this server's checkers.
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub delay_loop: Option<Duration>,
    /// Run (as is, no shell) when the server comes up.
    #[serde(default)]
    pub notify_up: Option<String>,
    /// Run when the server goes down.
    #[serde(default)]
    pub notify_down: Option<String>,
    /// `TCP_CHECK`.
    #[serde(default, rename = "TCP_CHECK", deserialize_with = "one_or_many")]
    pub tcp_check: Vec<Checker>,
    /// `HTTP_GET`.
    #[serde(default, rename = "HTTP_GET", deserialize_with = "one_or_many")]
    pub http_get: Vec<Checker>,
    /// `SSL_GET`.
    #[serde(default, rename = "SSL_GET", deserialize_with = "one_or_many")]
    pub ssl_get: Vec<Checker>,
    /// `SMTP_CHECK`.
    #[serde(default, rename = "SMTP_CHECK", deserialize_with = "one_or_many")]
    pub smtp_check: Vec<Checker>,
    /// `DNS_CHECK`.
    #[serde(default, rename = "DNS_CHECK", deserialize_with = "one_or_many")]
    pub dns_check: Vec<Checker>,
    /// `PING_CHECK`.
    #[serde(default, rename = "PING_CHECK", deserialize_with = "one_or_many")]
    pub ping_check: Vec<Checker>,
    /// `UDP_CHECK`.
    #[serde(default, rename = "UDP_CHECK", deserialize_with = "one_or_many")]
    pub udp_check: Vec<Checker>,
    /// `MISC_CHECK`.
    #[serde(default, rename = "MISC_CHECK", deserialize_with = "one_or_many")]
    pub misc_check: Vec<Checker>,
    /// HAProxy `agent-check`: weights and admin states, never a verdict.
    #[serde(default)]
    pub agent: Option<Agent>,
}

impl RealServer {
    /// `IP:PORT`.
    #[must_use]
    pub fn address(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }

    /// Every checker with its kind and its index within that kind's list.
    pub fn checkers(&self) -> impl Iterator<Item = (CheckKind, usize, &Checker)> {
        [
            (CheckKind::Tcp, &self.tcp_check),
            (CheckKind::Http, &self.http_get),
            (CheckKind::Ssl, &self.ssl_get),
            (CheckKind::Smtp, &self.smtp_check),
            (CheckKind::Dns, &self.dns_check),
            (CheckKind::Ping, &self.ping_check),
            (CheckKind::Udp, &self.udp_check),
            (CheckKind::Misc, &self.misc_check),
        ]
        .into_iter()
        .flat_map(|(kind, list)| list.iter().enumerate().map(move |(i, c)| (kind, i, c)))
    }
}

/// Checker kinds, by their keepalived keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// `TCP_CHECK`.
    Tcp,
    /// `HTTP_GET`.
    Http,
    /// `SSL_GET`.
    Ssl,
    /// `SMTP_CHECK`.
    Smtp,
    /// `DNS_CHECK`.
    Dns,
    /// `PING_CHECK`.
    Ping,
    /// `UDP_CHECK`.
    Udp,
    /// `MISC_CHECK`.
    Misc,
}

impl CheckKind {
    /// The keepalived keyword.
    #[must_use]
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Tcp => "TCP_CHECK",
            Self::Http => "HTTP_GET",
            Self::Ssl => "SSL_GET",
            Self::Smtp => "SMTP_CHECK",
            Self::Dns => "DNS_CHECK",
            Self::Ping => "PING_CHECK",
            Self::Udp => "UDP_CHECK",
            Self::Misc => "MISC_CHECK",
        }
    }

    /// keepalived's default `retry` (DNS 3, MISC 0, others 1).
    #[must_use]
    pub fn default_retry(self) -> u32 {
        match self {
            Self::Dns => 3,
            Self::Misc => 0,
            _ => 1,
        }
    }

    /// keepalived's default `delay_before_retry` (HTTP/SSL 3 s, DNS the
    /// check interval, others 1 s).
    #[must_use]
    pub fn default_delay_before_retry(self, delay_loop: Duration) -> Duration {
        match self {
            Self::Http | Self::Ssl => Duration::from_secs(3),
            Self::Dns => delay_loop,
            _ => Duration::from_secs(1),
        }
    }
}

/// DNS query type (keepalived `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[allow(clippy::upper_case_acronyms, reason = "DNS type mnemonics")]
pub enum DnsType {
    /// A.
    A,
    /// NS.
    NS,
    /// CNAME.
    CNAME,
    /// SOA (keepalived's default).
    SOA,
    /// MX.
    MX,
    /// TXT.
    TXT,
    /// AAAA.
    AAAA,
}

/// One checker. Keys that do not apply to its kind are rejected by
/// validation (e.g. `helo_name` in a `TCP_CHECK`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Checker {
    /// Address to check (default: the real server's).
    #[serde(default)]
    pub connect_ip: Option<IpAddr>,
    /// Port to check (default: the real server's; DNS 53).
    #[serde(default)]
    pub connect_port: Option<u16>,
    /// Source address of the probe.
    #[serde(default)]
    pub bind_to: Option<IpAddr>,
    /// Source port of the probe.
    #[serde(default)]
    pub bind_port: Option<u16>,
    /// Probe timeout in seconds (default 5).
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub connect_timeout: Option<Duration>,
    /// Seconds between checks (default: the real / virtual server's).
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub delay_loop: Option<Duration>,
    /// First check at a random offset below this many seconds.
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub warmup: Option<Duration>,
    /// keepalived `retry` (alias `nb_get_retry`).
    #[serde(default, alias = "nb_get_retry", deserialize_with = "de_opt_retry")]
    pub retry: Option<u32>,
    /// keepalived `delay_before_retry` (seconds).
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub delay_before_retry: Option<Duration>,
    /// HAProxy `rise`.
    #[serde(default, deserialize_with = "de_opt_count")]
    pub rise: Option<u32>,
    /// HAProxy `fall`.
    #[serde(default, deserialize_with = "de_opt_count")]
    pub fall: Option<u32>,
    /// HAProxy `fastinter` (seconds).
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub fastinter: Option<Duration>,
    /// HAProxy `downinter` (seconds).
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub downinter: Option<Duration>,
    /// HTTP_GET / SSL_GET: the URLs, every one must pass.
    #[serde(default)]
    pub url: Vec<Url>,
    /// HTTP_GET / SSL_GET: `Host` header (default: the virtual server's
    /// `virtualhost`, else the checked address).
    #[serde(default)]
    pub virtualhost: Option<String>,
    /// SSL_GET: send the virtual host as SNI (keepalived `enable_sni`).
    #[serde(default)]
    pub enable_sni: Option<bool>,
    /// SSL_GET: verify the server certificate (default false, as
    /// keepalived, which does not verify).
    #[serde(default)]
    pub verify: Option<bool>,
    /// SSL_GET with `verify`: PEM CA bundle (default: the Mozilla roots).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// SMTP_CHECK: HELO name (default `smtpchecker.keepalived.org`).
    #[serde(default)]
    pub helo_name: Option<String>,
    /// DNS_CHECK: query type (default SOA).
    #[serde(default, rename = "type")]
    pub dns_type: Option<DnsType>,
    /// DNS_CHECK: query name (default `.`).
    #[serde(default)]
    pub name: Option<String>,
    /// DNS_CHECK: require an answer of the type (default true, Seesaw;
    /// keepalived: false).
    #[serde(default)]
    pub require_answer: Option<bool>,
    /// UDP_CHECK: payload to send, hex.
    #[serde(default)]
    pub payload: Option<String>,
    /// UDP_CHECK: expected reply bytes, hex (any reply passes without).
    #[serde(default)]
    pub reply_data: Option<String>,
    /// UDP_CHECK: mask over `reply_data`, hex (default all ones).
    #[serde(default)]
    pub reply_mask: Option<String>,
    /// UDP_CHECK: shortest accepted reply.
    #[serde(default)]
    pub min_reply_length: Option<usize>,
    /// UDP_CHECK: longest accepted reply.
    #[serde(default)]
    pub max_reply_length: Option<usize>,
    /// MISC_CHECK: command line (program and arguments, no shell).
    #[serde(default)]
    pub misc_path: Option<String>,
    /// MISC_CHECK: seconds before the command is killed (default: the
    /// check interval).
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub misc_timeout: Option<Duration>,
    /// MISC_CHECK: exit status 2–255 sets weight status − 2.
    #[serde(default)]
    pub misc_dynamic: Option<bool>,
}

/// One `url` of an HTTP_GET / SSL_GET.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Url {
    /// Request path.
    pub path: String,
    /// MD5 of the body, 32 hex digits (as `genhash` prints it).
    #[serde(default)]
    pub digest: Option<String>,
    /// Accepted statuses: numbers or `"200-299"` ranges (default 200–299).
    #[serde(default, deserialize_with = "de_status")]
    pub status_code: Option<Vec<(u16, u16)>>,
    /// Regular expression the body must match.
    #[serde(default)]
    pub regex: Option<String>,
    /// `Host` for this URL.
    #[serde(default)]
    pub virtualhost: Option<String>,
}

/// HAProxy `agent-check` on a real server.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// `agent-port`.
    pub port: u16,
    /// `agent-addr` (default: the real server's address).
    #[serde(default)]
    pub addr: Option<IpAddr>,
    /// `agent-inter` in seconds (default 2).
    #[serde(default = "two_seconds", deserialize_with = "de_seconds")]
    pub inter: Duration,
    /// Timeout in seconds (default: `inter`).
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub timeout: Option<Duration>,
    /// `agent-send`: a line sent after connecting.
    #[serde(default)]
    pub send: Option<String>,
}

fn two_seconds() -> Duration {
    Duration::from_secs(2)
}

fn de_opt_count<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    de_count(d).map(Some)
}

fn de_opt_retry<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = super::de_int_range(d, 0, 10_000)?;
    u32::try_from(v).map(Some).map_err(D::Error::custom)
}

/// One table or an array of tables.
fn one_or_many<'de, D: de::Deserializer<'de>>(d: D) -> Result<Vec<Checker>, D::Error> {
    struct V;
    impl<'de> de::Visitor<'de> for V {
        type Value = Vec<Checker>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a checker table or an array of them")
        }
        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Checker::deserialize(de::value::MapAccessDeserializer::new(map)).map(|c| vec![c])
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(c) = seq.next_element::<Checker>()? {
                out.push(c);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

/// `status_code`: a number, `"LOW-HIGH"`, or an array of them.
fn de_status<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<Vec<(u16, u16)>>, D::Error> {
    fn one<E: de::Error>(s: &str) -> Result<(u16, u16), E> {
        let bad = || {
            E::custom(format!(
                "invalid status code {s:?}, expected 100..=599 or \"LOW-HIGH\""
            ))
        };
        let parse = |t: &str| {
            t.trim()
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
                .ok_or_else(bad)
        };
        match s.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (parse(lo)?, parse(hi)?);
                if lo > hi {
                    return Err(bad());
                }
                Ok((lo, hi))
            }
            None => parse(s).map(|c| (c, c)),
        }
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Item {
        Num(i64),
        Str(String),
    }
    struct V;
    impl<'de> de::Visitor<'de> for V {
        type Value = Vec<(u16, u16)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a status code, \"LOW-HIGH\", or an array of them")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            one(&v.to_string()).map(|r| vec![r])
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            one(&v.to_string()).map(|r| vec![r])
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            one(v).map(|r| vec![r])
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element::<Item>()? {
                out.push(match item {
                    Item::Num(n) => one(&n.to_string())?,
                    Item::Str(s) => one(&s)?,
                });
            }
            Ok(out)
        }
    }
    d.deserialize_any(V).map(Some)
}

/// Decodes a hex string (whitespace and `:` ignored).
#[must_use]
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b':')
        .collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

/// Keys (set on `c`) that apply to `kind` only; every other kind rejects them.
fn specific_keys(c: &Checker) -> Vec<(&'static str, &'static [CheckKind])> {
    use CheckKind::{Dns, Http, Misc, Smtp, Ssl, Udp};
    const HTTP: &[CheckKind] = &[Http, Ssl];
    const SSL: &[CheckKind] = &[Ssl];
    let mut out = Vec::new();
    let mut add = |set: bool, k: &'static str, kinds: &'static [CheckKind]| {
        if set {
            out.push((k, kinds));
        }
    };
    add(!c.url.is_empty(), "url", HTTP);
    add(c.virtualhost.is_some(), "virtualhost", HTTP);
    add(c.enable_sni.is_some(), "enable_sni", SSL);
    add(c.verify.is_some(), "verify", SSL);
    add(c.ca_file.is_some(), "ca_file", SSL);
    add(c.helo_name.is_some(), "helo_name", &[Smtp]);
    add(c.dns_type.is_some(), "type", &[Dns]);
    add(c.name.is_some(), "name", &[Dns]);
    add(c.require_answer.is_some(), "require_answer", &[Dns]);
    add(c.payload.is_some(), "payload", &[Udp]);
    add(c.reply_data.is_some(), "reply_data", &[Udp]);
    add(c.reply_mask.is_some(), "reply_mask", &[Udp]);
    add(c.min_reply_length.is_some(), "min_reply_length", &[Udp]);
    add(c.max_reply_length.is_some(), "max_reply_length", &[Udp]);
    add(c.misc_path.is_some(), "misc_path", &[Misc]);
    add(c.misc_timeout.is_some(), "misc_timeout", &[Misc]);
    add(c.misc_dynamic.is_some(), "misc_dynamic", &[Misc]);
    out
}

fn positive(path: Vec<Seg>, d: Option<Duration>) -> Result<(), Invalid> {
    if d.is_some_and(|d| d.is_zero()) {
        return Err((path, "must be greater than 0".to_owned()));
    }
    Ok(())
}

/// Semantic checks of `[health]`.
pub(super) fn validate(h: &HealthConfig) -> Result<(), Invalid> {
    let root = [Seg::Key("health".to_owned())];
    if h.max_concurrent_probes == 0 || h.max_concurrent_probes > 1_000_000 {
        return Err((
            key(&root, "max_concurrent_probes"),
            format!(
                "invalid value {}, expected 1..=1000000",
                h.max_concurrent_probes
            ),
        ));
    }
    positive(key(&root, "notify_timeout"), h.notify_timeout)?;
    let vss = key(&root, "virtual_server");
    let mut names = std::collections::HashMap::new();
    for (v, vs) in h.virtual_server.iter().enumerate() {
        let p = idx(&vss, v);
        let name = vs.display_name();
        if let Some(first) = names.insert(name.clone(), v) {
            return Err((
                key(&p, if vs.name.is_some() { "name" } else { "port" }),
                format!("duplicate virtual server {name:?} (also health.virtual_server[{first}])"),
            ));
        }
        positive(key(&p, "delay_loop"), Some(vs.delay_loop))?;
        positive(key(&p, "fastinter"), vs.fastinter)?;
        positive(key(&p, "downinter"), vs.downinter)?;
        for (k, script) in [
            ("quorum_up", &vs.quorum_up),
            ("quorum_down", &vs.quorum_down),
        ] {
            check_command(key(&p, k), script.as_deref())?;
        }
        if let Some(host) = &vs.virtualhost {
            check_host(key(&p, "virtualhost"), host)?;
        }
        for (r, rs) in vs.real_server.iter().enumerate() {
            let rp = idx(&key(&p, "real_server"), r);
            if vs
                .real_server
                .iter()
                .take(r)
                .any(|o| o.address() == rs.address())
            {
                return Err((
                    key(&rp, "port"),
                    format!("duplicate real server {}", rs.address()),
                ));
            }
            positive(key(&rp, "delay_loop"), rs.delay_loop)?;
            for (k, script) in [
                ("notify_up", &rs.notify_up),
                ("notify_down", &rs.notify_down),
            ] {
                check_command(key(&rp, k), script.as_deref())?;
            }
            for (kind, i, c) in rs.checkers() {
                validate_checker(vs, kind, c, &idx(&key(&rp, kind.keyword()), i))?;
            }
            if let Some(a) = &rs.agent {
                let ap = key(&rp, "agent");
                positive(key(&ap, "inter"), Some(a.inter))?;
                positive(key(&ap, "timeout"), a.timeout)?;
                if let Some(s) = &a.send
                    && s.len() > 1024
                {
                    return Err((key(&ap, "send"), "at most 1024 bytes".to_owned()));
                }
            }
        }
    }
    Ok(())
}

fn check_command(path: Vec<Seg>, line: Option<&str>) -> Result<(), Invalid> {
    if let Some(line) = line {
        match crate::notify::split_command(line) {
            Some(argv) if argv.first().is_some_and(|p| p.starts_with('/')) => {}
            Some(_) => {
                return Err((path, "the program must be an absolute path".to_owned()));
            }
            None => return Err((path, "empty command or unclosed quote".to_owned())),
        }
    }
    Ok(())
}

fn check_host(path: Vec<Seg>, host: &str) -> Result<(), Invalid> {
    if host.is_empty() || host.bytes().any(|b| b <= 0x20 || b == 0x7f) {
        return Err((path, format!("invalid host {host:?}")));
    }
    Ok(())
}

fn validate_checker(
    vs: &VirtualServer,
    kind: CheckKind,
    c: &Checker,
    p: &[Seg],
) -> Result<(), Invalid> {
    for (k, kinds) in specific_keys(c) {
        if !kinds.contains(&kind) {
            return Err((key(p, k), format!("not a {} key", kind.keyword())));
        }
    }
    if kind == CheckKind::Ping && (c.connect_port.is_some() || c.bind_port.is_some()) {
        let k = if c.connect_port.is_some() {
            "connect_port"
        } else {
            "bind_port"
        };
        return Err((key(p, k), "PING_CHECK has no ports".to_owned()));
    }
    if kind == CheckKind::Misc
        && (c.connect_ip.is_some()
            || c.connect_port.is_some()
            || c.bind_to.is_some()
            || c.bind_port.is_some())
    {
        return Err((
            p.to_vec(),
            "MISC_CHECK runs a command: no addresses or ports".to_owned(),
        ));
    }
    for (k, d) in [
        ("connect_timeout", c.connect_timeout),
        ("delay_loop", c.delay_loop),
        ("delay_before_retry", c.delay_before_retry),
        ("fastinter", c.fastinter),
        ("downinter", c.downinter),
        ("misc_timeout", c.misc_timeout),
    ] {
        positive(key(p, k), d)?;
    }
    let haproxy = c.rise.is_some() || c.fall.is_some() || vs.rise.is_some() || vs.fall.is_some();
    if haproxy && (c.retry.is_some() || c.delay_before_retry.is_some()) {
        let k = if c.retry.is_some() {
            "retry"
        } else {
            "delay_before_retry"
        };
        return Err((
            key(p, k),
            "keepalived retry/delay_before_retry and HAProxy rise/fall are exclusive".to_owned(),
        ));
    }
    if let (Some(bind), Some(connect)) = (c.bind_to, c.connect_ip)
        && bind.is_ipv4() != connect.is_ipv4()
    {
        return Err((
            key(p, "bind_to"),
            format!("{bind} and {connect} are of different families"),
        ));
    }
    match kind {
        CheckKind::Http | CheckKind::Ssl => {
            if c.url.is_empty() {
                return Err((key(p, "url"), "at least one url required".to_owned()));
            }
            if let Some(host) = &c.virtualhost {
                check_host(key(p, "virtualhost"), host)?;
            }
            for (u, url) in c.url.iter().enumerate() {
                let up = idx(&key(p, "url"), u);
                let mut cfg = healthcheck::http::HttpConfig::new(&url.path, "localhost");
                if let Some(h) = &url.virtualhost {
                    check_host(key(&up, "virtualhost"), h)?;
                }
                cfg.digest.clone_from(&url.digest);
                cfg.expect = url.regex.clone().map(healthcheck::http::Expect::Regex);
                if let Some(s) = &url.status_code {
                    cfg.status.clone_from(s);
                }
                if let Err(e) = healthcheck::http::HttpSpec::new(&cfg) {
                    let k = match e {
                        healthcheck::http::HttpConfigError::BadPath => "path",
                        healthcheck::http::HttpConfigError::BadDigest => "digest",
                        healthcheck::http::HttpConfigError::BadRegex(_) => "regex",
                        healthcheck::http::HttpConfigError::BadStatus => "status_code",
                        _ => "virtualhost",
                    };
                    return Err((key(&up, k), e.to_string()));
                }
            }
        }
        CheckKind::Smtp => {
            if let Some(name) = &c.helo_name {
                let cfg = healthcheck::smtp::SmtpConfig {
                    helo_name: name.clone(),
                };
                if let Err(e) = healthcheck::smtp::SmtpCheck::new(&cfg) {
                    return Err((key(p, "helo_name"), e.to_string()));
                }
            }
        }
        CheckKind::Dns => {
            if let Some(name) = &c.name
                && healthcheck::dns::encode_name(name).is_err()
            {
                return Err((key(p, "name"), format!("invalid DNS name {name:?}")));
            }
        }
        CheckKind::Udp => {
            for (k, v) in [
                ("payload", &c.payload),
                ("reply_data", &c.reply_data),
                ("reply_mask", &c.reply_mask),
            ] {
                if let Some(v) = v
                    && decode_hex(v).is_none()
                {
                    return Err((key(p, k), format!("invalid hex string {v:?}")));
                }
            }
            if c.reply_mask.is_some() && c.reply_data.is_none() {
                return Err((key(p, "reply_mask"), "needs reply_data".to_owned()));
            }
            if let (Some(lo), Some(hi)) = (c.min_reply_length, c.max_reply_length)
                && lo > hi
            {
                return Err((
                    key(p, "min_reply_length"),
                    format!("{lo} is greater than max_reply_length {hi}"),
                ));
            }
        }
        CheckKind::Misc => {
            if c.misc_path.is_none() {
                return Err((p.to_vec(), "missing field `misc_path`".to_owned()));
            }
            check_command(key(p, "misc_path"), c.misc_path.as_deref())?;
        }
        CheckKind::Tcp | CheckKind::Ping => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use std::path::Path;

    const FILE: &str = "/etc/dsas/node.toml";

    fn err(text: &str) -> String {
        parse(text, Path::new(FILE)).unwrap_err().to_string()
    }

    const VS: &str = "[[health.virtual_server]]\nip = \"10.0.0.100\"\nport = 80\n[[health.virtual_server.real_server]]\nip = \"10.0.0.1\"\nport = 80\n";

    #[test]
    fn full_health_section_parses() {
        let c = parse(
            r#"
[health]
max_concurrent_probes = 64
seed = 7

[[health.virtual_server]]
name = "web"
ip = "10.0.0.100"
port = 80
delay_loop = 2
alpha = true
quorum = 2
hysteresis = 1
sorry_server = "10.0.0.9 80"
quorum_down = "/bin/true down"

[[health.virtual_server.real_server]]
ip = "10.0.0.1"
port = 80
weight = 3
notify_down = "/usr/local/bin/down 'web 1'"
TCP_CHECK = { connect_timeout = 0.5, bind_to = "10.0.0.2", retry = 2, delay_before_retry = 0.2 }
HTTP_GET = [{ url = [{ path = "/", status_code = [200, "300-302"], digest = "d41d8cd98f00b204e9800998ecf8427e" }] }]
SSL_GET = { enable_sni = true, virtualhost = "www.example", url = [{ path = "/health" }] }
SMTP_CHECK = { helo_name = "me.example" }
DNS_CHECK = { type = "A", name = "www.example" }
PING_CHECK = {}
UDP_CHECK = { payload = "01 02", reply_data = "0a", reply_mask = "ff" }
MISC_CHECK = { misc_path = "/bin/check arg", misc_dynamic = true, misc_timeout = 3 }
agent = { port = 9999, inter = 1 }

[[health.virtual_server.real_server]]
ip = "10.0.0.2"
port = 80
[[health.virtual_server.real_server.TCP_CHECK]]
rise = 2
fall = 3
fastinter = 0.1
"#,
            Path::new(FILE),
        )
        .unwrap();
        let vs = &c.health.virtual_server[0];
        assert_eq!(c.health.max_concurrent_probes, 64);
        assert_eq!(vs.delay_loop, std::time::Duration::from_secs(2));
        assert_eq!(
            vs.sorry_server.unwrap().0,
            "10.0.0.9:80".parse::<std::net::SocketAddr>().unwrap()
        );
        let rs = &vs.real_server[0];
        assert_eq!(rs.checkers().count(), 8);
        assert_eq!(
            rs.http_get[0].url[0].status_code,
            Some(vec![(200, 200), (300, 302)])
        );
        assert_eq!(rs.udp_check[0].payload.as_deref(), Some("01 02"));
        assert_eq!(vs.real_server[1].tcp_check[0].rise, Some(2));
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(
            err(&format!("{VS}TCP_CHECK = {{ helo_name = \"x\" }}\n")),
            "/etc/dsas/node.toml:7:15: health.virtual_server[0].real_server[0].TCP_CHECK[0].helo_name: not a TCP_CHECK key"
        );
        assert_eq!(
            err(&format!("{VS}TCP_CHECK = {{ colour = 1 }}\n")),
            "/etc/dsas/node.toml:7:15: health.virtual_server[0].real_server[0].TCP_CHECK.colour: unknown field `colour`, expected one of `connect_ip`, `connect_port`, `bind_to`, `bind_port`, `connect_timeout`, `delay_loop`, `warmup`, `nb_get_retry`, `retry`, `delay_before_retry`, `rise`, `fall`, `fastinter`, `downinter`, `url`, `virtualhost`, `enable_sni`, `verify`, `ca_file`, `helo_name`, `type`, `name`, `require_answer`, `payload`, `reply_data`, `reply_mask`, `min_reply_length`, `max_reply_length`, `misc_path`, `misc_timeout`, `misc_dynamic`"
        );
        assert_eq!(
            err(&format!(
                "{VS}HTTP_GET = {{ url = [{{ path = \"/\", digest = \"abc\" }}] }}\n"
            )),
            "/etc/dsas/node.toml:7:35: health.virtual_server[0].real_server[0].HTTP_GET[0].url[0].digest: digest must be 32 hex digits"
        );
        assert_eq!(
            err(&format!(
                "{VS}HTTP_GET = {{ url = [{{ path = \"/\", status_code = 700 }}] }}\n"
            )),
            "/etc/dsas/node.toml:7:49: health.virtual_server[0].real_server[0].HTTP_GET.url[0].status_code: invalid status code \"700\", expected 100..=599 or \"LOW-HIGH\""
        );
        assert_eq!(
            err(&format!("{VS}TCP_CHECK = {{ retry = 1, rise = 2 }}\n")),
            "/etc/dsas/node.toml:7:15: health.virtual_server[0].real_server[0].TCP_CHECK[0].retry: keepalived retry/delay_before_retry and HAProxy rise/fall are exclusive"
        );
        assert_eq!(
            err(&format!(
                "{VS}MISC_CHECK = {{ misc_path = \"check.sh\" }}\n"
            )),
            "/etc/dsas/node.toml:7:16: health.virtual_server[0].real_server[0].MISC_CHECK[0].misc_path: the program must be an absolute path"
        );
        assert_eq!(
            err(&format!("{VS}UDP_CHECK = {{ payload = \"0g\" }}\n")),
            "/etc/dsas/node.toml:7:15: health.virtual_server[0].real_server[0].UDP_CHECK[0].payload: invalid hex string \"0g\""
        );
        assert_eq!(
            err(&format!(
                "{VS}[[health.virtual_server.real_server]]\nip = \"10.0.0.1\"\nport = 80\n"
            )),
            "/etc/dsas/node.toml:9:1: health.virtual_server[0].real_server[1].port: duplicate real server 10.0.0.1:80"
        );
        assert_eq!(
            err("[health]\nmax_concurrent_probes = 0\n"),
            "/etc/dsas/node.toml:2:1: health.max_concurrent_probes: invalid value 0, expected 1..=1000000"
        );
    }
}
