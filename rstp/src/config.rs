//! Bridge and port parameters (IEEE 802.1D-2004 17.13, 17.14, table 17-1,
//! 17-3) and the protection options operators ask for.

use crate::id::MacAddr;

/// Protocol version the bridge speaks (17.13.4 ForceProtocolVersion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum ProtocolVersion {
    /// 0: STP compatibility, Config and TCN BPDUs only.
    Stp,
    /// 2: RSTP (default).
    #[default]
    Rstp,
}

/// adminPointToPointMAC (6.4.3): forced or detected from the duplex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminP2p {
    /// Point-to-point when the link is full duplex (default).
    #[default]
    Auto,
    /// Always point-to-point.
    ForceTrue,
    /// Never point-to-point (shared medium).
    ForceFalse,
}

/// Link duplex reported with `LinkUp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Duplex {
    /// Full duplex: point-to-point under [`AdminP2p::Auto`].
    #[default]
    Full,
    /// Half duplex: shared medium.
    Half,
}

/// Per-port parameters (17.13, 17.14) and protection options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortConfig {
    /// Port number, 1..=4095 (9.2.7).
    pub number: u16,
    /// Port priority, 0..=240 in steps of 16 (default 128).
    pub priority: u8,
    /// Administrative path cost 1..=200 000 000; `None` derives it from the
    /// link speed (table 17-3).
    pub path_cost: Option<u32>,
    /// AdminEdge (17.13.1): start as an edge port.
    pub admin_edge: bool,
    /// AutoEdge (17.13.3): detect edge ports (default on).
    pub auto_edge: bool,
    /// adminPointToPointMAC.
    pub admin_p2p: AdminP2p,
    /// Source MAC of BPDUs sent on this port; `None` uses the bridge MAC.
    pub mac: Option<MacAddr>,
    /// BPDU guard: a BPDU received on this port disables it until the link
    /// goes down and up again or the port is reconfigured.
    pub bpdu_guard: bool,
    /// BPDU filter: neither send nor process BPDUs on this port.
    pub bpdu_filter: bool,
    /// Root guard, 802.1Q 13.25.36 restrictedRole: never selected as Root
    /// Port; superior information makes it Alternate (discarding).
    pub restricted_role: bool,
    /// 802.1Q 13.25.37 restrictedTcn: received topology changes are not
    /// propagated to other ports.
    pub restricted_tcn: bool,
    /// Loop guard: a Root, Alternate or Backup port whose received
    /// information ages out stays discarding (as Alternate) instead of
    /// becoming Designated, until a BPDU arrives again.
    pub loop_guard: bool,
}

impl PortConfig {
    /// Defaults for port `number`.
    #[must_use]
    pub fn new(number: u16) -> Self {
        PortConfig {
            number,
            priority: 128,
            path_cost: None,
            admin_edge: false,
            auto_edge: true,
            admin_p2p: AdminP2p::Auto,
            mac: None,
            bpdu_guard: false,
            bpdu_filter: false,
            restricted_role: false,
            restricted_tcn: false,
            loop_guard: false,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=4095).contains(&self.number) {
            return Err(ConfigError::PortNumber(self.number));
        }
        if self.priority & 0x0f != 0 || self.priority > 240 {
            return Err(ConfigError::PortPriority(self.priority));
        }
        if let Some(c) = self.path_cost
            && !(1..=MAX_PATH_COST).contains(&c)
        {
            return Err(ConfigError::PathCost(c));
        }
        Ok(())
    }
}

/// Bridge parameters (17.13, table 17-1). Times in whole seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeConfig {
    /// Bridge address (lower 48 bits of the Bridge Identifier).
    pub mac: MacAddr,
    /// Bridge priority, 0..=61440 in steps of 4096 (default 32768).
    pub priority: u16,
    /// BridgeHelloTime, 1..=2 s (default 2).
    pub hello_time: u16,
    /// BridgeMaxAge, 6..=40 s (default 20).
    pub max_age: u16,
    /// BridgeForwardDelay, 4..=30 s (default 15).
    pub forward_delay: u16,
    /// TxHoldCount, 1..=10 (default 6).
    pub tx_hold_count: u8,
    /// ForceProtocolVersion.
    pub force_protocol_version: ProtocolVersion,
    /// TC flood limit: at most this many topology-change notifications
    /// accepted per port per second; further ones are dropped and reported.
    pub tc_flood_limit: Option<u16>,
    /// The ports.
    pub ports: Vec<PortConfig>,
}

