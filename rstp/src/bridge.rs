//! One RSTP bridge and its ports (802.1D-2004 17.18 per-bridge variables),
//! driven through the workspace's sans-IO convention.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::bpdu::{Bpdu, BpduError, BpduFrame, Flags};
use crate::config::{BridgeConfig, ConfigError, Duplex, PortConfig, ProtocolVersion};
use crate::id::{BridgeId, PortId};
use crate::machines::{Ctx, Fx, bdm, pim, ppm, prs, prt, prx, pst, pti, ptx, tcm};
use crate::port::{Port, PortRole, RxBpdu};
use crate::priority::{PriorityVector, Times};
use crate::status::{BridgeStatus, PortStatus};
use crate::time::add;

/// The timer tick of 17.22: every timer counts whole seconds.
pub const TICK: Duration = Duration::from_secs(1);
/// Upper bound on machine rounds per event; reaching it is counted in
/// [`BridgeStatus::unsettled_runs`] (never expected).
const MAX_ROUNDS: usize = 512;
/// Most ticks replayed by one `handle_timeout` after a long pause.
const MAX_CATCH_UP_TICKS: u32 = 3600;

/// An event for [`Bridge::handle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// A frame received on `port`: the whole Ethernet frame, destination
    /// `01:80:c2:00:00:00`, 802.3/LLC.
    Bpdu {
        /// Port number.
        port: u16,
        /// Frame bytes.
        bytes: &'a [u8],
    },
    /// Carrier up with the negotiated speed and duplex (path cost,
    /// operPointToPointMAC).
    LinkUp {
        /// Port number.
        port: u16,
        /// Speed in Mb/s; 0 if unknown.
        speed_mbps: u32,
        /// Duplex.
        duplex: Duplex,
    },
    /// Carrier down.
    LinkDown {
        /// Port number.
        port: u16,
    },
    /// mcheck (17.19.13): try RSTP again on a port that fell back to STP.
    Mcheck {
        /// Port number.
        port: u16,
    },
    /// Replace a port's configuration (cost, priority, edge, p2p, guards).
    /// An invalid configuration is reported as `Dropped`.
    SetPortConfig(PortConfig),
    /// Change the bridge priority; rounded down to a multiple of 4096 (as
    /// Open vSwitch does) and capped at 61440.
    SetBridgePriority(u16),
}

/// What a port protection feature did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtectionEvent {
    /// BPDU guard: a BPDU arrived, the port is disabled until the link goes
    /// down and up or the port is reconfigured.
    BpduGuardTripped,
    /// Root guard: superior information on a restricted-role port; the port
    /// is kept Alternate.
    RootGuardBlocked,
    /// Loop guard: the port's information aged out; it stays discarding.
    LoopInconsistent,
    /// Loop guard: a BPDU arrived again on a loop-inconsistent port.
    LoopConsistent,
    /// TC flood limit exceeded this second; further TCs are ignored.
    TcFloodLimited,
}

/// Why an input was not processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// No such port number.
    UnknownPort,
    /// The frame is not a valid BPDU (9.3.4).
    Malformed(BpduError),
    /// The port is disabled (link down or BPDU guard).
    PortDisabled,
    /// Our own BPDU looped back to the port that sent it (9.3.4 a).
    Loopback,
    /// Config BPDU with Message Age ≥ Max Age (9.3.4 a).
    MessageAgeExceeded,
    /// Max Age outside 6–40 s, Forward Delay outside 4–30 s or Hello Time
    /// outside 1–2 s (FreeBSD bridgestp range checks).
    InvalidTimers,
    /// BPDU filter on the port.
    BpduFilter,
    /// TC flood limit: this TCN was ignored.
    TcFloodLimit,
    /// `SetPortConfig` rejected.
    InvalidConfig(ConfigError),
}

