//! Spanning tree priority vectors (17.5, 17.6) and timer sets (17.19.22).

use crate::bpdu::BpduTimes;
use crate::id::{BridgeId, PortId};

/// A spanning tree priority vector (17.5), compared component by component
/// (lower is better) through the derived `Ord`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct PriorityVector {
    /// Root Bridge Identifier.
    pub root: BridgeId,
    /// Root Path Cost.
    pub root_path_cost: u32,
    /// Designated Bridge Identifier.
    pub designated_bridge: BridgeId,
    /// Designated Port Identifier.
    pub designated_port: PortId,
    /// Bridge Port Identifier (of the receiving port).
    pub bridge_port: PortId,
}

impl PriorityVector {
    /// 17.6: a message priority vector is superior to the port priority
    /// vector if it is better, or if it comes from the same designated bridge
    /// address and designated port number (the designated port changed its
    /// information, possibly for the worse).
    #[must_use]
    pub fn is_superior_to(&self, port: &PriorityVector) -> bool {
        self < port
            || (self.designated_bridge.mac() == port.designated_bridge.mac()
                && self.designated_port.number() == port.designated_port.number())
    }
}

/// Timer parameters carried with a priority vector (17.19.22), whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Times {
    /// Message Age.
    pub message_age: u16,
    /// Max Age.
    pub max_age: u16,
    /// Forward Delay.
    pub forward_delay: u16,
    /// Hello Time.
    pub hello_time: u16,
}

impl Times {
    /// From BPDU times (1/256 s), truncated to whole seconds as mstpd and OVS
    /// do.
    #[must_use]
    pub fn from_bpdu(t: BpduTimes) -> Self {
        Times {
            message_age: t.message_age >> 8,
            max_age: t.max_age >> 8,
            forward_delay: t.forward_delay >> 8,
            hello_time: t.hello_time >> 8,
        }
    }

    /// To BPDU times (1/256 s).
    #[must_use]
    pub fn to_bpdu(self) -> BpduTimes {
        BpduTimes::from_secs(
            self.message_age,
            self.max_age,
            self.hello_time,
            self.forward_delay,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(root: u64, cost: u32, bridge: u64, port: u16) -> PriorityVector {
        PriorityVector {
            root: BridgeId(root),
            root_path_cost: cost,
            designated_bridge: BridgeId(bridge),
            designated_port: PortId(port),
            bridge_port: PortId(0x8001),
        }
    }

    #[test]
    fn ordering_and_superiority() {
        assert!(v(1, 10, 5, 1) < v(2, 0, 0, 0));
        assert!(v(1, 10, 5, 1) < v(1, 11, 0, 0));
        assert!(v(1, 10, 5, 1) < v(1, 10, 5, 2));
        // Worse, but from the same designated bridge address and port number.
        let held = v(1, 10, 0x8000_0000_0000_0005, 0x8001);
        assert!(v(1, 50, 0x9000_0000_0000_0005, 0x4001).is_superior_to(&held));
        assert!(!v(1, 50, 0x8000_0000_0000_0006, 0x8001).is_superior_to(&held));
    }

    #[test]
    fn times_round_trip() {
        let t = Times {
            message_age: 1,
            max_age: 20,
            forward_delay: 15,
            hello_time: 2,
        };
        assert_eq!(Times::from_bpdu(t.to_bpdu()), t);
        let raw = BpduTimes {
            message_age: 0x01ff,
            max_age: 0x1400,
            hello_time: 0x0080,
            forward_delay: 0,
        };
        assert_eq!(Times::from_bpdu(raw).message_age, 1);
        assert_eq!(Times::from_bpdu(raw).hello_time, 0);
    }
}
