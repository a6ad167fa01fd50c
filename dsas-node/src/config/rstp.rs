//! `[rstp]`: one Linux bridge whose ports the RSTP role drives (IEEE
//! 802.1D-2004 clause 17), with the parameters of table 17-1 and the
//! per-port options `mstpctl` sets.
//!
//! ```toml
//! [rstp]
//! bridge = "br0"
//! priority = 32768            # 0..=61440, steps of 4096
//! hello_time = 2              # 1..=2 s
//! max_age = 20                # 6..=40 s
//! forward_delay = 15          # 4..=30 s; 2*(forward_delay-1) >= max_age >= 2*(hello_time+1)
//! tx_hold_count = 6           # 1..=10
//! force_protocol_version = "rstp"   # or "stp"
//!
//! [[rstp.port]]
//! name = "eth1"
//! priority = 128              # 0..=240, steps of 16
//! path_cost = 20000           # default: from the link speed (table 17-3)
//! admin_edge = false
//! auto_edge = true
//! admin_p2p = "auto"          # "auto" (full duplex), true, false
//! bpdu_guard = false
//! root_guard = false
//! restricted_tcn = false
//! bpdu_filter = false
//! loop_guard = false
//! ```

use std::fmt;

use serde::de;
use serde::{Deserialize, Serialize};

use super::{Invalid, Seg, check_ifname, idx, key};

/// `[rstp]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RstpConfig {
    /// The Linux bridge (its MAC is the bridge address).
    pub bridge: String,
    /// Bridge priority (default 32768).
    #[serde(default = "default_bridge_priority")]
    pub priority: u16,
    /// BridgeHelloTime in seconds (default 2).
    #[serde(default = "default_hello")]
    pub hello_time: u16,
    /// BridgeMaxAge in seconds (default 20).
    #[serde(default = "default_max_age")]
    pub max_age: u16,
    /// BridgeForwardDelay in seconds (default 15).
    #[serde(default = "default_forward_delay")]
    pub forward_delay: u16,
    /// TxHoldCount (default 6).
    #[serde(default = "default_tx_hold")]
    pub tx_hold_count: u8,
    /// ForceProtocolVersion (default `rstp`).
    #[serde(default)]
    pub force_protocol_version: ForceVersion,
    /// TC flood limit: topology changes accepted per port per second.
    #[serde(default)]
    pub tc_flood_limit: Option<u16>,
    /// `[[rstp.port]]`, numbered 1.. in this order.
    #[serde(default)]
    pub port: Vec<RstpPort>,
}

/// `force_protocol_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum ForceVersion {
    /// 802.1D-1998 STP (Config and TCN BPDUs).
    #[serde(rename = "stp")]
    Stp,
    /// RSTP.
    #[default]
    #[serde(rename = "rstp")]
    Rstp,
}

/// `admin_p2p`: `"auto"`, `true` or `false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum P2p {
    /// Point-to-point when full duplex.
    #[default]
    Auto,
    /// Always point-to-point.
    True,
    /// Never point-to-point.
    False,
}

