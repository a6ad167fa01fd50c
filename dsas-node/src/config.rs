//! The node configuration file (TOML, `/etc/dsas/node.toml` by default).
//!
//! ```toml
//! [node]
//! name = "lb1"
//!
//! [[vrrp.instance]]          # keepalived `vrrp_instance`
//! name = "VI_1"
//! interface = "eth0"
//! virtual_router_id = 51
//! priority = 150
//! advert_int = 1
//! virtual_ipaddress = ["10.0.0.100/24", "10.0.1.100/24 dev eth1"]
//! ```
//!
//! The `vrrp` tables mirror keepalived.conf(5) (`vrrp_instance`,
//! `vrrp_script`, `vrrp_track_file`, `vrrp_sync_group`) with the same key
//! names; they stay plain serde structs, mapped to `vrrp::Config` by the
//! VRRP role. Every error names the file, line, column and key path:
//! `/etc/dsas/node.toml:12:12: vrrp.instance[0].priority: invalid value 300, expected 1..=255`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Error as _};
use serde::{Deserialize, Serialize};

pub mod health;
pub mod rstp;

/// Default configuration file.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/dsas/node.toml";
/// Default control socket.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/dsas-node/control.sock";
/// Longest interface name (`IFNAMSIZ` − 1).
pub const IFNAMSIZ_MAX: usize = 15;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[node]`.
    #[serde(default)]
    pub node: NodeConfig,
    /// `[vrrp]`: instances, scripts, track files, sync groups.
    #[serde(default)]
    pub vrrp: VrrpConfig,
    /// `[health]`: real-server health checks ([`health`]).
    #[serde(default)]
    pub health: health::HealthConfig,
    /// `[rstp]`: the bridge the RSTP role drives ([`rstp`]).
    #[serde(default)]
    pub rstp: Option<rstp::RstpConfig>,
}

/// `[node]`: the process itself.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Node name (keepalived `router_id`); default: the host name.
    #[serde(default)]
    pub name: Option<String>,
    /// Unix control socket (`dsas-node status`).
    #[serde(default = "default_control_socket")]
    pub control_socket: PathBuf,
    /// tracing filter (`error`, `warn`, `info`, `debug`, `trace`, or an
    /// `EnvFilter` directive such as `dsas_node=debug`).
    #[serde(default = "default_log_level")]
    pub log_level: String,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            name: None,
            control_socket: default_control_socket(),
            log_level: default_log_level(),
        }
    }
}

fn default_control_socket() -> PathBuf {
    PathBuf::from(DEFAULT_CONTROL_SOCKET)
}

fn default_log_level() -> String {
    "info".to_owned()
}

/// `[vrrp]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpConfig {
    /// `[[vrrp.instance]]` (keepalived `vrrp_instance`).
    #[serde(default)]
    pub instance: Vec<VrrpInstance>,
    /// `[vrrp.script.NAME]` (keepalived `vrrp_script`).
    #[serde(default)]
    pub script: BTreeMap<String, VrrpScript>,
    /// `[vrrp.track_file.NAME]` (keepalived `vrrp_track_file`).
    #[serde(default)]
    pub track_file: BTreeMap<String, VrrpTrackFile>,
    /// `[[vrrp.sync_group]]` (keepalived `vrrp_sync_group`).
    #[serde(default)]
    pub sync_group: Vec<SyncGroup>,
}

/// Initial state hint (keepalived `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum StateHint {
    /// `MASTER`: with priority 255, become Master at once.
    #[serde(rename = "MASTER", alias = "master")]
    Master,
    /// `BACKUP` (default).
    #[serde(rename = "BACKUP", alias = "backup")]
    Backup,
}

/// VRRPv3 over IPv4 checksum form (RFC 9568 §7.1 vs the pseudo-header
/// form keepalived and FRR send by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub enum ChecksumMode {
    /// Checksum over the IPv4 pseudo-header and the VRRP message.
    #[serde(rename = "pseudo-header")]
    PseudoHeader,
    /// RFC 9568: VRRP message only, as VRRPv2 (keepalived `v3_checksum_as_v2`).
    #[serde(rename = "rfc9568")]
    Rfc9568,
}

