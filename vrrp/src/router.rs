//! Many virtual routers behind one set of raw sockets: demultiplexing by
//! (interface, family, VRID) (RFC 5798 §7.1 VRID check, RFC 6527 router
//! statistics) and the sync groups of [`crate::sync_group`].

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use crate::config::{Config, ConfigError};
use crate::counters::{RouterCounters, bump};
use crate::event::{Input, Output};
use crate::instance::Instance;
use crate::packet::{Family, HEADER_LEN};
use crate::sync_group::SyncGroup;
use crate::timers::earliest;

/// Identifies a virtual router: VRIDs are per interface and family
/// (RFC 5798 §7.3 virtual MACs differ by family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceKey {
    /// Interface index.
    pub ifindex: u32,
    /// Address family.
    pub family: Family,
    /// VRID.
    pub vrid: u8,
}

/// Configuration of a [`Router`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouterConfig {
    /// The virtual routers.
    pub instances: Vec<Config>,
    /// Sync groups, each a list of instance keys.
    pub sync_groups: Vec<Vec<InstanceKey>>,
}

/// Why [`Router::new`] refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouterConfigError {
    /// An instance configuration is invalid.
    #[error("instance {index}: {error}")]
    Instance {
        /// Position in [`RouterConfig::instances`].
        index: usize,
        /// The error.
        error: ConfigError,
    },
    /// Two instances with one key.
    #[error("instance {0:?} configured twice")]
    DuplicateInstance(InstanceKey),
    /// A sync group names an unknown instance.
    #[error("sync group member {0:?} is not configured")]
    UnknownMember(InstanceKey),
    /// An instance in two sync groups.
    #[error("{0:?} is in two sync groups")]
    MemberOfTwoGroups(InstanceKey),
    /// A sync group with fewer than two members.
    #[error("sync group {0} has fewer than two members")]
    GroupTooSmall(usize),
}

/// The virtual routers of one node.
#[derive(Debug)]
pub struct Router {
    instances: BTreeMap<InstanceKey, Instance>,
    groups: Vec<SyncGroup>,
    out: VecDeque<(InstanceKey, Output)>,
    counters: RouterCounters,
}

/// Passes of sync-group propagation per call; one suffices (group-caused
/// changes do not propagate), the bound guards against surprises.
const MAX_SYNC_PASSES: usize = 4;

impl Router {
    /// Validates every instance and group.
    pub fn new(cfg: RouterConfig, now: Instant) -> Result<Self, RouterConfigError> {
        let mut instances = BTreeMap::new();
        for (index, c) in cfg.instances.into_iter().enumerate() {
            let inst = Instance::new(c, now)
                .map_err(|error| RouterConfigError::Instance { index, error })?;
            let key = inst.key();
            if instances.insert(key, inst).is_some() {
                return Err(RouterConfigError::DuplicateInstance(key));
            }
        }
        let mut groups: Vec<SyncGroup> = Vec::new();
        for (i, members) in cfg.sync_groups.iter().enumerate() {
            let g = SyncGroup::new(members);
            if g.members().len() < 2 {
                return Err(RouterConfigError::GroupTooSmall(i));
            }
            for m in g.members() {
                if !instances.contains_key(m) {
                    return Err(RouterConfigError::UnknownMember(*m));
                }
                if groups.iter().any(|o| o.contains(*m)) {
                    return Err(RouterConfigError::MemberOfTwoGroups(*m));
                }
            }
            groups.push(g);
        }
        Ok(Router {
            instances,
            groups,
            out: VecDeque::new(),
            counters: RouterCounters::default(),
        })
    }

    /// One instance.
    pub fn instance(&self, key: InstanceKey) -> Option<&Instance> {
        self.instances.get(&key)
    }

    /// Every instance, in key order.
    pub fn instances(&self) -> impl Iterator<Item = (&InstanceKey, &Instance)> {
        self.instances.iter()
    }

    /// The sync groups.
    pub fn sync_groups(&self) -> &[SyncGroup] {
        &self.groups
    }

