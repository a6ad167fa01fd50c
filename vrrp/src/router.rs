//! Many virtual routers behind one set of raw sockets: demultiplexing by
//! (interface, family, VRID) (RFC 5798 §7.1 VRID check, RFC 6527 router
//! statistics) and the sync groups of [`crate::sync_group`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

use crate::config::{Config, ConfigError};
use crate::counters::{RouterCounters, bump};
use crate::event::{Input, Output};
use crate::instance::Instance;
use crate::packet::{Family, HEADER_LEN};
use crate::sync_group::SyncGroup;

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
    /// Deadline index: every instance with a timer, ordered by deadline,
    /// so that a node with thousands of instances finds the next deadline
    /// and the due instances without visiting every instance.
    timers: BTreeSet<(Instant, InstanceKey)>,
    /// The deadline each instance is filed under in `timers`.
    filed: BTreeMap<InstanceKey, Instant>,
    /// Instances handled since the last [`Router::collect`]: only these can
    /// have outputs, a new deadline or a new fault.
    touched: BTreeSet<InstanceKey>,
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
        let mut router = Router {
            instances,
            groups,
            out: VecDeque::new(),
            counters: RouterCounters::default(),
            timers: BTreeSet::new(),
            filed: BTreeMap::new(),
            touched: BTreeSet::new(),
        };
        let keys: Vec<InstanceKey> = router.instances.keys().copied().collect();
        for key in keys {
            router.refile(key);
        }
        Ok(router)
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
                        self.touched.insert(key);
                    }
                } else {
                    bump(&mut self.counters.vrid_errors);
                }
            }
            Input::Startup | Input::Shutdown | Input::Link { .. } | Input::TrackChanged { .. } => {
                for (key, i) in &mut self.instances {
                    if i.accepts(&input) {
                        i.handle(now, input);
                        self.touched.insert(*key);
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
        self.touched.insert(key);
        self.collect(now);
        true
    }

    /// Runs every due timer; spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<InstanceKey> = self
            .timers
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, k)| *k)
            .collect();
        for key in due {
            if let Some(i) = self.instances.get_mut(&key) {
                i.handle_timeout(now);
                self.touched.insert(key);
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
        self.timers.first().map(|(t, _)| *t)
    }

    /// Files `key` in the deadline index under its current deadline.
    fn refile(&mut self, key: InstanceKey) {
        if let Some(old) = self.filed.remove(&key) {
            self.timers.remove(&(old, key));
        }
        if let Some(t) = self.instances.get(&key).and_then(Instance::poll_timeout) {
            self.timers.insert((t, key));
            self.filed.insert(key, t);
        }
    }

    /// Drains the outputs of the instances handled since the last call,
    /// runs the sync groups until quiet and refiles their deadlines.
    fn collect(&mut self, now: Instant) {
        // Every instance handled, across the passes: their deadlines move.
        let mut handled: BTreeSet<InstanceKey> = BTreeSet::new();
        for _ in 0..MAX_SYNC_PASSES {
            let touched = std::mem::take(&mut self.touched);
            let mut pending: Vec<(InstanceKey, Input<'static>)> = Vec::new();
            for key in &touched {
                let Some(inst) = self.instances.get_mut(key) else {
                    continue;
                };
                while let Some(o) = inst.poll_output() {
                    if let Output::StateChanged { from, to, reason } = o
                        && let Some(g) = self.groups.iter().find(|g| g.contains(*key))
                    {
                        pending.extend(g.on_state_change(*key, from, to, reason));
                    }
                    self.out.push_back((*key, o));
                }
            }
            // A group's fault flags change only when a member was handled.
            for g in self
                .groups
                .iter()
                .filter(|g| touched.iter().any(|k| g.contains(*k)))
            {
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
            handled.extend(touched);
            if pending.is_empty() {
                break;
            }
            for (k, input) in pending {
                if let Some(i) = self.instances.get_mut(&k) {
                    i.handle(now, input);
                    self.touched.insert(k);
                }
            }
        }
        // Drain what the last pass produced.
        let last = std::mem::take(&mut self.touched);
        for key in &last {
            if let Some(inst) = self.instances.get_mut(key) {
                while let Some(o) = inst.poll_output() {
                    self.out.push_back((*key, o));
                }
            }
        }
        handled.extend(last);
        for key in handled {
            self.refile(key);
        }
    }
}