/// VRRPv2 authentication type (RFC 3768 §5.3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum AuthType {
    /// Simple text password (type 1).
    #[serde(rename = "PASS")]
    Pass,
}

/// keepalived `authentication { auth_type PASS; auth_pass SECRET }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Authentication {
    /// Only `PASS` (AH is deprecated).
    pub auth_type: AuthType,
    /// Up to 8 characters.
    pub auth_pass: String,
}

/// One `virtual_ipaddress` entry: `"ADDR[/LEN] [dev IFNAME]"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualAddress {
    /// The address.
    pub address: IpAddr,
    /// Prefix length (default /32 or /128, as keepalived).
    pub prefix_len: u8,
    /// Interface to add it on (default: the instance's interface).
    pub dev: Option<String>,
}

impl fmt::Display for VirtualAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)?;
        if let Some(dev) = &self.dev {
            write!(f, " dev {dev}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for VirtualAddress {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut words = s.split_whitespace();
        let cidr = words.next().ok_or("empty address")?;
        let (addr, len) = match cidr.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (cidr, None),
        };
        let address: IpAddr = addr
            .parse()
            .map_err(|_| format!("invalid address {addr:?}"))?;
        let max: u8 = if address.is_ipv4() { 32 } else { 128 };
        let prefix_len = match len {
            None => max,
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| format!("invalid prefix length {l:?}, expected 0..={max}"))?,
        };
        let dev = match (words.next(), words.next()) {
            (None, _) => None,
            (Some("dev"), Some(dev)) => Some(dev.to_owned()),
            (Some(word), _) => {
                return Err(format!(
                    "unexpected {word:?}, expected \"ADDRESS[/LEN] [dev IFNAME]\""
                ));
            }
        };
        if let Some(extra) = words.next() {
            return Err(format!(
                "unexpected {extra:?}, expected \"ADDRESS[/LEN] [dev IFNAME]\""
            ));
        }
        Ok(Self {
            address,
            prefix_len,
            dev,
        })
    }
}

impl<'de> Deserialize<'de> for VirtualAddress {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(D::Error::custom)
    }
}

/// `track_interface` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrackInterface {
    /// Interface name.
    pub name: String,
    /// Weight (−253..=253); 0: link down means FAULT.
    #[serde(default, deserialize_with = "de_weight")]
    pub weight: i16,
}

/// `track_script` / `track_file` reference with an optional weight
/// overriding the script's or file's own.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrackRef {
    /// Name of a `[vrrp.script.NAME]` / `[vrrp.track_file.NAME]`.
    pub name: String,
    /// Weight override (−253..=253).
    #[serde(default, deserialize_with = "de_opt_weight")]
    pub weight: Option<i16>,
}

/// `[vrrp.script.NAME]` (keepalived `vrrp_script`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpScript {
    /// Command line (program and arguments, shell-style quoting).
    pub script: String,
    /// Seconds between runs (default 1).
    #[serde(default = "one_second", deserialize_with = "de_seconds")]
    pub interval: Duration,
    /// Seconds before a run counts as failed (default: `interval`).
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub timeout: Option<Duration>,
    /// Weight (−253..=253); 0: failure means FAULT.
    #[serde(default, deserialize_with = "de_weight")]
    pub weight: i16,
    /// Successes needed to count as up (default 1).
    #[serde(default = "one", deserialize_with = "de_count")]
    pub rise: u32,
    /// Failures needed to count as down (default 1).
    #[serde(default = "one", deserialize_with = "de_count")]
    pub fall: u32,
}

/// `[vrrp.track_file.NAME]` (keepalived `vrrp_track_file`): the file holds
/// an integer, multiplied by the weight; a non-zero result with weight 0
/// means FAULT.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpTrackFile {
    /// File to watch.
    pub file: PathBuf,
    /// Weight (−253..=253, default 1).
    #[serde(default = "one_weight", deserialize_with = "de_weight")]
    pub weight: i16,
}

