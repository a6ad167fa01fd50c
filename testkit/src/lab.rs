//! The kernel lab: Debian's own kernel booted under qemu (TCG) as a real
//! peer with IPVS, bonding, 802.1Q and DRBD 8.4, which the host kernel lacks.
//!
//! [`Lab::ensure_built`] builds (once, cached by kernel version, serialised
//! by a lock file) the image with `lab/build.sh`; [`Vm::boot`] starts a guest
//! with virtio NICs on TAP devices (left in the caller's namespace, moved
//! into a host namespace, or enslaved to a host bridge), optional raw disks
//! and extra files, and [`Vm::run`] runs shell commands inside it over a
//! second serial port, returning output and exit status. Dropping a [`Vm`]
//! kills qemu and removes its TAP devices and temporary files.
//!
//! See `lab/README.md` for the image layout and the guest protocol.

mod b64;
mod build;
mod cpio;
mod net;
mod qmp;
mod vm;

pub use build::{Lab, LabImage};
pub use vm::{CmdOutput, NicAttach, Vm, VmConfig};

use std::time::Duration;

/// Everything that can go wrong in the lab, with the message a test prints.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// qemu is not installed on the host.
    #[error("qemu-system-x86_64 not found: apt-get install qemu-system-x86")]
    QemuMissing,
    /// TAP devices and namespaces need root.
    #[error("the kernel lab needs root (TAP devices, namespaces)")]
    NotRoot,
    /// `lab/build.sh` failed (download, extraction, depmod, ...).
    #[error("lab image build failed (exit {status}):\n{log}")]
    Build {
        /// Exit status of the build script.
        status: i32,
        /// The tail of its output (the apt error for a failed download).
        log: String,
    },
    /// A host-side I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A host command (`ip ...`) failed.
    #[error("`{command}` failed: {stderr}")]
    HostCommand {
        /// The command line.
        command: String,
        /// Its standard error.
        stderr: String,
    },
    /// The guest did not report ready in time.
    #[error("VM {vm} did not become ready within {timeout:?}; console tail:\n{console_tail}")]
    BootTimeout {
        /// VM name.
        vm: String,
        /// The boot timeout.
        timeout: Duration,
        /// The last lines of the serial console.
        console_tail: String,
    },
    /// qemu exited (or closed the command channel) unexpectedly.
    #[error("qemu for VM {vm} exited ({status}); console tail:\n{console_tail}")]
    QemuExited {
        /// VM name.
        vm: String,
        /// Exit status as text, or "still running" when only the channel closed.
        status: String,
        /// The last lines of the serial console.
        console_tail: String,
    },
    /// A command inside the guest, or a console wait, took too long.
    #[error(
        "VM {vm}: timed out after {timeout:?} waiting for {what}; console tail:\n{console_tail}"
    )]
    Timeout {
        /// VM name.
        vm: String,
        /// What was awaited.
        what: String,
        /// The timeout.
        timeout: Duration,
        /// The last lines of the serial console.
        console_tail: String,
    },
    /// The guest sent something the command protocol does not expect.
    #[error("VM {vm}: command channel protocol error: {detail}")]
    Protocol {
        /// VM name.
        vm: String,
        /// What was wrong.
        detail: String,
    },
    /// The qemu monitor (QMP) refused a command.
    #[error("VM {vm}: qmp: {detail}")]
    Qmp {
        /// VM name.
        vm: String,
        /// The error.
        detail: String,
    },
    /// The configuration's setup script exited non-zero.
    #[error("VM {vm}: setup script exited {}:\nstdout:\n{}\nstderr:\n{}", output.status, output.stdout, output.stderr)]
    SetupFailed {
        /// VM name.
        vm: String,
        /// What the script printed, and its status.
        output: CmdOutput,
    },
    /// A configuration value is unusable.
    #[error("invalid lab configuration: {0}")]
    Config(String),
}

impl LabError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// `Instant::now` for the host-side harness (the lab is test tooling, not a
/// sans-IO library).
#[allow(
    clippy::disallowed_methods,
    reason = "test tooling measures wall-clock timeouts"
)]
pub(crate) fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let skip = all.len().saturating_sub(lines);
    all.iter()
        .skip(skip)
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

/// Path of `qemu-system-x86_64`, if installed.
#[must_use]
pub fn qemu_path() -> Option<std::path::PathBuf> {
    crate::find_tool("qemu-system-x86_64")
}
