//! Port Role Transitions state machine (17.29): disabled, root,
//! designated, alternate and backup roles, with proposal/agreement sync.
//!
//! Transient states (ROOT_PROPOSED, DESIGNATED_SYNCED, ...) run their
//! actions and return to the role's main state in the same step.

use super::{Ctx, Fx};
use crate::bridge::Output;
use crate::port::{Port, PortRole};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(clippy::enum_variant_names, reason = "802.1D state names")]
pub(crate) enum State {
    InitPort,
    DisablePort,
    DisabledPort,
    RootPort,
    DesignatedPort,
    BlockPort,
    AlternatePort,
}

fn set_role(p: &mut Port, role: PortRole, fx: &mut Fx<'_>) {
    if p.role != role {
        p.role = role;
        p.offered = false;
        fx.out.push_back(Output::RoleChanged {
            port: p.number(),
            role,
        });
    }
}

/// INIT_PORT.
pub(crate) fn enter_init_port(p: &mut Port, fx: &mut Fx<'_>) {
    p.prt = State::InitPort;
    set_role(p, PortRole::Disabled, fx);
    p.learn = false;
    p.forward = false;
    p.synced = false;
    p.sync = true;
    p.re_root = true;
    p.rr_while = p.fwd_delay();
    p.fd_while = p.max_age();
    p.rb_while = 0;
}

fn enter_disable_port(p: &mut Port, fx: &mut Fx<'_>) {
    p.prt = State::DisablePort;
    set_role(p, PortRole::Disabled, fx);
    p.learn = false;
    p.forward = false;
}

fn enter_disabled_port(p: &mut Port) {
    p.prt = State::DisabledPort;
    p.fd_while = p.max_age();
    p.synced = true;
    p.rr_while = 0;
    p.sync = false;
    p.re_root = false;
}

fn enter_root_port(p: &mut Port, fx: &mut Fx<'_>) {
    p.prt = State::RootPort;
    set_role(p, PortRole::Root, fx);
    p.rr_while = p.fwd_delay();
}

fn enter_designated_port(p: &mut Port, fx: &mut Fx<'_>) {
    p.prt = State::DesignatedPort;
    set_role(p, PortRole::Designated, fx);
}

fn enter_block_port(p: &mut Port, fx: &mut Fx<'_>) {
    p.prt = State::BlockPort;
    let role = p.selected_role;
    set_role(p, role, fx);
    p.learn = false;
    p.forward = false;
}

fn enter_alternate_port(p: &mut Port) {
    p.prt = State::AlternatePort;
    p.fd_while = p.fwd_delay();
    p.synced = true;
    p.rr_while = 0;
    p.sync = false;
    p.re_root = false;
}

/// ROOT_PORT and its transient states, tested in the order Open vSwitch
/// uses.
fn root(p: &mut Port, ctx: &Ctx, fx: &mut Fx<'_>) -> bool {
    let may_forward = p.fd_while == 0 || (ctx.re_rooted && p.rb_while == 0 && ctx.rstp_version);
    if p.rr_while != p.fwd_delay() {
        // Re-enter ROOT_PORT.
    } else if p.re_root && p.forward {
        // REROOTED
        p.re_root = false;
    } else if may_forward && !p.learn {
        // ROOT_LEARN
        p.fd_while = p.forward_delay();
        p.learn = true;
    } else if may_forward && p.learn && !p.forward {
        // ROOT_FORWARD
        p.fd_while = 0;
        p.forward = true;
    } else if p.proposed && !p.agree {
        // ROOT_PROPOSED
        fx.sync_tree = true;
        p.proposed = false;
    } else if (ctx.all_synced && !p.agree) || (p.proposed && p.agree) {
        // ROOT_AGREED
        p.proposed = false;
        p.sync = false;
        p.agree = true;
        p.new_info = true;
    } else if !p.forward && !p.re_root {
        // REROOT
        fx.reroot_tree = true;
    } else {
        return false;
    }
    enter_root_port(p, fx);
    true
}

