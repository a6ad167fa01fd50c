//! Port Role Selection state machine (17.28): updtRolesTree() (17.21.25),
//! with 802.1Q restrictedRole (root guard) and loop guard.

use crate::bridge::{Bridge, Output, ProtectionEvent};
use crate::id::PortId;
use crate::port::{InfoIs, PortRole};
use crate::priority::PriorityVector;

/// ROLE_SELECTION when any port has reselect set: clearReselectTree(),
/// updtRolesTree(), setSelectedTree().
pub(crate) fn step(b: &mut Bridge) -> bool {
    if !b.ports.iter().any(|p| p.reselect) {
        return false;
    }
    for p in &mut b.ports {
        p.reselect = false;
    }
    updt_roles_tree(b);
    for p in &mut b.ports {
        p.selected = true;
    }
    true
}

/// updtRoleDisabledTree() (17.21.24).
pub(crate) fn updt_role_disabled_tree(b: &mut Bridge) {
    for p in &mut b.ports {
        p.selected_role = PortRole::Disabled;
    }
}

fn updt_roles_tree(b: &mut Bridge) {
    let own = b.bridge_id;
    let bridge_priority = PriorityVector {
        root: own,
        root_path_cost: 0,
        designated_bridge: own,
        designated_port: PortId(0),
        bridge_port: PortId(0),
    };
    let mut root = bridge_priority;
    let mut root_times = b.bridge_times;
    let mut root_port: Option<usize> = None;
    let mut guard_blocked: Vec<usize> = Vec::new();
    for (i, p) in b.ports.iter().enumerate() {
        if p.info_is != InfoIs::Received || p.port_priority.designated_bridge.mac() == own.mac() {
            continue;
        }
        let pp = p.port_priority;
        let candidate = PriorityVector {
            root_path_cost: pp.root_path_cost.saturating_add(p.path_cost),
            bridge_port: p.port_id,
            ..pp
        };
        if candidate < root {
            if p.cfg.restricted_role {
                guard_blocked.push(i);
                continue;
            }
            root = candidate;
            root_port = Some(i);
            root_times = p.port_times;
            root_times.message_age = root_times.message_age.saturating_add(1);
        }
    }
    let old_root = (b.root_priority.root, b.root_port_id);
    b.root_priority = root;
    b.root_times = root_times;
    b.root_port_id = root_port
        .and_then(|i| b.ports.get(i))
        .map_or(PortId(0), |p| p.port_id);
    let root_number = root_port.and_then(|i| b.ports.get(i)).map(|p| p.number());
    if old_root != (root.root, b.root_port_id) {
        b.outputs.push_back(Output::RootChanged {
            root: root.root,
            root_port: root_number,
            root_path_cost: root.root_path_cost,
        });
    }
    let hello = b.bridge_times.hello_time;
    for (i, p) in b.ports.iter_mut().enumerate() {
        p.designated_priority = PriorityVector {
            root: root.root,
            root_path_cost: root.root_path_cost,
            designated_bridge: own,
            designated_port: p.port_id,
            bridge_port: p.port_id,
        };
        p.designated_times = root_times;
        p.designated_times.hello_time = hello;
        let blocked = guard_blocked.contains(&i);
        if blocked && !p.root_guard_blocking {
            b.outputs.push_back(Output::Protection {
                port: p.number(),
                event: ProtectionEvent::RootGuardBlocked,
            });
        }
        p.root_guard_blocking = blocked;
        let fallback = if p.loop_inconsistent {
            PortRole::Alternate
        } else {
            PortRole::Designated
        };
        match p.info_is {
            InfoIs::Disabled => p.selected_role = PortRole::Disabled,
            InfoIs::Aged => {
                p.updt_info = true;
                p.selected_role = fallback;
            }
            InfoIs::Mine => {
                p.selected_role = fallback;
                if p.port_priority != p.designated_priority || p.port_times != p.designated_times {
                    p.updt_info = true;
                }
            }
            InfoIs::Received => {
                if root_port == Some(i) {
                    p.selected_role = PortRole::Root;
                    p.updt_info = false;
                } else if p.designated_priority >= p.port_priority {
                    p.selected_role = if p.port_priority.designated_bridge.mac() == own.mac() {
                        PortRole::Backup
                    } else {
                        PortRole::Alternate
                    };
                    p.updt_info = false;
                } else {
                    p.selected_role = PortRole::Designated;
                    p.updt_info = true;
                }
            }
        }
    }
}