/// Something for the caller to do or know. Drain with
/// [`Bridge::poll_output`] until `None`.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send `frame` (a padded 802.3 frame) on `port`.
    Transmit {
        /// Port number.
        port: u16,
        /// Frame bytes.
        frame: Vec<u8>,
    },
    /// Program the port's forwarding state.
    SetPortState {
        /// Port number.
        port: u16,
        /// New state.
        state: crate::port::PortState,
    },
    /// Flush the filtering database entries learnt on `port` (17.21.4).
    FlushFdb {
        /// Port number.
        port: u16,
    },
    /// The port's role changed.
    RoleChanged {
        /// Port number.
        port: u16,
        /// New role.
        role: PortRole,
    },
    /// The root or root port changed.
    RootChanged {
        /// Designated root.
        root: BridgeId,
        /// Root port number; `None` when this bridge is the root.
        root_port: Option<u16>,
        /// Root path cost.
        root_path_cost: u32,
    },
    /// A protection feature acted on `port`.
    Protection {
        /// Port number.
        port: u16,
        /// What happened.
        event: ProtectionEvent,
    },
    /// An input was ignored.
    Dropped {
        /// Port number (0 for bridge-level inputs).
        port: u16,
        /// Why.
        reason: DropReason,
    },
}

/// An RSTP bridge: per-bridge variables (17.18) and its ports.
#[derive(Debug, Clone)]
pub struct Bridge {
    pub(crate) force_protocol_version: ProtocolVersion,
    pub(crate) tx_hold_count: u8,
    pub(crate) tc_flood_limit: Option<u16>,
    pub(crate) bridge_id: BridgeId,
    pub(crate) bridge_times: Times,
    pub(crate) root_priority: PriorityVector,
    pub(crate) root_port_id: PortId,
    pub(crate) root_times: Times,
    pub(crate) ports: Vec<Port>,
    pub(crate) outputs: VecDeque<Output>,
    next_tick: Instant,
    unsettled_runs: u64,
}

impl Bridge {
    /// Validates `config` and starts every machine at BEGIN (all ports link
    /// down until `LinkUp`).
    pub fn new(config: BridgeConfig, now: Instant) -> Result<Self, ConfigError> {
        config.validate()?;
        let bridge_id = BridgeId::new(config.priority, config.mac);
        let bridge_times = Times {
            message_age: 0,
            max_age: config.max_age,
            forward_delay: config.forward_delay,
            hello_time: config.hello_time,
        };
        let ports = config
            .ports
            .iter()
            .map(|pc| Port::new(*pc, config.mac, bridge_times))
            .collect();
        let mut b = Bridge {
            force_protocol_version: config.force_protocol_version,
            tx_hold_count: config.tx_hold_count,
            tc_flood_limit: config.tc_flood_limit,
            bridge_id,
            bridge_times,
            root_priority: PriorityVector {
                root: bridge_id,
                designated_bridge: bridge_id,
                ..PriorityVector::default()
            },
            root_port_id: PortId(0),
            root_times: bridge_times,
            ports,
            outputs: VecDeque::new(),
            next_tick: add(now, TICK),
            unsettled_runs: 0,
        };
        prs::updt_role_disabled_tree(&mut b);
        for i in 0..b.ports.len() {
            b.begin_port(i);
        }
        b.run();
        Ok(b)
    }

    /// BEGIN for one port: every per-port machine to its initial state.
    fn begin_port(&mut self, i: usize) {
        let ctx = self.ctx(i);
        let Bridge { ports, outputs, .. } = self;
        let Some(p) = ports.get_mut(i) else {
            return;
        };
        let mut fx = Fx {
            out: outputs,
            sync_tree: false,
            reroot_tree: false,
            tc_prop_tree: false,
        };
        p.update_oper();
        prx::enter_discard(p);
        ppm::enter_checking_rstp(p, &ctx);
        bdm::begin(p);
        pim::enter_disabled(p);
        prt::enter_init_port(p, &mut fx);
        p.last_state = None;
        pst::enter_discarding(p, &mut fx);
        tcm::enter_inactive(p, &mut fx);
        ptx::enter_transmit_init(p);
    }