/// DESIGNATED_PORT and its transient states, tested in the order Open
/// vSwitch uses.
fn designated(p: &mut Port, fx: &mut Fx<'_>) -> bool {
    let may_advance =
        (p.fd_while == 0 || p.agreed || p.oper_edge) && (p.rr_while == 0 || !p.re_root) && !p.sync;
    if ((p.sync && !p.synced) || (p.re_root && p.rr_while != 0) || p.disputed)
        && !p.oper_edge
        && (p.learn || p.forward)
    {
        // DESIGNATED_DISCARD
        p.learn = false;
        p.forward = false;
        p.disputed = false;
        p.fd_while = p.forward_delay();
    } else if may_advance && !p.learn {
        // DESIGNATED_LEARN
        p.learn = true;
        p.fd_while = p.forward_delay();
    } else if may_advance && p.learn && !p.forward {
        // DESIGNATED_FORWARD
        p.forward = true;
        p.fd_while = 0;
        p.agreed = p.send_rstp;
    } else if !p.forward && !p.agreed && !p.proposing && !p.oper_edge {
        // DESIGNATED_PROPOSE
        p.proposing = true;
        p.edge_delay_while = p.edge_delay();
        p.new_info = true;
    } else if (!p.learning && !p.forwarding && !p.synced)
        || (p.agreed && !p.synced)
        || (p.oper_edge && !p.synced)
        || (p.sync && p.synced)
    {
        // DESIGNATED_SYNCED
        p.rr_while = 0;
        p.synced = true;
        p.sync = false;
    } else if p.rr_while == 0 && p.re_root {
        // DESIGNATED_RETIRED
        p.re_root = false;
    } else {
        return false;
    }
    enter_designated_port(p, fx);
    true
}

/// ALTERNATE_PORT (also Backup) and its transient states. As in 802.1Q and
/// Open vSwitch, ALTERNATE_PORT clears rrWhile and loads fdWhile with
/// FwdDelay.
fn alternate(p: &mut Port, ctx: &Ctx, fx: &mut Fx<'_>) -> bool {
    let two_hello = p.hello_time().saturating_mul(2);
    if p.rb_while != two_hello && p.role == PortRole::Backup {
        // BACKUP_PORT
        p.rb_while = two_hello;
    } else if p.fd_while != p.fwd_delay() || p.sync || p.re_root || !p.synced {
        // Re-enter ALTERNATE_PORT.
    } else if p.proposed && !p.agree {
        // ALTERNATE_PROPOSED
        fx.sync_tree = true;
        p.proposed = false;
    } else if (ctx.all_synced && !p.agree) || (p.proposed && p.agree) {
        // ALTERNATE_AGREED
        p.proposed = false;
        p.agree = true;
        p.new_info = true;
    } else {
        return false;
    }
    enter_alternate_port(p);
    true
}

pub(crate) fn step(p: &mut Port, ctx: &Ctx, fx: &mut Fx<'_>) -> bool {
    if p.prt == State::InitPort {
        enter_disable_port(p, fx);
        return true;
    }
    if !p.selected || p.updt_info {
        return false;
    }
    if p.role != p.selected_role {
        match p.selected_role {
            PortRole::Disabled => enter_disable_port(p, fx),
            PortRole::Root => enter_root_port(p, fx),
            PortRole::Designated => enter_designated_port(p, fx),
            PortRole::Alternate | PortRole::Backup => enter_block_port(p, fx),
        }
        return true;
    }
    match p.prt {
        State::InitPort => false,
        State::DisablePort => {
            if p.learning || p.forwarding {
                return false;
            }
            enter_disabled_port(p);
            true
        }
        State::DisabledPort => {
            if p.fd_while != p.max_age() || p.sync || p.re_root || !p.synced {
                enter_disabled_port(p);
                true
            } else {
                false
            }
        }
        State::RootPort => root(p, ctx, fx),
        State::DesignatedPort => designated(p, fx),
        State::BlockPort => {
            if p.learning || p.forwarding {
                return false;
            }
            enter_alternate_port(p);
            true
        }
        State::AlternatePort => alternate(p, ctx, fx),
    }
}