/// `[[vrrp.sync_group]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyncGroup {
    /// Group name (notify `GROUP NAME STATE 0`).
    pub name: String,
    /// Instance names.
    pub members: Vec<String>,
    /// Notify scripts as for an instance.
    #[serde(default)]
    pub notify_master: Option<String>,
    /// `notify_backup`.
    #[serde(default)]
    pub notify_backup: Option<String>,
    /// `notify_fault`.
    #[serde(default)]
    pub notify_fault: Option<String>,
    /// `notify_stop`.
    #[serde(default)]
    pub notify_stop: Option<String>,
    /// Generic `notify` (`GROUP NAME STATE 0`: keepalived passes priority 0
    /// for a group).
    #[serde(default)]
    pub notify: Option<String>,
}

/// `[[vrrp.instance]]` (keepalived `vrrp_instance`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpInstance {
    /// Instance name (unique).
    pub name: String,
    /// Interface the adverts are sent and received on.
    pub interface: String,
    /// VRID 1..=255.
    #[serde(deserialize_with = "de_vrid")]
    pub virtual_router_id: u8,
    /// Priority 1..=255 (default 100; 255 = address owner).
    #[serde(default = "default_priority", deserialize_with = "de_priority")]
    pub priority: u8,
    /// Seconds (fractional, in 10 ms steps, for v3); default 1.
    #[serde(default = "one_second", deserialize_with = "de_seconds")]
    pub advert_int: Duration,
    /// 2 or 3; default 2 for IPv4, 3 for IPv6 (as keepalived).
    #[serde(default, deserialize_with = "de_version")]
    pub version: Option<u8>,
    /// Initial state hint.
    #[serde(default)]
    pub state: Option<StateHint>,
    /// Do not preempt a lower-priority Master.
    #[serde(default)]
    pub nopreempt: bool,
    /// Seconds (0..=1000) before preempting.
    #[serde(default, deserialize_with = "de_seconds")]
    pub preempt_delay: Duration,
    /// Accept_Mode (RFC 5798 §6.1): a non-owner Master accepts packets
    /// addressed to the VIPs. Default `true`, as keepalived without
    /// `vrrp_strict`; `false` (keepalived `no_accept`) drops them with an
    /// nftables rule while Master (ARP / ND for the VIPs still answered).
    #[serde(default = "yes")]
    pub accept: bool,
    /// Virtual addresses (`"ADDR[/LEN] [dev IFNAME]"`), one family.
    pub virtual_ipaddress: Vec<VirtualAddress>,
    /// Source of unicast adverts (default: the interface's primary address).
    #[serde(default)]
    pub unicast_src_ip: Option<IpAddr>,
    /// Unicast peers; non-empty turns on unicast mode.
    #[serde(default)]
    pub unicast_peer: Vec<IpAddr>,
    /// Run on a macvlan with the virtual MAC: `true` (name `vrrp.VRID`) or
    /// an interface name.
    #[serde(default)]
    pub use_vmac: UseVmac,
    /// Seconds after becoming Master before the second GARP burst (default 5).
    #[serde(default = "five_seconds", deserialize_with = "de_seconds")]
    pub garp_master_delay: Duration,
    /// GARPs per burst (default 5).
    #[serde(default = "five", deserialize_with = "de_count")]
    pub garp_master_repeat: u32,
    /// Seconds between refresh bursts while Master (0 = off).
    #[serde(default, deserialize_with = "de_seconds")]
    pub garp_master_refresh: Duration,
    /// GARPs per refresh burst (default 1).
    #[serde(default = "one", deserialize_with = "de_count")]
    pub garp_master_refresh_repeat: u32,
    /// Seconds before the GARP burst after hearing a lower priority.
    #[serde(default, deserialize_with = "de_opt_seconds")]
    pub garp_lower_prio_delay: Option<Duration>,
    /// GARPs per burst after hearing a lower priority.
    #[serde(default, deserialize_with = "de_opt_count")]
    pub garp_lower_prio_repeat: Option<u32>,
    /// Tracked interfaces.
    #[serde(default)]
    pub track_interface: Vec<TrackInterface>,
    /// Tracked scripts (`[vrrp.script.NAME]`).
    #[serde(default)]
    pub track_script: Vec<TrackRef>,
    /// Tracked files (`[vrrp.track_file.NAME]`).
    #[serde(default)]
    pub track_file: Vec<TrackRef>,
    /// Run on entering MASTER (no arguments beyond those in the string).
    #[serde(default)]
    pub notify_master: Option<String>,
    /// Run on entering BACKUP.
    #[serde(default)]
    pub notify_backup: Option<String>,
    /// Run on entering FAULT.
    #[serde(default)]
    pub notify_fault: Option<String>,
    /// Run when the instance stops.
    #[serde(default)]
    pub notify_stop: Option<String>,
    /// Run on every transition with `INSTANCE NAME STATE PRIORITY`.
    #[serde(default)]
    pub notify: Option<String>,
    /// VRRPv2 authentication.
    #[serde(default)]
    pub authentication: Option<Authentication>,
    /// v3/IPv4 checksum form sent (default `pseudo-header`).
    #[serde(default)]
    pub checksum: Option<ChecksumMode>,
    /// v3/IPv4 checksum forms accepted (default: the form sent).
    #[serde(default)]
    pub checksum_accept: Option<Vec<ChecksumMode>>,
}

