//! The per-port state machines of 802.1D-2004 clause 17 (17.22–17.30) and
//! the per-bridge Port Role Selection machine.
//!
//! Every `step` performs at most one transition (entering one state, or one
//! transient state and its unconditional return) and reports whether it did;
//! [`crate::Bridge`] runs them all until none moves. Procedures acting on
//! every port (setSyncTree, setReRootTree, setTcPropTree) are requested
//! through [`Fx`] and applied by the bridge after the step.

use std::collections::VecDeque;

use crate::bridge::Output;
use crate::priority::Times;

pub(crate) mod bdm;
pub(crate) mod pim;
pub(crate) mod ppm;
pub(crate) mod prs;
pub(crate) mod prt;
pub(crate) mod prx;
pub(crate) mod pst;
pub(crate) mod pti;
pub(crate) mod ptx;
pub(crate) mod tcm;

/// Bridge-wide values a port machine reads, computed before each step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    /// rstpVersion (17.20.11): ForceProtocolVersion ≥ 2.
    pub rstp_version: bool,
    /// TxHoldCount (17.13.12).
    pub tx_hold_count: u8,
    /// allSynced (17.20.3), as 802.1Q: every port selected, in its selected
    /// role, with updtInfo clear and synced, the Root Port exempt.
    pub all_synced: bool,
    /// reRooted (17.20.10): rrWhile is zero on every other port.
    pub re_rooted: bool,
    /// rootTimes (17.18.7).
    pub root_times: Times,
}

/// Side effects of a step on the bridge: outputs and tree procedures.
#[derive(Debug)]
pub(crate) struct Fx<'a> {
    pub out: &'a mut VecDeque<Output>,
    /// setSyncTree (17.21.14).
    pub sync_tree: bool,
    /// setReRootTree (17.21.15).
    pub reroot_tree: bool,
    /// setTcPropTree (17.21.18).
    pub tc_prop_tree: bool,
}
