//! The RSTP role: one [`rstp::Bridge`] driving the ports of a Linux bridge
//! (IEEE 802.1D-2004 clause 17).
//!
//! * BPDUs: one AF_PACKET socket per port (all protocols, outgoing frames
//!   ignored), keeping 802.3 frames to 01:80:c2:00:00:00 with LLC
//!   `42 42 03`; transmitted frames go out the port device directly.
//! * Port states and FDB flushes: [`kernel`] (netlink `AF_BRIDGE`), with
//!   kernel STP off and an nftables rule keeping BPDUs out of the
//!   forwarding path.
//! * Links: `RTNLGRP_LINK` carrier changes become `LinkUp` (speed and
//!   duplex from the kernel: path cost, operPointToPointMAC) and `LinkDown`.
//!   When a port regains carrier the kernel (STP off) makes it forwarding at
//!   once; the role puts back the state RSTP wants right after.
//! * Status: `mstpctl showport`-style lines and the fields behind them.
//! * Shutdown: every port is left discarding (no loop without RSTP) and the
//!   nftables table removed.

pub mod kernel;

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Instant;

use rstp::{Bridge, Input, Output, PortState, PortStatus};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::config::rstp::RstpConfig;
use crate::control::status_channel;
use crate::netlink::{LinkEvent, LinkEvents, Netlink};
use crate::roles::{Role, RoleContext, RoleFuture};
use crate::sys::{AsyncPacketSocket, ETH_P_ALL};
use kernel::BridgePorts;

/// Bridge Group Address (802.1D table 7-10).
pub const BRIDGE_GROUP_ADDRESS: [u8; 6] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00];

/// The node's clock: read right before each `handle*` call.
#[allow(
    clippy::disallowed_methods,
    reason = "the role is where the node reads the clock"
)]
fn now() -> Instant {
    Instant::now()
}

/// Whether `frame` is an 802.3/LLC frame to the Bridge Group Address
/// (what [`rstp::Input::Bpdu`] takes).
#[must_use]
pub fn is_bpdu_frame(frame: &[u8]) -> bool {
    frame.get(..6) == Some(BRIDGE_GROUP_ADDRESS.as_slice())
        && frame
            .get(12..14)
            .and_then(|l| <[u8; 2]>::try_from(l).ok())
            .is_some_and(|l| u16::from_be_bytes(l) <= 1500)
        && frame.get(14..17) == Some([0x42, 0x42, 0x03].as_slice())
}

/// The role.
#[derive(Debug)]
pub struct RstpRole {
    config: RstpConfig,
}

impl RstpRole {
    /// The role when the configuration has an `[rstp]` section.
    #[must_use]
    pub fn from_config(config: &Config) -> Option<Self> {
        config.rstp.clone().map(|config| Self { config })
    }
}

impl Role for RstpRole {
    fn name(&self) -> &'static str {
        "rstp"
    }

    fn run(self: Box<Self>, ctx: RoleContext) -> RoleFuture {
        Box::pin(run(self.config, ctx))
    }
}

/// One bridge port as the role sees it.
#[derive(Debug)]
struct Port {
    number: u16,
    name: String,
    index: u32,
    socket: Arc<AsyncPacketSocket>,
    carrier: bool,
    /// The state RSTP asked for (re-applied after carrier returns).
    state: PortState,
    /// Setting `state` failed (`ENETDOWN`: carrier seen before the
    /// operational state is up); retried on the next link event.
    pending: bool,
    /// The last BPDU that failed the same way (`ENETDOWN` right after
    /// carrier returns), sent on the next link event that finds the port
    /// up: without it the proposal made on link up waits a Hello time.
    unsent: Option<Vec<u8>>,
}