/// `use_vmac = true` or `use_vmac = "NAME"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub enum UseVmac {
    /// No VMAC (default, `false`).
    #[default]
    Off,
    /// Default name `vrrp.VRID` (IPv6: `vrrp6.VRID`).
    Default,
    /// Explicit interface name.
    Named(String),
}

impl<'de> Deserialize<'de> for UseVmac {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = UseVmac;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or an interface name")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(if v { UseVmac::Default } else { UseVmac::Off })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if v.is_empty() || v.len() > IFNAMSIZ_MAX || v.contains(['/', ' ']) {
                    return Err(E::custom(format!(
                        "invalid interface name {v:?} (1..=15 bytes, no '/' or space)"
                    )));
                }
                Ok(UseVmac::Named(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

impl VrrpInstance {
    /// Protocol version in effect: the configured one, else 3 for IPv6
    /// virtual addresses and 2 for IPv4 (keepalived).
    #[must_use]
    pub fn effective_version(&self) -> u8 {
        self.version
            .unwrap_or_else(|| if self.is_ipv6() { 3 } else { 2 })
    }

    /// Whether the instance is IPv6 (by its first virtual address).
    #[must_use]
    pub fn is_ipv6(&self) -> bool {
        self.virtual_ipaddress
            .first()
            .is_some_and(|v| v.address.is_ipv6())
    }

    /// Name of the VMAC interface, if `use_vmac` is set: the configured
    /// one or `vrrp.VRID` / `vrrp6.VRID` (at most 10 bytes).
    #[must_use]
    pub fn vmac_name(&self) -> Option<String> {
        match &self.use_vmac {
            UseVmac::Off => None,
            UseVmac::Named(n) => Some(n.clone()),
            UseVmac::Default if self.is_ipv6() => Some(format!("vrrp6.{}", self.virtual_router_id)),
            UseVmac::Default => Some(format!("vrrp.{}", self.virtual_router_id)),
        }
    }
}

fn default_priority() -> u8 {
    100
}
fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}
fn five() -> u32 {
    5
}
fn one_weight() -> i16 {
    1
}
fn one_second() -> Duration {
    Duration::from_secs(1)
}
fn five_seconds() -> Duration {
    Duration::from_secs(5)
}

struct Integer;

impl de::Visitor<'_> for Integer {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(E::custom)
    }
}

