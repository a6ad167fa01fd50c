//! Port Information state machine (17.27) with rcvInfo() and the record
//! procedures of 17.21; loop guard hooks into the CURRENT → AGED transition.

use super::{Ctx, Fx};
use crate::bpdu::{BpduRole, Flags};
use crate::bridge::{Output, ProtectionEvent};
use crate::port::{InfoIs, Port, PortRole, RcvdInfo};
use crate::priority::{PriorityVector, Times};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Disabled,
    Aged,
    Current,
}

pub(crate) fn enter_disabled(p: &mut Port) {
    p.pim = State::Disabled;
    p.rcvd_msg = false;
    p.rx = None;
    p.proposing = false;
    p.proposed = false;
    p.agree = false;
    p.agreed = false;
    p.rcvd_info_while = 0;
    p.info_is = InfoIs::Disabled;
    p.reselect = true;
    p.selected = false;
}

fn enter_aged(p: &mut Port) {
    p.pim = State::Aged;
    p.info_is = InfoIs::Aged;
    p.reselect = true;
    p.selected = false;
}

/// UPDATE, then CURRENT.
///
/// An agreement is kept only while the designated priority vector is
/// better than or the same as the one agreed to (17.27) *and* names the
/// same Root Bridge: a "better" root that arrives on another port may be
/// stale information about a root that has gone (count to infinity), and
/// an agreement given for another root says nothing about it.
fn update(p: &mut Port) {
    p.proposing = false;
    p.proposed = false;
    if !same_root_mine(p) {
        p.offered = false;
    }
    p.agreed = p.agreed && better_or_same_mine(p) && same_root_mine(p);
    p.synced = p.synced && p.agreed;
    p.port_priority = p.designated_priority;
    p.port_times = p.designated_times;
    p.updt_info = false;
    p.info_is = InfoIs::Mine;
    p.new_info = true;
    p.pim = State::Current;
}

/// betterorsameInfo(Mine) (17.21.1).
fn better_or_same_mine(p: &Port) -> bool {
    p.info_is == InfoIs::Mine && p.designated_priority <= p.port_priority
}

/// Whether the designated priority vector names the root held in the port
/// priority vector.
fn same_root_mine(p: &Port) -> bool {
    p.designated_priority.root == p.port_priority.root
}

/// Whether the message priority vector names the root held in the port
/// priority vector (an agreement or agree flag holds for one root only).
fn same_root_received(p: &Port) -> bool {
    p.msg_priority.root == p.port_priority.root
}

/// betterorsameInfo(Received) (17.21.1).
fn better_or_same_received(p: &Port) -> bool {
    p.info_is == InfoIs::Received && p.msg_priority <= p.port_priority
}

/// rcvInfo() (17.21.8).
fn rcv_info(p: &mut Port) -> RcvdInfo {
    let Some(rx) = p.rx else {
        return RcvdInfo::Other;
    };
    let Some(body) = rx.bpdu.body() else {
        return RcvdInfo::Other;
    };
    p.msg_priority = PriorityVector {
        root: body.root,
        root_path_cost: body.root_path_cost,
        designated_bridge: body.bridge,
        designated_port: body.port,
        bridge_port: p.port_id,
    };
    p.msg_times = Times::from_bpdu(body.times);
    match rx.role() {
        BpduRole::Designated => {
            if p.msg_priority == p.port_priority {
                if p.msg_times == p.port_times {
                    RcvdInfo::RepeatedDesignated
                } else {
                    RcvdInfo::SuperiorDesignated
                }
            } else if p.msg_priority.is_superior_to(&p.port_priority) {
                RcvdInfo::SuperiorDesignated
            } else {
                RcvdInfo::InferiorDesignated
            }
        }
        BpduRole::Root | BpduRole::AlternateOrBackup if p.msg_priority >= p.port_priority => {
            RcvdInfo::InferiorRootAlternate
        }
        _ => RcvdInfo::Other,
    }
}

fn rx_flags(p: &Port) -> Option<Flags> {
    p.rx.and_then(|r| r.bpdu.body().map(|b| b.flags))
}

/// recordProposal() (17.21.11).
fn record_proposal(p: &mut Port) {
    if let Some(rx) = p.rx
        && rx.is_rst()
        && rx.role() == BpduRole::Designated
        && rx_flags(p).is_some_and(|f| f.has(Flags::PROPOSAL))
    {
        p.proposed = true;
    }
}

/// recordAgreement() (17.21.9). An agreement counts only when it names the
/// root of the port priority vector and the port has sent its present
/// Designated information (`offered`): otherwise it answers an older offer.
fn record_agreement(p: &mut Port, ctx: &Ctx) {
    let rst = p.rx.is_some_and(|r| r.is_rst());
    if ctx.rstp_version
        && p.oper_p2p
        && rst
        && rx_flags(p).is_some_and(|f| f.has(Flags::AGREEMENT))
        && same_root_received(p)
        && p.offered
    {
        p.agreed = true;
        p.proposing = false;
    } else {
        p.agreed = false;
    }
}