async fn run(cfg: RstpConfig, mut ctx: RoleContext) -> io::Result<()> {
    let nl = Netlink::connect()?;
    let bp = BridgePorts::connect()?;
    let br = nl.link_by_name(&cfg.bridge).await?;
    let mac = br.mac.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bridge {} has no MAC address", cfg.bridge),
        )
    })?;
    kernel::kernel_stp_off(&cfg.bridge).await?;
    let names: Vec<&str> = cfg.port.iter().map(|p| p.name.as_str()).collect();
    kernel::install_bpdu_filter(&cfg.bridge, &names).await?;
    let mut events = LinkEvents::subscribe()?;
    let (rx_tx, mut rx) = mpsc::channel::<(u16, Vec<u8>)>(1024);
    let mut ports: Vec<Port> = Vec::new();
    let mut bconf = cfg.bridge_config(mac);
    for (p, number) in cfg.port.iter().zip(1u16..) {
        let link = nl.link_by_name(&p.name).await?;
        let socket = Arc::new(AsyncPacketSocket::bind(&p.name, ETH_P_ALL)?);
        socket.get_ref().set_ignore_outgoing(true)?;
        let _ = socket
            .get_ref()
            .set_multicast_membership(BRIDGE_GROUP_ADDRESS, true);
        if let Some(pc) = bconf.ports.get_mut(usize::from(number.saturating_sub(1))) {
            pc.mac = link.mac;
        }
        // Fail closed until RSTP decides (ENETDOWN without carrier is fine:
        // the kernel holds a port without carrier disabled).
        let pending = match bp.set_state(link.index, kernel::BR_STATE_DISABLED).await {
            Ok(()) => false,
            Err(e) => {
                tracing::debug!(port = %p.name, error = %e, "initial discarding");
                true
            }
        };
        let rsock = Arc::clone(&socket);
        let tx = rx_tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            loop {
                match rsock.recv(&mut buf).await {
                    Ok(n) => {
                        let frame = buf.get(..n).unwrap_or_default();
                        if is_bpdu_frame(frame) && tx.send((number, frame.to_vec())).await.is_err()
                        {
                            break;
                        }
                    }
                    // Carrier loss is reported once as ENETDOWN; frames
                    // queued after it are still there.
                    Err(e) if e.raw_os_error() == Some(libc::ENETDOWN) => {}
                    Err(e) => {
                        tracing::warn!(port = number, error = %e, "BPDU receive failed");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        if tx.is_closed() {
                            break;
                        }
                    }
                }
            }
        });
        ports.push(Port {
            number,
            name: p.name.clone(),
            index: link.index,
            socket,
            carrier: link.is_up(),
            state: PortState::Discarding,
            pending,
            unsent: None,
        });
    }
    drop(rx_tx);
    let mut bridge = Bridge::new(bconf, now())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let by_index: HashMap<u32, usize> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| (p.index, i))
        .collect();
    for p in &ports {
        if p.carrier {
            let (speed_mbps, duplex) = kernel::link_speed(&p.name, p.index);
            bridge.handle(
                now(),
                Input::LinkUp {
                    port: p.number,
                    speed_mbps,
                    duplex,
                },
            );
        }
    }
    tracing::info!(bridge = %cfg.bridge, ports = ports.len(), id = %bridge.status().bridge_id, "RSTP running");
    let (handle, mut status_rx) = status_channel();
    ctx.registry.register("rstp", handle);
    apply_outputs(&mut bridge, &mut ports, &bp).await;
    loop {
        let deadline = bridge
            .poll_timeout()
            .map(tokio::time::Instant::from_std)
            .unwrap_or_else(|| {
                let t = tokio::time::Instant::now();
                t.checked_add(std::time::Duration::from_secs(1))
                    .unwrap_or(t)
            });
        tokio::select! {
            Some((port, frame)) = rx.recv() => {
                let t = now();
                bridge.handle(t, Input::Bpdu { port, bytes: &frame });
                tracing::debug!(port, us = micros(t), "BPDU handled");
            }
            () = tokio::time::sleep_until(deadline) => bridge.handle_timeout(now()),
            ev = events.next() => match ev {
                Some(LinkEvent::Changed(info)) => {
                    if let Some(p) = by_index.get(&info.index).and_then(|i| ports.get_mut(*i)) {
                        let up = info.is_up();
                        // The kernel (STP off) makes a port forwarding when it
                        // becomes operational; put back what RSTP wants.
                        if up && (p.pending || up != p.carrier) {
                            apply_state(p, &bp).await;
                        }
                        if up && let Some(frame) = p.unsent.take() {
                            send_bpdu(p, frame).await;
                        }
                        if up != p.carrier {
                            p.carrier = up;
                            if up {
                                let (speed_mbps, duplex) = kernel::link_speed(&p.name, p.index);
                                tracing::info!(port = %p.name, speed_mbps, ?duplex, "link up");
                                bridge.handle(now(), Input::LinkUp { port: p.number, speed_mbps, duplex });
                            } else {
                                tracing::info!(port = %p.name, "link down");
                                p.unsent = None;
                                let t = now();
                                bridge.handle(t, Input::LinkDown { port: p.number });
                                tracing::debug!(port = %p.name, us = micros(t), "link down handled");
                            }
                        }
                    }
                }
                Some(LinkEvent::Removed { index, name }) => {
                    if by_index.contains_key(&index) {
                        return Err(io::Error::new(io::ErrorKind::NotFound, format!("port {name} removed")));
                    }
                }
                None => return Err(io::Error::other("link event subscription ended")),
            },
            Some(reply) = status_rx.recv() => { let _ = reply.send(status_json(&cfg, &bridge, &ports)); }
            () = ctx.shutdown.wait() => break,
        }
        apply_outputs(&mut bridge, &mut ports, &bp).await;
    }
    for p in &ports {
        let _ = bp.set_state(p.index, kernel::BR_STATE_DISABLED).await;
    }
    if let Err(e) = kernel::remove_bpdu_filter(&cfg.bridge).await {
        tracing::warn!(error = %e, "removing the nftables BPDU filter");
    }
    Ok(())
}