fn de_int_range<'de, D: de::Deserializer<'de>>(d: D, lo: i64, hi: i64) -> Result<i64, D::Error> {
    let v = d.deserialize_i64(Integer)?;
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(D::Error::custom(format!(
            "invalid value {v}, expected {lo}..={hi}"
        )))
    }
}

fn de_u8_range<'de, D: de::Deserializer<'de>>(d: D, lo: u8, hi: u8) -> Result<u8, D::Error> {
    let v = de_int_range(d, i64::from(lo), i64::from(hi))?;
    u8::try_from(v).map_err(D::Error::custom)
}

fn de_vrid<'de, D: de::Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    de_u8_range(d, 1, 255)
}

fn de_priority<'de, D: de::Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    de_u8_range(d, 1, 255)
}

fn de_version<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    de_u8_range(d, 2, 3).map(Some)
}

fn de_weight<'de, D: de::Deserializer<'de>>(d: D) -> Result<i16, D::Error> {
    let v = de_int_range(d, -253, 253)?;
    i16::try_from(v).map_err(D::Error::custom)
}

fn de_opt_weight<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<i16>, D::Error> {
    de_weight(d).map(Some)
}

fn de_count<'de, D: de::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = de_int_range(d, 1, 10_000)?;
    u32::try_from(v).map_err(D::Error::custom)
}

fn de_opt_count<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    de_count(d).map(Some)
}

/// Seconds as an integer or a float, non-negative, at most one day, whole
/// milliseconds.
fn de_seconds<'de, D: de::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    struct Seconds;
    impl de::Visitor<'_> for Seconds {
        type Value = f64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number of seconds")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        #[allow(clippy::cast_precision_loss, reason = "bounded to 0..=86400 below")]
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
    }
    let v = d.deserialize_f64(Seconds)?;
    if !(0.0..=86_400.0).contains(&v) {
        return Err(D::Error::custom(format!(
            "invalid value {v}, expected 0..=86400 seconds"
        )));
    }
    let ms = (v * 1000.0).round();
    if (ms - v * 1000.0).abs() > 1e-6 {
        return Err(D::Error::custom(format!(
            "invalid value {v}, expected whole milliseconds"
        )));
    }
    Duration::try_from_secs_f64(ms / 1000.0).map_err(D::Error::custom)
}

fn de_opt_seconds<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de_seconds(d).map(Some)
}

/// A configuration error with its place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// Key path (`vrrp.instance[0].priority`), empty for the whole file.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        f.write_str(": ")?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// 1-based line and column (in characters) of byte `offset` of `text`.
#[must_use]
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count().saturating_add(1);
    let line_start = before.rfind('\n').map_or(0, |i| i.saturating_add(1));
    let col = before
        .get(line_start..)
        .map_or(0, |l| l.chars().count())
        .saturating_add(1);
    (line, col)
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn path_string(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Locates key paths in the parsed document for semantic errors.
struct Spans<'i> {
    root: toml::Spanned<toml::de::DeTable<'i>>,
}

impl Spans<'_> {
    /// Span of the deepest existing element of `path`: the key for a table
    /// entry, the value for an array element.
    fn span(&self, path: &[Seg]) -> Range<usize> {
        let mut best = self.root.span();
        let mut table = Some(self.root.get_ref());
        let mut value: Option<&toml::de::DeValue<'_>> = None;
        for seg in path {
            match seg {
                Seg::Key(k) => {
                    let Some(t) = table.or_else(|| value.and_then(|v| v.as_table())) else {
                        break;
                    };
                    let Some((key, v)) = t.iter().find(|(key, _)| key.get_ref() == k) else {
                        break;
                    };
                    best = key.span();
                    value = Some(v.get_ref());
                    table = None;
                }
                Seg::Index(0) if value.is_some_and(|v| v.as_table().is_some()) => {
                    // A single table where one-or-many is accepted.
                }
                Seg::Index(i) => {
                    let Some(v) = value.and_then(|v| v.as_array()).and_then(|a| a.get(*i)) else {
                        break;
                    };
                    best = v.span();
                    value = Some(v.get_ref());
                }
            }
        }
        best
    }
}