    fn rstp_version(&self) -> bool {
        self.force_protocol_version >= ProtocolVersion::Rstp
    }

    fn ctx(&self, i: usize) -> Ctx {
        Ctx {
            rstp_version: self.rstp_version(),
            tx_hold_count: self.tx_hold_count,
            all_synced: self.ports.iter().all(|p| {
                p.selected
                    && !p.updt_info
                    && p.role == p.selected_role
                    && (p.role == PortRole::Root || p.synced)
            }),
            re_rooted: self
                .ports
                .iter()
                .enumerate()
                .all(|(j, p)| j == i || p.rr_while == 0),
            root_times: self.root_times,
        }
    }

    fn step_machine(
        &mut self,
        i: usize,
        machine: fn(&mut Port, &Ctx, &mut Fx<'_>) -> bool,
    ) -> bool {
        let ctx = self.ctx(i);
        let Bridge { ports, outputs, .. } = self;
        let Some(p) = ports.get_mut(i) else {
            return false;
        };
        let mut fx = Fx {
            out: outputs,
            sync_tree: false,
            reroot_tree: false,
            tc_prop_tree: false,
        };
        let changed = machine(p, &ctx, &mut fx);
        let (sync, reroot, tc_prop) = (fx.sync_tree, fx.reroot_tree, fx.tc_prop_tree);
        for (j, q) in ports.iter_mut().enumerate() {
            if sync {
                q.sync = true;
            }
            if reroot {
                q.re_root = true;
            }
            if tc_prop && j != i {
                q.tc_prop = true;
            }
        }
        changed
    }

    /// Runs every machine until none makes a transition. Port Transmit runs
    /// once the others have settled, so a BPDU carries the settled role and
    /// state rather than a transient one (it may not be sent mid-transition,
    /// e.g. with the Forwarding flag of a port about to discard).
    fn run(&mut self) {
        const MACHINES: [fn(&mut Port, &Ctx, &mut Fx<'_>) -> bool; 7] = [
            prx::step,
            ppm::step,
            bdm::step,
            pim::step,
            prt::step,
            pst::step,
            tcm::step,
        ];
        for _ in 0..MAX_ROUNDS {
            let mut changed = prs::step(self);
            for i in 0..self.ports.len() {
                for m in MACHINES {
                    changed |= self.step_machine(i, m);
                }
            }
            if !changed {
                for i in 0..self.ports.len() {
                    changed |= self.step_machine(i, ptx::step);
                }
                if !changed {
                    return;
                }
            }
        }
        self.unsettled_runs = self.unsettled_runs.saturating_add(1);
    }

    fn index(&self, port: u16) -> Option<usize> {
        self.ports.iter().position(|p| p.number() == port)
    }

    fn drop(&mut self, port: u16, reason: DropReason) {
        if let Some(p) = self.index(port).and_then(|i| self.ports.get_mut(i)) {
            p.counters.rx_dropped = p.counters.rx_dropped.saturating_add(1);
        }
        self.outputs.push_back(Output::Dropped { port, reason });
    }

    /// Processes one input; never fails. Due timer ticks run first.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) {
        self.handle_timeout(now);
        match input {
            Input::Bpdu { port, bytes } => self.receive(port, bytes),
            Input::LinkUp {
                port,
                speed_mbps,
                duplex,
            } => self.with_port(port, |p| {
                p.link_up = true;
                p.speed_mbps = speed_mbps;
                p.duplex = duplex;
                p.update_oper();
                p.reselect = true;
                p.selected = false;
            }),
            Input::LinkDown { port } => self.with_port(port, |p| {
                p.link_up = false;
                p.guard_tripped = false;
                p.loop_inconsistent = false;
                p.update_oper();
            }),
            Input::Mcheck { port } => {
                let rstp = self.rstp_version();
                self.with_port(port, |p| {
                    if rstp && p.port_enabled {
                        p.mcheck = true;
                    }
                });
            }
            Input::SetPortConfig(cfg) => self.set_port_config(cfg),
            Input::SetBridgePriority(prio) => {
                let prio = prio.min(61440) & 0xf000;
                self.bridge_id = BridgeId::new(prio, self.bridge_id.mac());
                for p in &mut self.ports {
                    p.reselect = true;
                    p.selected = false;
                }
            }
        }
        self.run();
    }

    fn with_port(&mut self, port: u16, f: impl FnOnce(&mut Port)) {
        match self.index(port).and_then(|i| self.ports.get_mut(i)) {
            Some(p) => f(p),
            None => self.drop(port, DropReason::UnknownPort),
        }
    }

    fn set_port_config(&mut self, cfg: PortConfig) {
        if let Err(e) = cfg.validate() {
            self.drop(cfg.number, DropReason::InvalidConfig(e));
            return;
        }
        let bridge_mac = self.bridge_id.mac();
        self.with_port(cfg.number, |p| {
            let old = p.cfg;
            p.cfg = cfg;
            p.port_id = PortId::new(cfg.priority, cfg.number);
            p.mac = cfg.mac.unwrap_or(bridge_mac);
            // Reconfiguring re-enables a port BPDU guard disabled.
            p.guard_tripped = false;
            if !cfg.loop_guard {
                p.loop_inconsistent = false;
            }
            if old.admin_edge != cfg.admin_edge {
                p.oper_edge = cfg.admin_edge;
                bdm::begin(p);
            }
            p.update_oper();
            p.reselect = true;
            p.selected = false;
        });
    }

    /// Port Receive: frame validation (9.3.4), protection, then rcvdBpdu.
    fn receive(&mut self, port: u16, frame: &[u8]) {
        let Some(i) = self.index(port) else {
            self.drop(port, DropReason::UnknownPort);
            return;
        };
        let bpdu = match BpduFrame::parse(frame) {
            Ok(f) => f.bpdu,
            Err(e) => return self.drop(port, DropReason::Malformed(e)),
        };
        let own_mac = self.bridge_id.mac();
        let limit = self.tc_flood_limit;
        let Some(p) = self.ports.get_mut(i) else {
            return;
        };
        let verdict = check(p, own_mac, &bpdu);
        if let Err(reason) = verdict {
            return self.drop(port, reason);
        }
        if p.cfg.bpdu_guard {
            p.guard_tripped = true;
            p.update_oper();
            p.counters.rx_dropped = p.counters.rx_dropped.saturating_add(1);
            self.outputs.push_back(Output::Protection {
                port,
                event: ProtectionEvent::BpduGuardTripped,
            });
            return;
        }
        let mut bpdu = bpdu;
        let is_tc = match &bpdu {
            Bpdu::Tcn { .. } => true,
            Bpdu::Config { body, .. } | Bpdu::Rst { body, .. } => body.flags.has(Flags::TC),
        };
        if is_tc {
            p.counters.rx_tc = p.counters.rx_tc.saturating_add(1);
            p.tc_this_tick = p.tc_this_tick.saturating_add(1);
            if let Some(limit) = limit.filter(|l| p.tc_this_tick > *l) {
                if p.tc_this_tick == limit.saturating_add(1) {
                    self.outputs.push_back(Output::Protection {
                        port,
                        event: ProtectionEvent::TcFloodLimited,
                    });
                }
                match &mut bpdu {
                    Bpdu::Tcn { .. } => return self.drop(port, DropReason::TcFloodLimit),
                    Bpdu::Config { body, .. } | Bpdu::Rst { body, .. } => {
                        body.flags.0 &= !Flags::TC;
                    }
                }
            }
        }
        p.counters.rx_bpdu = p.counters.rx_bpdu.saturating_add(1);
        if p.loop_inconsistent {
            p.loop_inconsistent = false;
            p.reselect = true;
            p.selected = false;
            self.outputs.push_back(Output::Protection {
                port,
                event: ProtectionEvent::LoopConsistent,
            });
        }
        p.rx = Some(RxBpdu { bpdu });
        p.rcvd_bpdu = true;
    }

    /// Runs the 1 s timer ticks (17.22) that are due; a spurious call does
    /// nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut n = 0u32;
        while now >= self.next_tick {
            if n >= MAX_CATCH_UP_TICKS {
                self.next_tick = add(now, TICK);
                break;
            }
            self.tick();
            self.run();
            self.next_tick = add(self.next_tick, TICK);
            n = n.saturating_add(1);
        }
    }