/// Applies one batch of the bridge's outputs, in the order that keeps
/// both safety and latency:
///
/// 1. ports whose (last) new state is Discarding, so that an Agreement in
///    the same batch never reaches the peer before the sync it promises
///    (802.1D-2004 17.29.3) is in the kernel;
/// 2. the BPDUs, before the other netlink round trips: the peer's rapid
///    transition waits on them (proposal/agreement, 17.29.3);
/// 3. Learning/Forwarding states, FDB flushes and logs.
///
/// Each step is timed at `debug` (`bench/rstp` reads the timestamps).
async fn apply_outputs(bridge: &mut Bridge, ports: &mut [Port], bp: &BridgePorts) {
    let mut batch = Vec::new();
    while let Some(out) = bridge.poll_output() {
        batch.push(out);
    }
    if batch.is_empty() {
        return;
    }
    let start = now();
    let mut changed: Vec<u16> = Vec::new();
    for out in &batch {
        if let Output::SetPortState { port, state } = out
            && let Some(p) = port_mut(ports, *port)
        {
            p.state = *state;
            if !changed.contains(port) {
                changed.push(*port);
            }
        }
    }
    for &number in &changed {
        if let Some(p) = port_mut(ports, number)
            && p.state == PortState::Discarding
        {
            tracing::info!(port = %p.name, state = %p.state, "port state");
            apply_state(p, bp).await;
            tracing::debug!(port = %p.name, us = micros(start), "discarding set");
        }
    }
    for out in &mut batch {
        if let Output::Transmit { port, frame } = out
            && let Some(p) = port_mut(ports, *port)
        {
            send_bpdu(p, std::mem::take(frame)).await;
            tracing::trace!(port = %p.name, us = micros(start), "transmit done");
        }
    }
    for &number in &changed {
        if let Some(p) = port_mut(ports, number)
            && p.state != PortState::Discarding
        {
            tracing::info!(port = %p.name, state = %p.state, "port state");
            apply_state(p, bp).await;
            tracing::debug!(port = %p.name, state = %p.state, us = micros(start), "state set");
        }
    }
    for out in batch {
        match out {
            Output::Transmit { .. } | Output::SetPortState { .. } => {}
            Output::FlushFdb { port } => {
                if let Some(p) = port_mut(ports, port) {
                    if let Err(e) = bp.flush(p.index).await {
                        tracing::warn!(port = %p.name, error = %e, "FDB flush");
                    }
                    tracing::debug!(port = %p.name, us = micros(start), "FDB flushed");
                }
            }
            Output::RoleChanged { port, role } => {
                let name = port_mut(ports, port).map(|p| p.name.clone());
                tracing::info!(port = name.as_deref().unwrap_or("?"), %role, "port role");
            }
            Output::RootChanged {
                root,
                root_port,
                root_path_cost,
            } => {
                tracing::info!(%root, ?root_port, root_path_cost, "root changed");
            }
            Output::Protection { port, event } => {
                tracing::warn!(port, ?event, "protection");
            }
            Output::Dropped { port, reason } => {
                tracing::debug!(port, ?reason, "input dropped");
            }
        }
    }
}