/// Parses `text` (read from `file`, named in errors) and validates it.
///
/// # Errors
/// The first syntax, type or semantic error.
pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let at = |span: Option<Range<usize>>, key: String, message: String| ConfigError {
        file: file.to_owned(),
        position: span.map(|s| line_col(text, s.start)),
        key,
        message,
    };
    let root = toml::de::DeTable::parse(text)
        .map_err(|e| at(e.span(), String::new(), e.message().trim_end().to_owned()))?;
    let deserializer = toml::de::Deserializer::parse(text)
        .map_err(|e| at(e.span(), String::new(), e.message().trim_end().to_owned()))?;
    let spans = Spans { root };
    let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path: Vec<Seg> = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                serde_path_to_error::Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
                _ => None,
            })
            .collect();
        let inner = e.into_inner();
        let message = inner.message().trim_end().to_owned();
        // toml reports a custom error inside an array at the array, and a
        // missing key at the document: the more specific of its span and
        // the deepest existing element of the key path wins.
        let located = spans.span(&path);
        let span = match inner.span() {
            Some(s) if s.start >= located.start => s,
            _ => located,
        };
        at(Some(span), path_string(&path), message)
    })?;
    validate(&config)
        .map_err(|(path, message)| at(Some(spans.span(&path)), path_string(&path), message))?;
    Ok(config)
}

/// Reads and parses `path`.
///
/// # Errors
/// Unreadable file, or as [`parse`].
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_owned(),
        position: None,
        key: String::new(),
        message: format!("cannot read: {e}"),
    })?;
    parse(&text, path)
}

type Invalid = (Vec<Seg>, String);

fn key(path: &[Seg], k: &str) -> Vec<Seg> {
    let mut p = path.to_vec();
    p.push(Seg::Key(k.to_owned()));
    p
}

fn idx(path: &[Seg], i: usize) -> Vec<Seg> {
    let mut p = path.to_vec();
    p.push(Seg::Index(i));
    p
}

fn family(ip: &IpAddr) -> &'static str {
    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
}

fn check_ifname(path: Vec<Seg>, name: &str) -> Result<(), Invalid> {
    if name.is_empty() || name.len() > IFNAMSIZ_MAX || name.contains(['/', ' ']) {
        return Err((
            path,
            format!("invalid interface name {name:?} (1..=15 bytes, no '/' or space)"),
        ));
    }
    Ok(())
}