    /// Port Timers state machine (17.22): one tick on every port.
    fn tick(&mut self) {
        for p in &mut self.ports {
            pti::tick(p);
        }
    }

    /// The next output, or `None` when drained.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When `handle_timeout` should next be called (the next 1 s tick).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next_tick)
    }

    /// Whether `input` names a port of this bridge (for demultiplexing).
    #[must_use]
    pub fn accepts(&self, input: &Input<'_>) -> bool {
        match input {
            Input::Bpdu { port, .. }
            | Input::LinkUp { port, .. }
            | Input::LinkDown { port }
            | Input::Mcheck { port } => self.index(*port).is_some(),
            Input::SetPortConfig(c) => self.index(c.number).is_some(),
            Input::SetBridgePriority(_) => true,
        }
    }

    /// Bridge-level status (`mstpctl showbridge`).
    #[must_use]
    pub fn status(&self) -> BridgeStatus {
        BridgeStatus {
            bridge_id: self.bridge_id,
            root: self.root_priority.root,
            root_path_cost: self.root_priority.root_path_cost,
            root_port: self
                .ports
                .iter()
                .find(|p| p.port_id == self.root_port_id && self.root_port_id != PortId(0))
                .map(Port::number),
            is_root: self.root_priority.root == self.bridge_id,
            max_age: self.root_times.max_age,
            hello_time: self.bridge_times.hello_time,
            forward_delay: self.root_times.forward_delay,
            topology_change: self.ports.iter().any(|p| p.tc_while != 0),
            unsettled_runs: self.unsettled_runs,
        }
    }

    /// Per-port status (`mstpctl showport`), `None` for an unknown port.
    #[must_use]
    pub fn port_status(&self, port: u16) -> Option<PortStatus> {
        self.ports
            .iter()
            .find(|p| p.number() == port)
            .map(PortStatus::of)
    }

    /// Status of every port, in configuration order.
    pub fn ports_status(&self) -> impl Iterator<Item = PortStatus> + '_ {
        self.ports.iter().map(PortStatus::of)
    }
}

/// 9.3.4 validation beyond the codec, and the FreeBSD timer range checks.
fn check(p: &Port, own_mac: crate::id::MacAddr, bpdu: &Bpdu) -> Result<(), DropReason> {
    if p.cfg.bpdu_filter {
        return Err(DropReason::BpduFilter);
    }
    if !p.port_enabled {
        return Err(DropReason::PortDisabled);
    }
    let Some(body) = bpdu.body() else {
        return Ok(());
    };
    if body.bridge.mac() == own_mac && body.port.number() == p.number() {
        return Err(DropReason::Loopback);
    }
    let t = body.times;
    if matches!(bpdu, Bpdu::Config { .. }) && t.message_age >= t.max_age {
        return Err(DropReason::MessageAgeExceeded);
    }
    let s = Times::from_bpdu(t);
    if !(6..=40).contains(&s.max_age)
        || !(4..=30).contains(&s.forward_delay)
        || !(1..=2).contains(&s.hello_time)
    {
        return Err(DropReason::InvalidTimers);
    }
    Ok(())
}
