//! Per-port variables of clause 17.19 and the states of the per-port
//! machines, with the public role and state enums.

use crate::bpdu::{Bpdu, BpduRole};
use crate::config::{AdminP2p, Duplex, PortConfig, default_path_cost};
use crate::id::{MacAddr, PortId};
use crate::machines::{bdm, pim, ppm, prt, prx, pst, ptx, tcm};
use crate::priority::{PriorityVector, Times};

/// Port Role (17.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PortRole {
    /// Disabled Port: not operational or excluded from the tree.
    #[default]
    Disabled,
    /// Root Port: best path towards the root.
    Root,
    /// Designated Port: the LAN's path towards the root.
    Designated,
    /// Alternate Port: backup path towards the root through another bridge.
    Alternate,
    /// Backup Port: backup for a Designated Port of this bridge on the LAN.
    Backup,
}

/// Port State (17.4, 7.4): whether frames are learnt from and forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PortState {
    /// Neither learning nor forwarding.
    #[default]
    Discarding,
    /// Learning source addresses, not forwarding.
    Learning,
    /// Learning and forwarding.
    Forwarding,
}

/// infoIs (17.19.10): where the port priority vector came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum InfoIs {
    #[default]
    Disabled,
    Aged,
    Mine,
    Received,
}

/// rcvdInfo (17.19.24): result of rcvInfo() (17.21.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RcvdInfo {
    SuperiorDesignated,
    RepeatedDesignated,
    InferiorDesignated,
    InferiorRootAlternate,
    Other,
}

/// A validated received BPDU waiting for the Port Information machine.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RxBpdu {
    pub bpdu: Bpdu,
}

impl RxBpdu {
    /// Role conveyed: Config BPDUs and RST BPDUs of Unknown role count as
    /// Designated (9.3.3, 17.21.8).
    pub fn role(&self) -> BpduRole {
        match self.bpdu {
            Bpdu::Rst { body, .. } if body.flags.role() != BpduRole::Unknown => body.flags.role(),
            _ => BpduRole::Designated,
        }
    }

    /// An RST BPDU with a known role (Unknown ones are processed as Config).
    pub fn is_rst(&self) -> bool {
        matches!(self.bpdu, Bpdu::Rst { body, .. } if body.flags.role() != BpduRole::Unknown)
    }
}

/// Counters shown in the status view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortCounters {
    /// BPDUs accepted.
    pub rx_bpdu: u64,
    /// BPDUs dropped (malformed, invalid, filtered, looped back).
    pub rx_dropped: u64,
    /// BPDUs transmitted.
    pub tx_bpdu: u64,
    /// Topology changes received (TC flag or TCN).
    pub rx_tc: u64,
    /// FDB flushes requested.
    pub fdb_flushes: u64,
}

#[derive(Debug, Clone)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "802.1D 17.19 variables are booleans"
)]
pub(crate) struct Port {
    pub cfg: PortConfig,
    pub port_id: PortId,
    pub mac: MacAddr,
    // Link and derived operational parameters.
    pub link_up: bool,
    pub speed_mbps: u32,
    pub duplex: Duplex,
    pub guard_tripped: bool,
    pub port_enabled: bool,
    pub oper_p2p: bool,
    pub path_cost: u32,
    pub loop_inconsistent: bool,
    /// Whether the port has sent an RST BPDU in its present Designated
    /// role and for its present root since it took them; an agreement
    /// received before then answers an older offer (deviation, see the
    /// crate docs).
    pub offered: bool,
    pub root_guard_blocking: bool,
    pub tc_this_tick: u16,
    pub last_state: Option<PortState>,
    pub counters: PortCounters,
    pub rx: Option<RxBpdu>,
    // 17.19 variables.
    pub agree: bool,
    pub agreed: bool,
    pub designated_priority: PriorityVector,
    pub designated_times: Times,
    pub disputed: bool,
    pub fdb_flush: bool,
    pub forward: bool,
    pub forwarding: bool,
    pub info_is: InfoIs,
    pub learn: bool,
    pub learning: bool,
    pub mcheck: bool,
    pub msg_priority: PriorityVector,
    pub msg_times: Times,
    pub new_info: bool,
    pub oper_edge: bool,
    pub port_priority: PriorityVector,
    pub port_times: Times,
    pub proposed: bool,
    pub proposing: bool,
    pub rcvd_bpdu: bool,
    pub rcvd_info: RcvdInfo,
    pub rcvd_msg: bool,
    pub rcvd_rstp: bool,
    pub rcvd_stp: bool,
    pub rcvd_tc: bool,
    pub rcvd_tc_ack: bool,
    pub rcvd_tcn: bool,
    pub re_root: bool,
    pub reselect: bool,
    pub role: PortRole,
    pub selected: bool,
    pub selected_role: PortRole,
    pub send_rstp: bool,
    pub sync: bool,
    pub synced: bool,
    pub tc_ack: bool,
    pub tc_prop: bool,
    pub tx_count: u8,
    pub updt_info: bool,
    // 17.17 timers, whole seconds.
    pub edge_delay_while: u16,
    pub fd_while: u16,
    pub hello_when: u16,
    pub mdelay_while: u16,
    pub rb_while: u16,
    pub rcvd_info_while: u16,
    pub rr_while: u16,
    pub tc_while: u16,
    // Machine states.
    pub prx: prx::State,
    pub ppm: ppm::State,
    pub bdm: bdm::State,
    pub pim: pim::State,
    pub prt: prt::State,
    pub pst: pst::State,
    pub tcm: tcm::State,
    pub ptx: ptx::State,
}