/// Checks that cannot be expressed by types: cross references, ranges that
/// depend on other keys, uniqueness.
fn validate(config: &Config) -> Result<(), Invalid> {
    let vrrp = [Seg::Key("vrrp".to_owned())];
    let instances = key(&vrrp, "instance");
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut vrids: HashMap<(&str, u8, bool), usize> = HashMap::new();
    for (i, inst) in config.vrrp.instance.iter().enumerate() {
        let p = idx(&instances, i);
        if let Some(first) = names.insert(inst.name.as_str(), i) {
            return Err((
                key(&p, "name"),
                format!(
                    "duplicate instance name {:?} (also vrrp.instance[{first}])",
                    inst.name
                ),
            ));
        }
        check_ifname(key(&p, "interface"), &inst.interface)?;
        validate_instance(config, inst, &p)?;
        let slot = (
            inst.interface.as_str(),
            inst.virtual_router_id,
            inst.is_ipv6(),
        );
        if let Some(first) = vrids.insert(slot, i) {
            return Err((
                key(&p, "virtual_router_id"),
                format!(
                    "virtual_router_id {} already used for {} on {} by vrrp.instance[{first}]",
                    inst.virtual_router_id,
                    if inst.is_ipv6() { "IPv6" } else { "IPv4" },
                    inst.interface
                ),
            ));
        }
    }
    let mut member_of: HashMap<&str, usize> = HashMap::new();
    let groups = key(&vrrp, "sync_group");
    for (g, group) in config.vrrp.sync_group.iter().enumerate() {
        let p = idx(&groups, g);
        if config
            .vrrp
            .sync_group
            .iter()
            .take(g)
            .any(|o| o.name == group.name)
        {
            return Err((
                key(&p, "name"),
                format!("duplicate sync group name {:?}", group.name),
            ));
        }
        if group.members.is_empty() {
            return Err((
                key(&p, "members"),
                "at least one member required".to_owned(),
            ));
        }
        for (m, member) in group.members.iter().enumerate() {
            let mp = idx(&key(&p, "members"), m);
            if !names.contains_key(member.as_str()) {
                return Err((mp, format!("unknown instance {member:?}")));
            }
            if let Some(other) = member_of.insert(member.as_str(), g) {
                return Err((
                    mp,
                    format!("instance {member:?} is already a member of vrrp.sync_group[{other}]"),
                ));
            }
        }
    }
    let scripts = key(&vrrp, "script");
    for (name, script) in &config.vrrp.script {
        let p = key(&scripts, name);
        if script.script.trim().is_empty() {
            return Err((key(&p, "script"), "empty command".to_owned()));
        }
        if script.interval.is_zero() {
            return Err((key(&p, "interval"), "must be greater than 0".to_owned()));
        }
    }
    health::validate(&config.health)?;
    rstp::validate(config.rstp.as_ref())
}

fn validate_instance(config: &Config, inst: &VrrpInstance, p: &[Seg]) -> Result<(), Invalid> {
    let version = inst.effective_version();
    let vips = key(p, "virtual_ipaddress");
    let Some(first) = inst.virtual_ipaddress.first() else {
        return Err((vips, "at least one virtual address required".to_owned()));
    };
    if inst.virtual_ipaddress.len() > 255 {
        return Err((vips, "at most 255 virtual addresses".to_owned()));
    }
    let fam = family(&first.address);
    for (v, vip) in inst.virtual_ipaddress.iter().enumerate() {
        if family(&vip.address) != fam {
            return Err((
                idx(&vips, v),
                format!(
                    "{} address {} in an {fam} instance (one family per instance)",
                    family(&vip.address),
                    vip.address
                ),
            ));
        }
        if let Some(dev) = &vip.dev {
            check_ifname(idx(&vips, v), dev)?;
        }
    }
    if version == 2 && first.address.is_ipv6() {
        return Err((
            key(p, "version"),
            "VRRPv2 is IPv4 only (RFC 3768); use version = 3 for IPv6".to_owned(),
        ));
    }
    let adv = key(p, "advert_int");
    let ms = inst.advert_int.as_millis();
    if version == 2 {
        if !ms.is_multiple_of(1000) || !(1000..=255_000).contains(&ms) {
            return Err((
                adv,
                format!(
                    "invalid value {}, expected whole seconds 1..=255 for VRRPv2",
                    inst.advert_int.as_secs_f64()
                ),
            ));
        }
    } else if !ms.is_multiple_of(10) || !(10..=40_950).contains(&ms) {
        return Err((
            adv,
            format!(
                "invalid value {}, expected 0.01..=40.95 in steps of 0.01 for VRRPv3",
                inst.advert_int.as_secs_f64()
            ),
        ));
    }
    if inst.preempt_delay > Duration::from_secs(1000) {
        return Err((
            key(p, "preempt_delay"),
            format!(
                "invalid value {}, expected 0..=1000 seconds",
                inst.preempt_delay.as_secs_f64()
            ),
        ));
    }
    if let Some(auth) = &inst.authentication {
        if version != 2 {
            return Err((
                key(p, "authentication"),
                "authentication is VRRPv2 only (RFC 5798 removed it)".to_owned(),
            ));
        }
        if auth.auth_pass.is_empty() || auth.auth_pass.len() > 8 {
            return Err((
                key(&key(p, "authentication"), "auth_pass"),
                "expected 1..=8 bytes".to_owned(),
            ));
        }
    }
    if (inst.checksum.is_some() || inst.checksum_accept.is_some())
        && (version != 3 || first.address.is_ipv6())
    {
        let k = if inst.checksum.is_some() {
            "checksum"
        } else {
            "checksum_accept"
        };
        return Err((
            key(p, k),
            "checksum modes apply to VRRPv3 over IPv4 only".to_owned(),
        ));
    }
    if inst.checksum_accept.as_ref().is_some_and(Vec::is_empty) {
        return Err((
            key(p, "checksum_accept"),
            "at least one checksum form required".to_owned(),
        ));
    }
    if let Some(src) = inst.unicast_src_ip
        && family(&src) != fam
    {
        return Err((
            key(p, "unicast_src_ip"),
            format!("{} address {src} in an {fam} instance", family(&src)),
        ));
    }
    for (u, peer) in inst.unicast_peer.iter().enumerate() {
        if family(peer) != fam {
            return Err((
                idx(&key(p, "unicast_peer"), u),
                format!("{} address {peer} in an {fam} instance", family(peer)),
            ));
        }
    }
    if let Some(name) = inst.vmac_name() {
        check_ifname(key(p, "use_vmac"), &name)?;
    }
    for (t, track) in inst.track_interface.iter().enumerate() {
        check_ifname(idx(&key(p, "track_interface"), t), &track.name)?;
    }
    for (t, track) in inst.track_script.iter().enumerate() {
        if !config.vrrp.script.contains_key(&track.name) {
            return Err((
                key(&idx(&key(p, "track_script"), t), "name"),
                format!(
                    "unknown script {:?} (no [vrrp.script.{}])",
                    track.name, track.name
                ),
            ));
        }
    }
    for (t, track) in inst.track_file.iter().enumerate() {
        if !config.vrrp.track_file.contains_key(&track.name) {
            return Err((
                key(&idx(&key(p, "track_file"), t), "name"),
                format!(
                    "unknown track file {:?} (no [vrrp.track_file.{}])",
                    track.name, track.name
                ),
            ));
        }
    }
    Ok(())
}