/// MigrateTime (17.13.9): 3 s, not configurable.
pub const MIGRATE_TIME: u16 = 3;
/// Largest path cost (17.14).
pub const MAX_PATH_COST: u32 = 200_000_000;

impl BridgeConfig {
    /// Defaults of table 17-1 for a bridge with address `mac` and ports
    /// numbered 1..=`ports`.
    #[must_use]
    pub fn new(mac: MacAddr, ports: u16) -> Self {
        BridgeConfig {
            mac,
            priority: 32768,
            hello_time: 2,
            max_age: 20,
            forward_delay: 15,
            tx_hold_count: 6,
            force_protocol_version: ProtocolVersion::Rstp,
            tc_flood_limit: None,
            ports: (1..=ports).map(PortConfig::new).collect(),
        }
    }

    /// Checks ranges and 17.14's 2·(FwdDelay − 1) ≥ MaxAge ≥ 2·(Hello + 1).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.priority.is_multiple_of(4096) || self.priority > 61440 {
            return Err(ConfigError::BridgePriority(self.priority));
        }
        if !(1..=2).contains(&self.hello_time) {
            return Err(ConfigError::HelloTime(self.hello_time));
        }
        if !(6..=40).contains(&self.max_age) {
            return Err(ConfigError::MaxAge(self.max_age));
        }
        if !(4..=30).contains(&self.forward_delay) {
            return Err(ConfigError::ForwardDelay(self.forward_delay));
        }
        let fwd = u32::from(self.forward_delay);
        let age = u32::from(self.max_age);
        let hello = u32::from(self.hello_time);
        if fwd.saturating_sub(1).saturating_mul(2) < age
            || age < hello.saturating_add(1).saturating_mul(2)
        {
            return Err(ConfigError::TimerRelation {
                forward_delay: self.forward_delay,
                max_age: self.max_age,
                hello_time: self.hello_time,
            });
        }
        if !(1..=10).contains(&self.tx_hold_count) {
            return Err(ConfigError::TxHoldCount(self.tx_hold_count));
        }
        let mut seen = Vec::with_capacity(self.ports.len());
        for p in &self.ports {
            p.validate()?;
            if seen.contains(&p.number) {
                return Err(ConfigError::DuplicatePort(p.number));
            }
            seen.push(p.number);
        }
        Ok(())
    }
}

/// A rejected configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Bridge priority not a multiple of 4096 up to 61440.
    #[error("bridge priority {0} is not a multiple of 4096 in 0..=61440")]
    BridgePriority(u16),
    /// Hello time outside 1..=2 s.
    #[error("hello time {0} s outside 1..=2")]
    HelloTime(u16),
    /// Max age outside 6..=40 s.
    #[error("max age {0} s outside 6..=40")]
    MaxAge(u16),
    /// Forward delay outside 4..=30 s.
    #[error("forward delay {0} s outside 4..=30")]
    ForwardDelay(u16),
    /// 2·(FwdDelay − 1) ≥ MaxAge ≥ 2·(Hello + 1) violated (17.14).
    #[error(
        "2*(forward delay {forward_delay} - 1) >= max age {max_age} >= 2*(hello {hello_time} + 1) violated"
    )]
    TimerRelation {
        /// Forward delay.
        forward_delay: u16,
        /// Max age.
        max_age: u16,
        /// Hello time.
        hello_time: u16,
    },
    /// TxHoldCount outside 1..=10.
    #[error("tx hold count {0} outside 1..=10")]
    TxHoldCount(u8),
    /// Port number outside 1..=4095.
    #[error("port number {0} outside 1..=4095")]
    PortNumber(u16),
    /// Port priority not a multiple of 16 up to 240.
    #[error("port priority {0} is not a multiple of 16 in 0..=240")]
    PortPriority(u8),
    /// Path cost outside 1..=200 000 000.
    #[error("path cost {0} outside 1..=200000000")]
    PathCost(u32),
    /// The same port number twice.
    #[error("port {0} configured twice")]
    DuplicatePort(u16),
}