/// recordDispute() (17.21.10).
fn record_dispute(p: &mut Port) {
    let rst = p.rx.is_some_and(|r| r.is_rst());
    if rst && rx_flags(p).is_some_and(|f| f.has(Flags::LEARNING)) {
        p.agreed = false;
        p.disputed = true;
    }
}

/// setTcFlags() (17.21.17) for Config and RST BPDUs (TCN: see PRX).
fn set_tc_flags(p: &mut Port) {
    if let Some(f) = rx_flags(p) {
        if f.has(Flags::TC) {
            p.rcvd_tc = true;
        }
        if f.has(Flags::TCA) {
            p.rcvd_tc_ack = true;
        }
    }
}

/// updtRcvdInfoWhile() (17.21.23).
fn updt_rcvd_info_while(p: &mut Port) {
    let t = p.port_times;
    p.rcvd_info_while = if t.message_age.saturating_add(1) <= t.max_age {
        t.hello_time.saturating_mul(3)
    } else {
        0
    };
}

/// Whether the message comes from the designated bridge address and port
/// number whose information the port holds, in a role other than
/// Designated: that port no longer offers the information, so it is aged
/// out at once rather than kept until rcvdInfoWhile expires (deviation,
/// see the crate docs).
fn withdrawn(p: &Port) -> bool {
    p.info_is == InfoIs::Received
        && p.msg_priority.designated_bridge.mac() == p.port_priority.designated_bridge.mac()
        && p.msg_priority.designated_port.number() == p.port_priority.designated_port.number()
}

/// RECEIVE and the state it selects, then back to CURRENT.
fn receive(p: &mut Port, ctx: &Ctx) {
    p.rcvd_info = rcv_info(p);
    match p.rcvd_info {
        RcvdInfo::SuperiorDesignated => {
            p.agreed = false;
            p.proposing = false;
            record_proposal(p);
            set_tc_flags(p);
            p.agree = p.agree && better_or_same_received(p) && same_root_received(p);
            p.port_priority = p.msg_priority;
            p.port_times = p.msg_times;
            updt_rcvd_info_while(p);
            p.info_is = InfoIs::Received;
            p.reselect = true;
            p.selected = false;
        }
        RcvdInfo::RepeatedDesignated => {
            record_proposal(p);
            set_tc_flags(p);
            updt_rcvd_info_while(p);
        }
        RcvdInfo::InferiorDesignated => record_dispute(p),
        RcvdInfo::InferiorRootAlternate => {
            record_agreement(p, ctx);
            set_tc_flags(p);
            if withdrawn(p) {
                p.rcvd_info_while = 0;
            }
        }
        RcvdInfo::Other => {}
    }
    p.rcvd_msg = false;
    p.rx = None;
    p.pim = State::Current;
}

