//! tshark as a test oracle: frames go into a classic pcap file (linktype 1,
//! Ethernet) and come back as the JSON that `tshark -r FILE -T json` prints,
//! so tests can compare our encoders with Wireshark's dissectors field by
//! field (`arp.opcode`, `icmpv6.checksum.status`, `vlan.id`, …).
//!
//! [`decode_pcap`] works on any capture file tshark reads (pcap or pcapng),
//! so live captures can reuse it.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

/// The tshark binary, looked up on `PATH`.
const TSHARK: &str = "tshark";

/// Why tshark could not decode a capture.
#[derive(Debug)]
pub enum TsharkError {
    /// `tshark` is not installed (`apt-get install tshark`).
    NotInstalled,
    /// Writing the temporary capture or running tshark failed.
    Io(io::Error),
    /// tshark exited unsuccessfully.
    Failed {
        /// Its exit status, as text.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// The output was not the JSON array tshark prints.
    Json(String),
}

impl fmt::Display for TsharkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TsharkError::NotInstalled => {
                write!(f, "tshark not installed (apt-get install -y tshark)")
            }
            TsharkError::Io(e) => write!(f, "tshark I/O: {e}"),
            TsharkError::Failed { status, stderr } => {
                write!(f, "tshark failed ({status}): {stderr}")
            }
            TsharkError::Json(e) => write!(f, "tshark JSON output: {e}"),
        }
    }
}

impl std::error::Error for TsharkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TsharkError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for TsharkError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::NotFound {
            TsharkError::NotInstalled
        } else {
            TsharkError::Io(e)
        }
    }
}

/// Whether `tshark -v` runs.
pub fn tshark_available() -> bool {
    Command::new(TSHARK)
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One decoded frame: the `_source.layers` object of tshark's JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// `{"frame": {...}, "eth": {...}, "arp": {...}, ...}`; fields are strings.
    pub layers: Value,
}

impl Packet {
    /// The first value of field `name` (e.g. `"arp.opcode"`), searching the
    /// layers depth-first; arrays (repeated fields) yield their first string.
    pub fn field(&self, name: &str) -> Option<String> {
        self.fields(name).into_iter().next()
    }

    /// Every value of field `name`, in order of appearance.
    pub fn fields(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        collect(&self.layers, name, &mut out);
        out
    }

    /// The protocol stack, from `frame.protocols` (e.g. `["eth", "ethertype", "arp"]`).
    pub fn protocols(&self) -> Vec<String> {
        self.field("frame.protocols")
            .map(|p| p.split(':').map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Whether the protocol stack includes `proto`.
    pub fn has_protocol(&self, proto: &str) -> bool {
        self.protocols().iter().any(|p| p == proto)
    }
}

fn collect(value: &Value, name: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == name {
                    strings(v, out);
                } else {
                    collect(v, name, out);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                collect(v, name, out);
            }
        }
        _ => {}
    }
}

/// The string leaves of a field value (a string, or an array of them when
/// tshark merged duplicate keys).
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => {
            for v in items {
                strings(v, out);
            }
        }
        Value::Number(n) => out.push(n.to_string()),
        Value::Bool(b) => out.push(b.to_string()),
        Value::Null | Value::Object(_) => {}
    }
}

/// Writes `frames` to a classic libpcap file (magic a1b2c3d4, version 2.4,
/// snaplen 65535, linktype 1 Ethernet), frame `i` stamped at `i` µs.
pub fn write_pcap(path: impl AsRef<Path>, frames: &[Vec<u8>]) -> io::Result<()> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&65_535u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, frame) in frames.iter().enumerate() {
        let len = u32::try_from(frame.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame longer than 4 GiB"))?;
        let usec = u32::try_from(i % 1_000_000).unwrap_or(0);
        let sec = u32::try_from(i / 1_000_000).unwrap_or(u32::MAX);
        out.extend_from_slice(&sec.to_le_bytes());
        out.extend_from_slice(&usec.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes()); // incl_len
        out.extend_from_slice(&len.to_le_bytes()); // orig_len
        out.extend_from_slice(frame);
    }
    let mut file = std::fs::File::create(path)?;
    file.write_all(&out)?;
    file.sync_all()
}