/// Sends one BPDU; one refused for want of an operational link
/// (`ENETDOWN`) is kept for the port's next link event.
async fn send_bpdu(p: &mut Port, frame: Vec<u8>) {
    match p.socket.send(&frame).await {
        Ok(_) => {
            p.unsent = None;
            tracing::debug!(port = %p.name, "BPDU sent");
        }
        Err(e) if e.raw_os_error() == Some(libc::ENETDOWN) => {
            tracing::debug!(port = %p.name, "BPDU held until the port is operational");
            p.unsent = Some(frame);
        }
        Err(e) => tracing::debug!(port = %p.name, error = %e, "BPDU send failed"),
    }
}

/// Microseconds since `start` (debug timings).
fn micros(start: Instant) -> u64 {
    u64::try_from(now().saturating_duration_since(start).as_micros()).unwrap_or(u64::MAX)
}

/// Sets the kernel port state to what RSTP wants; a port that is not
/// operational yet (`ENETDOWN`) is retried on its next link event.
async fn apply_state(p: &mut Port, bp: &BridgePorts) {
    match bp.set_state(p.index, kernel::br_state(p.state)).await {
        Ok(()) => p.pending = false,
        Err(e) => {
            p.pending = true;
            tracing::debug!(port = %p.name, error = %e, "set port state (retried on the next link event)");
        }
    }
}

fn port_mut(ports: &mut [Port], number: u16) -> Option<&mut Port> {
    ports.iter_mut().find(|p| p.number == number)
}

fn port_json(name: &str, s: &PortStatus) -> Value {
    json!({
        "name": name,
        "port": s.port,
        "port_id": s.port_id.to_string(),
        "role": s.role.to_string(),
        "state": s.state.to_string(),
        "path_cost": s.path_cost,
        "designated_root": s.designated_root.to_string(),
        "designated_cost": s.designated_cost,
        "designated_bridge": s.designated_bridge.to_string(),
        "designated_port": s.designated_port.to_string(),
        "edge": s.oper_edge,
        "p2p": s.oper_p2p,
        "send_rstp": s.send_rstp,
        "rx_bpdu": s.counters.rx_bpdu,
        "tx_bpdu": s.counters.tx_bpdu,
        "line": format!("{name:<15} {s}"),
    })
}

fn status_json(cfg: &RstpConfig, bridge: &Bridge, ports: &[Port]) -> Value {
    let b = bridge.status();
    let port_list: Vec<Value> = bridge
        .ports_status()
        .map(|s| {
            let name = ports
                .iter()
                .find(|p| p.number == s.port)
                .map_or("?", |p| p.name.as_str());
            port_json(name, &s)
        })
        .collect();
    json!({
        "bridge": cfg.bridge,
        "bridge_id": b.bridge_id.to_string(),
        "root": b.root.to_string(),
        "root_path_cost": b.root_path_cost,
        "root_port": b.root_port,
        "is_root": b.is_root,
        "max_age": b.max_age,
        "hello_time": b.hello_time,
        "forward_delay": b.forward_delay,
        "topology_change": b.topology_change,
        "ports": port_list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_bpdu_frames() {
        let mut f = vec![0u8; 60];
        f[..6].copy_from_slice(&BRIDGE_GROUP_ADDRESS);
        f[12..14].copy_from_slice(&39u16.to_be_bytes());
        f[14..17].copy_from_slice(&[0x42, 0x42, 0x03]);
        assert!(is_bpdu_frame(&f));
        f[14] = 0xaa;
        assert!(!is_bpdu_frame(&f));
        f[14] = 0x42;
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        assert!(!is_bpdu_frame(&f));
        f[12..14].copy_from_slice(&39u16.to_be_bytes());
        f[5] = 0x0e;
        assert!(!is_bpdu_frame(&f));
        assert!(!is_bpdu_frame(&f[..10]));
    }
}
