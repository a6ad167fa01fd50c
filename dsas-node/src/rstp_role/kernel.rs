//! The Linux bridge as the RSTP role drives it.
//!
//! * Kernel STP off (`stp_state 0`): the kernel then leaves port states to
//!   userspace, which sets them with `RTM_SETLINK`, family `AF_BRIDGE`,
//!   nested `IFLA_PROTINFO` / `IFLA_BRPORT_STATE` (as `bridge link set dev
//!   X state N` does). User STP proper (`stp_state 2`) is only available
//!   for bridges in the initial namespace (kernel `br_stp_start`).
//! * With STP off, `br_handle_frame` floods 01:80:c2:00:00:00 through
//!   forwarding ports; an nftables `bridge` table drops those frames on the
//!   forward hook so BPDUs stay link-local. The AF_PACKET sockets on the
//!   ports see them before the bridge does.
//! * Discarding is `BR_STATE_DISABLED`, not `BR_STATE_BLOCKING`: with STP
//!   off, `br_set_port_state` runs `br_port_state_selection`, which turns a
//!   Blocking designated port straight back to Forwarding
//!   (`br_make_forwarding` under `BR_NO_STP`); Disabled ports are left
//!   alone and drop every frame (`bridge link` shows them "disabled").
//! * FDB flush (17.21.4 flush): `IFLA_BRPORT_FLUSH`.
//! * Link speed and duplex: `/sys/class/net/X/{speed,duplex}`, checked
//!   against the interface index (sysfs shows the namespace it was mounted
//!   in; `ip netns exec` remounts it).

use std::io;

use futures::TryStreamExt as _;
use netlink_packet_core::DefaultNla;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::link::{LinkAttribute, LinkMessage, LinkProtoInfoBridge};
use rstp::{Duplex, PortState};
use tokio::process::Command;

/// `IFLA_BRPORT_STATE` (`<linux/if_link.h>`).
const IFLA_BRPORT_STATE: u16 = 1;
/// `IFLA_BRPORT_FLUSH`.
const IFLA_BRPORT_FLUSH: u16 = 24;
/// `BR_STATE_DISABLED` (`<linux/if_bridge.h>`).
pub const BR_STATE_DISABLED: u8 = 0;
/// `BR_STATE_LEARNING`.
pub const BR_STATE_LEARNING: u8 = 2;
/// `BR_STATE_FORWARDING`.
pub const BR_STATE_FORWARDING: u8 = 3;

/// The kernel port state for an RSTP port state (17.4); Discarding is
/// Disabled (see the module documentation).
#[must_use]
pub fn br_state(state: PortState) -> u8 {
    match state {
        PortState::Discarding => BR_STATE_DISABLED,
        PortState::Learning => BR_STATE_LEARNING,
        PortState::Forwarding => BR_STATE_FORWARDING,
    }
}

/// Bridge-port netlink requests.
#[derive(Debug, Clone)]
pub struct BridgePorts {
    handle: rtnetlink::Handle,
}

fn nl_err(what: &str, e: &rtnetlink::Error) -> io::Error {
    io::Error::other(format!("netlink {what}: {e}"))
}

impl BridgePorts {
    /// Opens a connection in the calling thread's namespace.
    ///
    /// # Errors
    /// Socket errors.
    pub fn connect() -> io::Result<Self> {
        let (conn, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(conn);
        Ok(Self { handle })
    }

    async fn set_protinfo(&self, index: u32, nla: DefaultNla, what: &str) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.interface_family = AddressFamily::Bridge;
        msg.header.index = index;
        msg.attributes = vec![LinkAttribute::ProtoInfoBridge(vec![
            LinkProtoInfoBridge::Other(nla),
        ])];
        self.handle
            .link()
            .set(msg)
            .execute()
            .await
            .map_err(|e| nl_err(what, &e))
    }

    /// Sets the port's state (`bridge link set dev X state N`).
    ///
    /// # Errors
    /// Netlink errors (`ENETDOWN` while the port has no carrier, `EBUSY`
    /// under kernel STP).
    pub async fn set_state(&self, index: u32, br_state: u8) -> io::Result<()> {
        self.set_protinfo(
            index,
            DefaultNla::new(IFLA_BRPORT_STATE, vec![br_state]),
            &format!("set port {index} state {br_state}"),
        )
        .await
    }

    /// Flushes the FDB entries learnt on the port.
    ///
    /// # Errors
    /// Netlink errors.
    pub async fn flush(&self, index: u32) -> io::Result<()> {
        self.set_protinfo(
            index,
            DefaultNla::new(IFLA_BRPORT_FLUSH, Vec::new()),
            &format!("flush port {index}"),
        )
        .await
    }

