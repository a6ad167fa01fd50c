//! Read-only status views, the fields `mstpctl showbridge` / `showport`
//! print.

use core::fmt;

use crate::config::PortConfig;
use crate::id::{BridgeId, PortId};
use crate::port::{Port, PortCounters, PortRole, PortState};

/// Bridge status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeStatus {
    /// This bridge's identifier.
    pub bridge_id: BridgeId,
    /// Designated root.
    pub root: BridgeId,
    /// Root path cost.
    pub root_path_cost: u32,
    /// Root port number; `None` on the root bridge.
    pub root_port: Option<u16>,
    /// Whether this bridge is the root.
    pub is_root: bool,
    /// Max Age in use (rootTimes), seconds.
    pub max_age: u16,
    /// Hello Time of this bridge, seconds.
    pub hello_time: u16,
    /// Forward Delay in use (rootTimes), seconds.
    pub forward_delay: u16,
    /// Whether a topology change is in progress on any port (tcWhile ≠ 0).
    pub topology_change: bool,
    /// Events after which the machines had not settled (0 expected).
    pub unsettled_runs: u64,
}

/// Port status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortStatus {
    /// Port number.
    pub port: u16,
    /// Port identifier (priority and number).
    pub port_id: PortId,
    /// portEnabled.
    pub enabled: bool,
    /// Role.
    pub role: PortRole,
    /// State.
    pub state: PortState,
    /// Port path cost in use.
    pub path_cost: u32,
    /// Designated root (from the port priority vector).
    pub designated_root: BridgeId,
    /// Designated cost: root path cost of the designated bridge.
    pub designated_cost: u32,
    /// Designated bridge.
    pub designated_bridge: BridgeId,
    /// Designated port.
    pub designated_port: PortId,
    /// operEdge.
    pub oper_edge: bool,
    /// operPointToPointMAC.
    pub oper_p2p: bool,
    /// Whether RST BPDUs are sent (false: STP compatibility).
    pub send_rstp: bool,
    /// Whether a topology change is in progress (tcWhile ≠ 0).
    pub topology_change: bool,
    /// Loop guard holds the port discarding.
    pub loop_inconsistent: bool,
    /// BPDU guard disabled the port.
    pub bpdu_guard_tripped: bool,
    /// Counters.
    pub counters: PortCounters,
    /// Configuration.
    pub config: PortConfig,
}

impl PortStatus {
    pub(crate) fn of(p: &Port) -> Self {
        PortStatus {
            port: p.number(),
            port_id: p.port_id,
            enabled: p.port_enabled,
            role: p.role,
            state: p.state(),
            path_cost: p.path_cost,
            designated_root: p.port_priority.root,
            designated_cost: p.port_priority.root_path_cost,
            designated_bridge: p.port_priority.designated_bridge,
            designated_port: p.port_priority.designated_port,
            oper_edge: p.oper_edge,
            oper_p2p: p.oper_p2p,
            send_rstp: p.send_rstp,
            topology_change: p.tc_while != 0,
            loop_inconsistent: p.loop_inconsistent,
            bpdu_guard_tripped: p.guard_tripped,
            counters: p.counters,
            config: p.cfg,
        }
    }
}

impl fmt::Display for PortRole {
    /// The four-letter names `mstpctl showport` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortRole::Disabled => "Disa",
            PortRole::Root => "Root",
            PortRole::Designated => "Desg",
            PortRole::Alternate => "Altn",
            PortRole::Backup => "Back",
        })
    }
}

impl fmt::Display for PortState {
    /// The four-letter names `mstpctl showport` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortState::Discarding => "disc",
            PortState::Learning => "lear",
            PortState::Forwarding => "forw",
        })
    }
}

impl fmt::Display for PortStatus {
    /// One line in the layout of `mstpctl showport`: port, port ID, state,
    /// designated root, designated bridge, designated port, role; then
    /// path cost and flags.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>4} {} {} {} {} {} {} cost {}",
            self.port,
            self.port_id,
            self.state,
            self.designated_root,
            self.designated_bridge,
            self.designated_port,
            self.role,
            self.path_cost
        )?;
        for (on, flag) in [
            (self.oper_edge, " edge"),
            (self.oper_p2p, " p2p"),
            (!self.send_rstp, " stp"),
            (self.topology_change, " tc"),
            (self.loop_inconsistent, " loop-inconsistent"),
            (self.bpdu_guard_tripped, " bpdu-guard"),
        ] {
            if on {
                f.write_str(flag)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PortConfig;

    #[test]
    fn showport_line() {
        let id = BridgeId(0x8000_da68_e043_9903);
        let st = PortStatus {
            port: 1,
            port_id: PortId(0x8001),
            enabled: true,
            role: PortRole::Designated,
            state: PortState::Forwarding,
            path_cost: 20_000,
            designated_root: id,
            designated_cost: 0,
            designated_bridge: id,
            designated_port: PortId(0x8001),
            oper_edge: true,
            oper_p2p: true,
            send_rstp: true,
            topology_change: false,
            loop_inconsistent: false,
            bpdu_guard_tripped: false,
            counters: PortCounters::default(),
            config: PortConfig::new(1),
        };
        assert_eq!(
            st.to_string(),
            "   1 8.001 forw 8000.da68e0439903 8000.da68e0439903 8.001 Desg cost 20000 edge p2p"
        );
    }
}