    /// Counters of packets no instance took.
    pub fn counters(&self) -> &RouterCounters {
        &self.counters
    }

    /// The instance a packet is for, if any (by interface, the family of
    /// `src` and the VRID byte).
    pub fn accepts(&self, input: &Input<'_>) -> Option<InstanceKey> {
        match *input {
            Input::Packet {
                ifindex,
                src,
                bytes,
                ..
            } => {
                let key = InstanceKey {
                    ifindex,
                    family: Family::of(src),
                    vrid: *bytes.get(1)?,
                };
                self.instances.contains_key(&key).then_some(key)
            }
            _ => None,
        }
    }

    /// Feeds one event: packets go to their instance, link events to the
    /// instances on that interface, track changes to the instances that
    /// track the id, Startup / Shutdown to all. The `Group*` inputs are
    /// the router's own and ignored here.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) {
        match input {
            Input::Packet { bytes, .. } => {
                if bytes.len() < HEADER_LEN {
                    bump(&mut self.counters.packet_length_errors);
                } else if !matches!(bytes.first().map(|b| b >> 4), Some(2 | 3)) {
                    bump(&mut self.counters.version_errors);
                } else if let Some(key) = self.accepts(&input) {
                    if let Some(i) = self.instances.get_mut(&key) {
                        i.handle(now, input);
                    }
                } else {
                    bump(&mut self.counters.vrid_errors);
                }
            }
            Input::Startup | Input::Shutdown | Input::Link { .. } | Input::TrackChanged { .. } => {
                for i in self.instances.values_mut() {
                    if i.accepts(&input) {
                        i.handle(now, input);
                    }
                }
            }
            Input::GroupFault(_) | Input::GroupMaster | Input::GroupBackup => {}
        }
        self.collect(now);
    }

    /// Feeds one event to one instance; false when there is none.
    pub fn handle_instance(&mut self, now: Instant, key: InstanceKey, input: Input<'_>) -> bool {
        let Some(i) = self.instances.get_mut(&key) else {
            return false;
        };
        i.handle(now, input);
        self.collect(now);
        true
    }

    /// Runs every due timer; spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in self.instances.values_mut() {
            if i.poll_timeout().is_some_and(|t| t <= now) {
                i.handle_timeout(now);
            }
        }
        self.collect(now);
    }

    /// Next output with the instance it came from; drain until `None`.
    pub fn poll_output(&mut self) -> Option<(InstanceKey, Output)> {
        self.out.pop_front()
    }

    /// Earliest instance deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.instances
            .values()
            .fold(None, |acc, i| earliest(acc, i.poll_timeout()))
    }

    /// Drains instance outputs and runs the sync groups until quiet.
    fn collect(&mut self, now: Instant) {
        for _ in 0..MAX_SYNC_PASSES {
            let mut pending: Vec<(InstanceKey, Input<'static>)> = Vec::new();
            for (key, inst) in &mut self.instances {
                while let Some(o) = inst.poll_output() {
                    if let Output::StateChanged { from, to, reason } = o
                        && let Some(g) = self.groups.iter().find(|g| g.contains(*key))
                    {
                        pending.extend(g.on_state_change(*key, from, to, reason));
                    }
                    self.out.push_back((*key, o));
                }
            }
            for g in &self.groups {
                let flags = g.fault_flags(|k| {
                    self.instances
                        .get(&k)
                        .is_some_and(|i| i.own_fault().is_some())
                });
                for (k, flag) in flags {
                    if self
                        .instances
                        .get(&k)
                        .is_some_and(|i| i.group_fault() != flag)
                    {
                        pending.push((k, Input::GroupFault(flag)));
                    }
                }
            }
            if pending.is_empty() {
                return;
            }
            for (k, input) in pending {
                if let Some(i) = self.instances.get_mut(&k) {
                    i.handle(now, input);
                }
            }
        }
        // Drain what the last pass produced.
        for (key, inst) in &mut self.instances {
            while let Some(o) = inst.poll_output() {
                self.out.push_back((*key, o));
            }
        }
    }
}