    /// The port's kernel state from `RTM_GETLINK` with `AF_BRIDGE`
    /// (`bridge link show`); `None` if not reported.
    ///
    /// # Errors
    /// Netlink errors.
    pub async fn state(&self, index: u32) -> io::Result<Option<u8>> {
        let mut req = self.handle.link().get().match_index(index).execute();
        while let Some(msg) = req.try_next().await.map_err(|e| nl_err("get link", &e))? {
            for attr in &msg.attributes {
                if let LinkAttribute::ProtoInfoBridge(infos) = attr {
                    for info in infos {
                        if let LinkProtoInfoBridge::Other(nla) = info
                            && netlink_packet_core::Nla::kind(nla) == IFLA_BRPORT_STATE
                        {
                            let mut v = [0u8; 1];
                            netlink_packet_core::Nla::emit_value(nla, &mut v);
                            return Ok(Some(v[0]));
                        }
                    }
                }
            }
        }
        Ok(None)
    }
}

async fn run_tool(program: &str, args: &[&str], stdin: Option<&str>) -> io::Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("{program}: {e}")))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).await?;
        drop(pipe);
    }
    let out = child.wait_with_output().await?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{program} {}: {} {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Turns kernel STP off on `bridge` (`ip link set BR type bridge stp_state 0`).
///
/// # Errors
/// `ip` failing.
pub async fn kernel_stp_off(bridge: &str) -> io::Result<()> {
    run_tool(
        "ip",
        &[
            "link",
            "set",
            "dev",
            bridge,
            "type",
            "bridge",
            "stp_state",
            "0",
        ],
        None,
    )
    .await
}

/// The nftables table keeping BPDUs off the forwarding path of `bridge`.
#[must_use]
pub fn nft_table(bridge: &str) -> String {
    format!("dsas_rstp_{}", bridge.replace(['-', '.'], "_"))
}

/// The nftables script: drop frames to the Bridge Group Address
/// (01:80:c2:00:00:00) that `bridge` would forward from one of `ports`
/// (`meta ibrname` needs `nft_meta_bridge`, often missing; `iifname` does
/// not).
#[must_use]
pub fn nft_script(bridge: &str, ports: &[&str]) -> String {
    let t = nft_table(bridge);
    let set: Vec<String> = ports.iter().map(|p| format!("\"{p}\"")).collect();
    let set = set.join(", ");
    format!(
        "table bridge {t} {{}}\ndelete table bridge {t}\n\
         table bridge {t} {{\n  chain forward {{\n    type filter hook forward priority -200; policy accept;\n    \
         iifname {{ {set} }} ether daddr 01:80:c2:00:00:00 counter drop\n  }}\n}}\n"
    )
}

/// Installs [`nft_script`].
///
/// # Errors
/// `nft` missing or failing.
pub async fn install_bpdu_filter(bridge: &str, ports: &[&str]) -> io::Result<()> {
    run_tool("nft", &["-f", "-"], Some(&nft_script(bridge, ports))).await
}

/// Removes the table of [`install_bpdu_filter`].
///
/// # Errors
/// `nft` failing.
pub async fn remove_bpdu_filter(bridge: &str) -> io::Result<()> {
    run_tool(
        "nft",
        &["delete", "table", "bridge", &nft_table(bridge)],
        None,
    )
    .await
}

/// Speed (Mb/s, 0 if unknown) and duplex of `name` (index `index`) from
/// sysfs; unknown duplex counts as full (virtual links are point-to-point).
#[must_use]
pub fn link_speed(name: &str, index: u32) -> (u32, Duplex) {
    let dir = std::path::Path::new("/sys/class/net").join(name);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).map(|s| s.trim().to_owned());
    if read("ifindex").ok().and_then(|s| s.parse::<u32>().ok()) != Some(index) {
        return (0, Duplex::Full);
    }
    let speed = read("speed")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| u32::try_from(s).ok())
        .unwrap_or(0);
    let duplex = match read("duplex").as_deref() {
        Ok("half") => Duplex::Half,
        _ => Duplex::Full,
    };
    (speed, duplex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_to_kernel_values() {
        assert_eq!(br_state(PortState::Discarding), 0);
        assert_eq!(br_state(PortState::Learning), 2);
        assert_eq!(br_state(PortState::Forwarding), 3);
    }

    #[test]
    fn nft_script_names_the_bridge() {
        let s = nft_script("br-0", &["p1", "p2"]);
        assert!(s.contains("table bridge dsas_rstp_br_0 {"));
        assert!(
            s.contains("iifname { \"p1\", \"p2\" } ether daddr 01:80:c2:00:00:00 counter drop")
        );
    }
}