/// Decodes a capture file with `tshark -n -r FILE -T json --no-duplicate-keys`
/// (no name resolution; repeated fields such as the two `vlan` layers of a
/// QinQ frame become arrays). ICMPv6 checksums are always validated:
/// `icmpv6.checksum.status` is `"1"` for good, `"0"` for bad.
pub fn decode_pcap(path: impl AsRef<Path>) -> Result<Vec<Packet>, TsharkError> {
    let output = Command::new(TSHARK)
        .arg("-n")
        .arg("-r")
        .arg(path.as_ref())
        .args(["-T", "json", "--no-duplicate-keys"])
        .output()?;
    if !output.status.success() {
        return Err(TsharkError::Failed {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    parse_json(&output.stdout)
}

/// Parses the JSON array `tshark -T json` prints into packets.
pub fn parse_json(json: &[u8]) -> Result<Vec<Packet>, TsharkError> {
    // tshark prints nothing at all (not `[]`) for an empty capture.
    if json.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let value: Value =
        serde_json::from_slice(json).map_err(|e| TsharkError::Json(e.to_string()))?;
    let Value::Array(items) = value else {
        return Err(TsharkError::Json("top level is not an array".to_owned()));
    };
    items
        .into_iter()
        .map(|item| {
            item.get("_source")
                .and_then(|s| s.get("layers"))
                .cloned()
                .map(|layers| Packet { layers })
                .ok_or_else(|| TsharkError::Json("packet without _source.layers".to_owned()))
        })
        .collect()
}

/// Writes `frames` to a temporary pcap, decodes it and removes the file.
pub fn decode_frames(frames: &[Vec<u8>]) -> Result<Vec<Packet>, TsharkError> {
    let path = temp_pcap_path();
    let result = write_pcap(&path, frames)
        .map_err(TsharkError::Io)
        .and_then(|()| decode_pcap(&path));
    let _ = std::fs::remove_file(&path);
    result
}

/// A fresh path in the temp directory, unique per process and call.
fn temp_pcap_path() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("dsas-tshark-{}-{n}.pcap", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_layout() {
        let path = temp_pcap_path();
        write_pcap(&path, &[vec![1, 2, 3], vec![]]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(bytes.len(), 24 + 16 + 3 + 16);
        assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&bytes[20..24], &[1, 0, 0, 0]);
        assert_eq!(&bytes[32..40], &[3, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(&bytes[40..43], &[1, 2, 3]);
        assert_eq!(&bytes[47..51], &[1, 0, 0, 0]);
    }

    #[test]
    fn field_search_is_recursive_and_flattens_arrays() {
        let json = br#"[{"_source":{"layers":{
            "frame":{"frame.protocols":"eth:vlan:vlan:arp"},
            "vlan":[{"vlan.id":"200"},{"vlan.id":"100"}],
            "arp":{"arp.opcode":"1","tree":{"arp.deep":["x","y"]}}}}}]"#;
        let p = &parse_json(json).unwrap()[0];
        assert_eq!(p.field("arp.opcode").as_deref(), Some("1"));
        assert_eq!(p.field("vlan.id").as_deref(), Some("200"));
        assert_eq!(p.fields("vlan.id"), ["200", "100"]);
        assert_eq!(p.fields("arp.deep"), ["x", "y"]);
        assert_eq!(p.field("nope"), None);
        assert!(p.has_protocol("arp"));
        assert!(!p.has_protocol("ipv6"));
        assert_eq!(parse_json(b"  \n").unwrap(), Vec::<Packet>::new());
        assert!(matches!(parse_json(b"{}"), Err(TsharkError::Json(_))));
    }
}
