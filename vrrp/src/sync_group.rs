//! Sync groups (keepalived `vrrp_sync_group`): members change state
//! together. A sans-IO coordinator that turns members' state changes into
//! inputs for the other members; [`crate::Router`] runs it for its
//! instances, a driver with its own instances can run it directly.
//!
//! Rules (keepalived `vrrp_sync.c`):
//! * a member becoming Master (not because of the group) makes every
//!   Backup member Master ([`Input::GroupMaster`]);
//! * a member leaving Master for Backup makes every Master member Backup
//!   ([`Input::GroupBackup`]);
//! * while any member has a fault of its own, every other member is held in
//!   Fault ([`Input::GroupFault`]); when none has, all leave Fault.
//!
//! Changes caused by the group itself ([`Reason::SyncGroup`],
//! [`FaultCause::SyncGroup`]) are not propagated again, so one change
//! settles in one round.

use crate::event::{FaultCause, Input, Reason, State};
use crate::router::InstanceKey;

/// One sync group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroup {
    members: Vec<InstanceKey>,
}

impl SyncGroup {
    /// A group of `members` (duplicates collapse).
    pub fn new(members: &[InstanceKey]) -> Self {
        let mut m: Vec<InstanceKey> = Vec::with_capacity(members.len());
        for k in members {
            if !m.contains(k) {
                m.push(*k);
            }
        }
        SyncGroup { members: m }
    }

    /// The members, in configuration order.
    pub fn members(&self) -> &[InstanceKey] {
        &self.members
    }

    /// Whether `key` is a member.
    pub fn contains(&self, key: InstanceKey) -> bool {
        self.members.contains(&key)
    }

    /// Inputs for the other members after `key` changed from `from` to
    /// `to` for `reason`.
    pub fn on_state_change(
        &self,
        key: InstanceKey,
        from: State,
        to: State,
        reason: Reason,
    ) -> Vec<(InstanceKey, Input<'static>)> {
        if !self.contains(key)
            || matches!(
                reason,
                Reason::SyncGroup | Reason::Fault(FaultCause::SyncGroup)
            )
        {
            return Vec::new();
        }
        let input = match (from, to) {
            (_, State::Master) => Input::GroupMaster,
            (State::Master, State::Backup) => Input::GroupBackup,
            _ => return Vec::new(),
        };
        self.members
            .iter()
            .filter(|m| **m != key)
            .map(|m| (*m, input))
            .collect()
    }

    /// The group-fault flag each member should have, given which members
    /// have a fault of their own: set for a member when any *other* member
    /// is faulted.
    pub fn fault_flags(&self, own_fault: impl Fn(InstanceKey) -> bool) -> Vec<(InstanceKey, bool)> {
        let faulted: Vec<InstanceKey> = self
            .members
            .iter()
            .copied()
            .filter(|m| own_fault(*m))
            .collect();
        self.members
            .iter()
            .map(|m| (*m, faulted.iter().any(|f| f != m)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::Family;

    fn key(vrid: u8) -> InstanceKey {
        InstanceKey {
            ifindex: 2,
            family: Family::Ipv4,
            vrid,
        }
    }

    #[test]
    fn master_and_backup_propagate_once() {
        let g = SyncGroup::new(&[key(1), key(2), key(3), key(2)]);
        assert_eq!(g.members().len(), 3);
        let out = g.on_state_change(key(1), State::Backup, State::Master, Reason::MasterDown);
        assert_eq!(
            out,
            vec![(key(2), Input::GroupMaster), (key(3), Input::GroupMaster)]
        );
        assert!(
            g.on_state_change(key(2), State::Backup, State::Master, Reason::SyncGroup)
                .is_empty()
        );
        let out = g.on_state_change(
            key(3),
            State::Master,
            State::Backup,
            Reason::HigherPriority {
                master: "10.0.0.9".parse().unwrap(),
                priority: 200,
            },
        );
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|(_, i)| *i == Input::GroupBackup));
        assert!(
            g.on_state_change(key(9), State::Backup, State::Master, Reason::MasterDown)
                .is_empty()
        );
    }

    #[test]
    fn fault_flags_exclude_self() {
        let g = SyncGroup::new(&[key(1), key(2)]);
        assert_eq!(
            g.fault_flags(|k| k == key(1)),
            vec![(key(1), false), (key(2), true)]
        );
        assert_eq!(
            g.fault_flags(|_| true),
            vec![(key(1), true), (key(2), true)]
        );
        assert_eq!(
            g.fault_flags(|_| false),
            vec![(key(1), false), (key(2), false)]
        );
    }
}
