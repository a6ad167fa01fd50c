//! TAP devices for guest NICs, made with iproute2 (`ip tuntap`, `ip link`).
//!
//! qemu opens each TAP by name in the caller's namespace; only then is it
//! moved into its host namespace (the open file keeps it attached), so one
//! qemu can have NICs in several namespaces.

use std::process::Command;

use super::LabError;
use super::vm::NicAttach;

/// Runs `ip ARGS`.
pub(crate) fn ip(args: &[&str]) -> Result<(), LabError> {
    let out = Command::new("ip")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| LabError::io("running ip (apt-get install iproute2)", e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(LabError::HostCommand {
            command: format!("ip {}", args.join(" ")),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Creates a persistent TAP device `name` in the caller's namespace.
pub(crate) fn tap_create(name: &str) -> Result<(), LabError> {
    ip(&["tuntap", "add", "dev", name, "mode", "tap"])
}

/// Moves/enslaves an (already opened) TAP as `attach` says and sets it up.
pub(crate) fn tap_attach(name: &str, attach: &NicAttach) -> Result<(), LabError> {
    match attach {
        NicAttach::Tap => ip(&["link", "set", name, "up"]),
        NicAttach::Netns(ns) => {
            ip(&["link", "set", name, "netns", ns])?;
            ip(&["-n", ns, "link", "set", name, "up"])
        }
        NicAttach::Bridge {
            bridge,
            netns: None,
        } => ip(&["link", "set", name, "master", bridge, "up"]),
        NicAttach::Bridge {
            bridge,
            netns: Some(ns),
        } => {
            ip(&["link", "set", name, "netns", ns])?;
            ip(&["-n", ns, "link", "set", name, "master", bridge, "up"])
        }
    }
}

/// The namespace a TAP ends up in.
pub(crate) fn tap_netns(attach: &NicAttach) -> Option<&str> {
    match attach {
        NicAttach::Tap | NicAttach::Bridge { netns: None, .. } => None,
        NicAttach::Netns(ns)
        | NicAttach::Bridge {
            netns: Some(ns), ..
        } => Some(ns),
    }
}

/// Deletes TAP `name` wherever it is (its namespace, else the caller's);
/// a TAP already gone (namespace deleted) is fine.
pub(crate) fn tap_delete(name: &str, netns: Option<&str>) {
    if let Some(ns) = netns
        && ip(&["-n", ns, "link", "del", name]).is_ok()
    {
        return;
    }
    let _ = ip(&["link", "del", name]);
}