impl Port {
    pub fn new(cfg: PortConfig, bridge_mac: MacAddr, times: Times) -> Self {
        Port {
            port_id: PortId::new(cfg.priority, cfg.number),
            mac: cfg.mac.unwrap_or(bridge_mac),
            cfg,
            link_up: false,
            speed_mbps: 0,
            duplex: Duplex::Full,
            guard_tripped: false,
            port_enabled: false,
            oper_p2p: false,
            path_cost: cfg.path_cost.unwrap_or_else(|| default_path_cost(0)),
            loop_inconsistent: false,
            offered: false,
            root_guard_blocking: false,
            tc_this_tick: 0,
            last_state: None,
            counters: PortCounters::default(),
            rx: None,
            agree: false,
            agreed: false,
            designated_priority: PriorityVector::default(),
            designated_times: times,
            disputed: false,
            fdb_flush: false,
            forward: false,
            forwarding: false,
            info_is: InfoIs::Disabled,
            learn: false,
            learning: false,
            mcheck: false,
            msg_priority: PriorityVector::default(),
            msg_times: times,
            new_info: false,
            oper_edge: false,
            port_priority: PriorityVector::default(),
            port_times: times,
            proposed: false,
            proposing: false,
            rcvd_bpdu: false,
            rcvd_info: RcvdInfo::Other,
            rcvd_msg: false,
            rcvd_rstp: false,
            rcvd_stp: false,
            rcvd_tc: false,
            rcvd_tc_ack: false,
            rcvd_tcn: false,
            re_root: false,
            reselect: false,
            role: PortRole::Disabled,
            selected: false,
            selected_role: PortRole::Disabled,
            send_rstp: false,
            sync: false,
            synced: false,
            tc_ack: false,
            tc_prop: false,
            tx_count: 0,
            updt_info: false,
            edge_delay_while: 0,
            fd_while: 0,
            hello_when: 0,
            mdelay_while: 0,
            rb_while: 0,
            rcvd_info_while: 0,
            rr_while: 0,
            tc_while: 0,
            prx: prx::State::Discard,
            ppm: ppm::State::CheckingRstp,
            bdm: bdm::State::NotEdge,
            pim: pim::State::Disabled,
            prt: prt::State::InitPort,
            pst: pst::State::Discarding,
            tcm: tcm::State::Inactive,
            ptx: ptx::State::TransmitInit,
        }
    }

    pub fn number(&self) -> u16 {
        self.cfg.number
    }

    /// Recomputes portEnabled, operPointToPointMAC and the path cost from the
    /// link and the configuration.
    pub fn update_oper(&mut self) {
        self.port_enabled = self.link_up && !self.guard_tripped;
        self.oper_p2p = match self.cfg.admin_p2p {
            AdminP2p::ForceTrue => true,
            AdminP2p::ForceFalse => false,
            AdminP2p::Auto => self.duplex == Duplex::Full,
        };
        self.path_cost = self
            .cfg
            .path_cost
            .unwrap_or_else(|| default_path_cost(self.speed_mbps));
    }

    /// 17.20.5 FwdDelay.
    pub fn fwd_delay(&self) -> u16 {
        self.designated_times.forward_delay
    }
    /// 17.20.6 HelloTime.
    pub fn hello_time(&self) -> u16 {
        self.designated_times.hello_time
    }
    /// 17.20.7 MaxAge.
    pub fn max_age(&self) -> u16 {
        self.designated_times.max_age
    }
    /// 17.20.4 forwardDelay: HelloTime when sending RST BPDUs.
    pub fn forward_delay(&self) -> u16 {
        if self.send_rstp {
            self.hello_time()
        } else {
            self.fwd_delay()
        }
    }
    /// 17.20.4 EdgeDelay.
    pub fn edge_delay(&self) -> u16 {
        if self.oper_p2p {
            crate::config::MIGRATE_TIME
        } else {
            self.max_age()
        }
    }
    /// Port State as reported to the forwarding plane.
    pub fn state(&self) -> PortState {
        match (self.learning, self.forwarding) {
            (_, true) => PortState::Forwarding,
            (true, false) => PortState::Learning,
            _ => PortState::Discarding,
        }
    }
}