impl Config {
    /// A `keepalived -t`-style summary of what the file defines.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "node {}: control socket {}\n",
            self.node.name.as_deref().unwrap_or("(host name)"),
            self.node.control_socket.display()
        ));
        out.push_str(&format!(
            "{} VRRP instance(s), {} sync group(s), {} script(s), {} track file(s)\n",
            self.vrrp.instance.len(),
            self.vrrp.sync_group.len(),
            self.vrrp.script.len(),
            self.vrrp.track_file.len()
        ));
        for inst in &self.vrrp.instance {
            let vips: Vec<String> = inst
                .virtual_ipaddress
                .iter()
                .map(ToString::to_string)
                .collect();
            out.push_str(&format!(
                "  {} on {}: VRID {} v{} priority {} advert {}s{}{} VIPs [{}]\n",
                inst.name,
                inst.interface,
                inst.virtual_router_id,
                inst.effective_version(),
                inst.priority,
                inst.advert_int.as_secs_f64(),
                if inst.nopreempt { " nopreempt" } else { "" },
                inst.vmac_name()
                    .map(|n| format!(" vmac {n}"))
                    .unwrap_or_default(),
                vips.join(", ")
            ));
        }
        for vs in &self.health.virtual_server {
            out.push_str(&format!(
                "  health {}: {} real server(s)\n",
                vs.display_name(),
                vs.real_server.len()
            ));
        }
        if let Some(r) = &self.rstp {
            out.push_str(&format!(
                "  rstp on {}: priority {}, {} port(s)\n",
                r.bridge,
                r.priority,
                r.port.len()
            ));
        }
        for g in &self.vrrp.sync_group {
            out.push_str(&format!(
                "  sync group {}: {}\n",
                g.name,
                g.members.join(", ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests;