impl<'de> Deserialize<'de> for P2p {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = P2p;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"auto\", true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<P2p, E> {
                Ok(if v { P2p::True } else { P2p::False })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<P2p, E> {
                match v {
                    "auto" => Ok(P2p::Auto),
                    "yes" | "true" => Ok(P2p::True),
                    "no" | "false" => Ok(P2p::False),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `[[rstp.port]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RstpPort {
    /// Bridge port device.
    pub name: String,
    /// Port priority (default 128).
    #[serde(default = "default_port_priority")]
    pub priority: u8,
    /// Path cost; default from the link speed.
    #[serde(default)]
    pub path_cost: Option<u32>,
    /// AdminEdge.
    #[serde(default)]
    pub admin_edge: bool,
    /// AutoEdge (default true).
    #[serde(default = "yes")]
    pub auto_edge: bool,
    /// adminPointToPointMAC.
    #[serde(default)]
    pub admin_p2p: P2p,
    /// BPDU guard.
    #[serde(default)]
    pub bpdu_guard: bool,
    /// Root guard (restrictedRole).
    #[serde(default)]
    pub root_guard: bool,
    /// restrictedTcn.
    #[serde(default)]
    pub restricted_tcn: bool,
    /// BPDU filter.
    #[serde(default)]
    pub bpdu_filter: bool,
    /// Loop guard.
    #[serde(default)]
    pub loop_guard: bool,
}

fn default_bridge_priority() -> u16 {
    32768
}
fn default_hello() -> u16 {
    2
}
fn default_max_age() -> u16 {
    20
}
fn default_forward_delay() -> u16 {
    15
}
fn default_tx_hold() -> u8 {
    6
}
fn default_port_priority() -> u8 {
    128
}
fn yes() -> bool {
    true
}

impl RstpConfig {
    /// The crate's bridge configuration for bridge address `mac`, ports
    /// numbered 1.. in file order (BPDU source MACs are filled in by the
    /// role).
    #[must_use]
    pub fn bridge_config(&self, mac: [u8; 6]) -> ::rstp::BridgeConfig {
        let mut c = ::rstp::BridgeConfig::new(mac, 0);
        c.priority = self.priority;
        c.hello_time = self.hello_time;
        c.max_age = self.max_age;
        c.forward_delay = self.forward_delay;
        c.tx_hold_count = self.tx_hold_count;
        c.force_protocol_version = match self.force_protocol_version {
            ForceVersion::Stp => ::rstp::ProtocolVersion::Stp,
            ForceVersion::Rstp => ::rstp::ProtocolVersion::Rstp,
        };
        c.tc_flood_limit = self.tc_flood_limit;
        c.ports = self
            .port
            .iter()
            .zip(1u16..)
            .map(|(p, n)| p.port_config(n))
            .collect();
        c
    }
}

impl RstpPort {
    /// The crate's port configuration as port `number`.
    #[must_use]
    pub fn port_config(&self, number: u16) -> ::rstp::PortConfig {
        let mut c = ::rstp::PortConfig::new(number);
        c.priority = self.priority;
        c.path_cost = self.path_cost;
        c.admin_edge = self.admin_edge;
        c.auto_edge = self.auto_edge;
        c.admin_p2p = match self.admin_p2p {
            P2p::Auto => ::rstp::AdminP2p::Auto,
            P2p::True => ::rstp::AdminP2p::ForceTrue,
            P2p::False => ::rstp::AdminP2p::ForceFalse,
        };
        c.bpdu_guard = self.bpdu_guard;
        c.restricted_role = self.root_guard;
        c.restricted_tcn = self.restricted_tcn;
        c.bpdu_filter = self.bpdu_filter;
        c.loop_guard = self.loop_guard;
        c
    }
}

/// Names, uniqueness, and the crate's own parameter checks (17.14).
pub(super) fn validate(r: Option<&RstpConfig>) -> Result<(), Invalid> {
    let Some(r) = r else { return Ok(()) };
    let root = [Seg::Key("rstp".to_owned())];
    check_ifname(key(&root, "bridge"), &r.bridge)?;
    let ports = key(&root, "port");
    if r.port.is_empty() {
        return Err((ports, "at least one port required".to_owned()));
    }
    if r.port.len() > 4095 {
        return Err((ports, "at most 4095 ports".to_owned()));
    }
    for (i, p) in r.port.iter().enumerate() {
        let pp = idx(&ports, i);
        check_ifname(key(&pp, "name"), &p.name)?;
        if p.name == r.bridge {
            return Err((
                key(&pp, "name"),
                "the bridge itself is not a port".to_owned(),
            ));
        }
        if let Some(first) = r.port.iter().take(i).position(|o| o.name == p.name) {
            return Err((
                key(&pp, "name"),
                format!("duplicate port {:?} (also rstp.port[{first}])", p.name),
            ));
        }
    }
    if let Err(e) = r.bridge_config([0; 6]).validate() {
        let path = match e {
            ::rstp::ConfigError::BridgePriority(_) => key(&root, "priority"),
            ::rstp::ConfigError::HelloTime(_) => key(&root, "hello_time"),
            ::rstp::ConfigError::MaxAge(_) | ::rstp::ConfigError::TimerRelation { .. } => {
                key(&root, "max_age")
            }
            ::rstp::ConfigError::ForwardDelay(_) => key(&root, "forward_delay"),
            ::rstp::ConfigError::TxHoldCount(_) => key(&root, "tx_hold_count"),
            ::rstp::ConfigError::PortPriority(prio) => {
                let i = r.port.iter().position(|p| p.priority == prio);
                key(&idx(&ports, i.unwrap_or(0)), "priority")
            }
            ::rstp::ConfigError::PathCost(c) => {
                let i = r.port.iter().position(|p| p.path_cost == Some(c));
                key(&idx(&ports, i.unwrap_or(0)), "path_cost")
            }
            ::rstp::ConfigError::PortNumber(_) | ::rstp::ConfigError::DuplicatePort(_) => ports,
        };
        return Err((path, e.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::parse;

    const BASE: &str = "[rstp]\nbridge = \"br0\"\nhello_time = 1\nmax_age = 6\nforward_delay = 4\n\n[[rstp.port]]\nname = \"eth1\"\n\n[[rstp.port]]\nname = \"eth2\"\nadmin_p2p = false\nroot_guard = true\npath_cost = 20000\n";

    fn err(text: &str) -> String {
        parse(text, Path::new("n.toml")).unwrap_err().to_string()
    }

    #[test]
    fn parses_and_maps_to_the_crate() {
        let c = parse(BASE, Path::new("n.toml")).unwrap();
        let r = c.rstp.unwrap();
        let b = r.bridge_config([2, 0, 0, 0, 0, 1]);
        assert_eq!((b.hello_time, b.max_age, b.forward_delay), (1, 6, 4));
        assert_eq!(b.priority, 32768);
        assert_eq!(b.ports.len(), 2);
        assert_eq!(b.ports[0].number, 1);
        assert_eq!(b.ports[0].admin_p2p, ::rstp::AdminP2p::Auto);
        assert!(b.ports[0].auto_edge);
        assert_eq!(b.ports[1].number, 2);
        assert_eq!(b.ports[1].admin_p2p, ::rstp::AdminP2p::ForceFalse);
        assert!(b.ports[1].restricted_role);
        assert_eq!(b.ports[1].path_cost, Some(20000));
        assert!(b.validate().is_ok());
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(
            err("[rstp]\nbridge = \"br0\"\nmax_age = 30\n[[rstp.port]]\nname = \"e1\"\n"),
            "n.toml:3:1: rstp.max_age: 2*(forward delay 15 - 1) >= max age 30 >= 2*(hello 2 + 1) violated"
        );
        assert_eq!(
            err("[rstp]\nbridge = \"br0\"\npriority = 100\n[[rstp.port]]\nname = \"e1\"\n"),
            "n.toml:3:1: rstp.priority: bridge priority 100 is not a multiple of 4096 in 0..=61440"
        );
        assert!(
            err("[rstp]\nbridge = \"br0\"\n[[rstp.port]]\nname = \"e1\"\n[[rstp.port]]\nname = \"e1\"\n")
                .contains("rstp.port[1].name: duplicate port \"e1\" (also rstp.port[0])")
        );
        assert!(
            err("[rstp]\nbridge = \"br0\"\n").contains("rstp.port: at least one port required")
        );
        assert!(
            err("[rstp]\nbridge = \"br0\"\n[[rstp.port]]\nname = \"e1\"\nadmin_p2p = \"maybe\"\n")
                .contains("rstp.port[0].admin_p2p")
        );
        assert!(
            err("[rstp]\nbridge = \"br0\"\n[[rstp.port]]\nname = \"e1\"\nbogus = 1\n")
                .contains("unknown field `bogus`")
        );
        assert!(
            err("[rstp]\nbridge = \"br0\"\n[[rstp.port]]\nname = \"e1\"\npriority = 7\n")
                .contains("rstp.port[0].priority: port priority 7")
        );
    }
}