/// Default path cost for a link speed (17.14, table 17-3): 2·10¹⁰ divided
/// by the speed in kb/s, within 1..=200 000 000. An unknown speed (0) is
/// costed as 10 Mb/s.
#[must_use]
pub fn default_path_cost(speed_mbps: u32) -> u32 {
    if speed_mbps == 0 {
        return 2_000_000;
    }
    let kbps = u64::from(speed_mbps).saturating_mul(1000);
    let cost = 20_000_000_000u64
        .checked_div(kbps)
        .unwrap_or(u64::from(MAX_PATH_COST));
    u32::try_from(cost)
        .unwrap_or(MAX_PATH_COST)
        .clamp(1, MAX_PATH_COST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_cost_table_17_3() {
        for (speed, cost) in [
            (10, 2_000_000),
            (100, 200_000),
            (1_000, 20_000),
            (10_000, 2_000),
            (100_000, 200),
            (1_000_000, 20),
            (10_000_000, 2),
            (100_000_000, 1),
            (u32::MAX, 1),
            (0, 2_000_000),
        ] {
            assert_eq!(default_path_cost(speed), cost, "{speed} Mb/s");
        }
    }

    #[test]
    fn timer_relation() {
        let ok = BridgeConfig::new([2, 0, 0, 0, 0, 1], 2);
        assert_eq!(ok.validate(), Ok(()));
        let mut c = ok.clone();
        c.max_age = 40;
        c.forward_delay = 20; // 2*(20-1) = 38 < 40
        assert!(matches!(
            c.validate(),
            Err(ConfigError::TimerRelation { .. })
        ));
        c.forward_delay = 21;
        assert_eq!(c.validate(), Ok(()));
        let mut c = ok.clone();
        c.max_age = 6;
        c.hello_time = 2; // 6 >= 2*(2+1)
        assert_eq!(c.validate(), Ok(()));
        c.max_age = 5;
        assert_eq!(c.validate(), Err(ConfigError::MaxAge(5)));
        for (field, v, err) in [
            (0, 41, ConfigError::MaxAge(41)),
            (1, 3, ConfigError::HelloTime(3)),
            (1, 0, ConfigError::HelloTime(0)),
            (2, 31, ConfigError::ForwardDelay(31)),
            (2, 3, ConfigError::ForwardDelay(3)),
        ] {
            let mut c = ok.clone();
            match field {
                0 => c.max_age = v,
                1 => c.hello_time = v,
                _ => c.forward_delay = v,
            }
            assert_eq!(c.validate(), Err(err));
        }
    }

    #[test]
    fn other_ranges() {
        let ok = BridgeConfig::new([2, 0, 0, 0, 0, 1], 2);
        let mut c = ok.clone();
        c.priority = 4097;
        assert_eq!(c.validate(), Err(ConfigError::BridgePriority(4097)));
        let mut c = ok.clone();
        c.tx_hold_count = 11;
        assert_eq!(c.validate(), Err(ConfigError::TxHoldCount(11)));
        let mut c = ok.clone();
        c.ports[1].number = 1;
        assert_eq!(c.validate(), Err(ConfigError::DuplicatePort(1)));
        let mut c = ok.clone();
        c.ports[0].number = 4096;
        assert_eq!(c.validate(), Err(ConfigError::PortNumber(4096)));
        let mut c = ok.clone();
        c.ports[0].priority = 100;
        assert_eq!(c.validate(), Err(ConfigError::PortPriority(100)));
        let mut c = ok;
        c.ports[0].path_cost = Some(0);
        assert_eq!(c.validate(), Err(ConfigError::PathCost(0)));
    }
}