pub(crate) fn step(p: &mut Port, ctx: &Ctx, fx: &mut Fx<'_>) -> bool {
    if !p.port_enabled && p.info_is != InfoIs::Disabled {
        enter_disabled(p);
        return true;
    }
    match p.pim {
        State::Disabled => {
            if p.rcvd_msg {
                enter_disabled(p);
            } else if p.port_enabled {
                enter_aged(p);
            } else {
                return false;
            }
        }
        State::Aged => {
            if p.selected && p.updt_info {
                update(p);
            } else {
                return false;
            }
        }
        State::Current => {
            if p.selected && p.updt_info {
                update(p);
            } else if p.info_is == InfoIs::Received
                && p.rcvd_info_while == 0
                && !p.updt_info
                && !p.rcvd_msg
            {
                if p.cfg.loop_guard
                    && matches!(
                        p.role,
                        PortRole::Root | PortRole::Alternate | PortRole::Backup
                    )
                    && !p.loop_inconsistent
                {
                    p.loop_inconsistent = true;
                    fx.out.push_back(Output::Protection {
                        port: p.number(),
                        event: ProtectionEvent::LoopInconsistent,
                    });
                }
                enter_aged(p);
            } else if p.rcvd_msg && !p.updt_info {
                receive(p, ctx);
            } else {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpdu::{Bpdu, BpduBody, BpduTimes};
    use crate::config::PortConfig;
    use crate::id::{BridgeId, PortId};
    use crate::port::RxBpdu;

    const DESIGNATED: BpduRole = BpduRole::Designated;

    fn port() -> Port {
        let times = Times {
            message_age: 0,
            max_age: 20,
            forward_delay: 15,
            hello_time: 2,
        };
        let mut p = Port::new(PortConfig::new(1), [2, 0, 0, 0, 0, 1], times);
        p.port_priority = vector(0x10, 100, 0x20, 0x8002);
        p.port_times = times;
        p.info_is = InfoIs::Received;
        p
    }

    fn vector(root: u64, cost: u32, bridge: u64, port: u16) -> PriorityVector {
        PriorityVector {
            root: BridgeId(root),
            root_path_cost: cost,
            designated_bridge: BridgeId(bridge),
            designated_port: PortId(port),
            bridge_port: PortId(0x8001),
        }
    }

    fn classify(p: &mut Port, v: PriorityVector, role: BpduRole, times: BpduTimes) -> RcvdInfo {
        let body = BpduBody {
            flags: Flags(0).with_role(role),
            root: v.root,
            root_path_cost: v.root_path_cost,
            bridge: v.designated_bridge,
            port: v.designated_port,
            times,
        };
        p.rx = Some(RxBpdu {
            bpdu: Bpdu::Rst { version: 2, body },
        });
        rcv_info(p)
    }

    #[test]
    fn rcv_info_17_21_8() {
        let same = BpduTimes::from_secs(0, 20, 2, 15);
        let mut p = port();
        let held = p.port_priority;
        assert_eq!(
            classify(&mut p, held, DESIGNATED, same),
            RcvdInfo::RepeatedDesignated
        );
        let older = BpduTimes::from_secs(1, 20, 2, 15);
        assert_eq!(
            classify(&mut p, held, DESIGNATED, older),
            RcvdInfo::SuperiorDesignated
        );
        assert_eq!(
            classify(&mut p, vector(0x10, 50, 0x30, 1), DESIGNATED, same),
            RcvdInfo::SuperiorDesignated
        );
        // Worse, from another bridge: inferior.
        assert_eq!(
            classify(&mut p, vector(0x10, 150, 0x30, 1), DESIGNATED, same),
            RcvdInfo::InferiorDesignated
        );
        // Worse, but from the same designated bridge address and port number.
        let same_port = vector(0x10, 150, 0x9000_0000_0000_0020, 0x4002);
        assert_eq!(
            classify(&mut p, same_port, DESIGNATED, same),
            RcvdInfo::SuperiorDesignated
        );
        // Root/Alternate roles with the same or worse vector.
        assert_eq!(
            classify(&mut p, vector(0x10, 150, 0x30, 1), BpduRole::Root, same),
            RcvdInfo::InferiorRootAlternate
        );
        assert_eq!(
            classify(&mut p, held, BpduRole::AlternateOrBackup, same),
            RcvdInfo::InferiorRootAlternate
        );
        assert_eq!(
            classify(&mut p, vector(0x10, 50, 0x30, 1), BpduRole::Root, same),
            RcvdInfo::Other
        );
        // Unknown role: processed as Config, i.e. designated.
        assert_eq!(
            classify(&mut p, vector(0x10, 50, 0x30, 1), BpduRole::Unknown, same),
            RcvdInfo::SuperiorDesignated
        );
        // TCN carries no information.
        p.rx = Some(RxBpdu {
            bpdu: Bpdu::Tcn { version: 0 },
        });
        assert_eq!(rcv_info(&mut p), RcvdInfo::Other);
    }

    #[test]
    fn update_keeps_agreement_only_for_same_root() {
        let mut p = port();
        p.info_is = InfoIs::Mine;
        p.port_priority = vector(0x20, 100, 0x30, 0x8001);
        // Same root, better cost: the agreement stands (17.27 UPDATE).
        p.agreed = true;
        p.synced = true;
        p.designated_priority = vector(0x20, 50, 0x30, 0x8001);
        update(&mut p);
        assert!(p.agreed && p.synced);
        // Worse: it lapses.
        p.designated_priority = vector(0x20, 150, 0x30, 0x8001);
        update(&mut p);
        assert!(!p.agreed && !p.synced);
        // A better root: it lapses too (possibly stale root information).
        p.agreed = true;
        p.synced = true;
        p.designated_priority = vector(0x10, 150, 0x30, 0x8001);
        update(&mut p);
        assert!(!p.agreed && !p.synced);
        assert_eq!(p.port_priority, p.designated_priority);
    }

    #[test]
    fn rcvd_info_while_17_21_23() {
        let mut p = port();
        p.port_times = Times {
            message_age: 5,
            max_age: 20,
            forward_delay: 15,
            hello_time: 2,
        };
        updt_rcvd_info_while(&mut p);
        assert_eq!(p.rcvd_info_while, 6);
        p.port_times.message_age = 20;
        updt_rcvd_info_while(&mut p);
        assert_eq!(p.rcvd_info_while, 0);
    }
}
