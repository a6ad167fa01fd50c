//! Workspace-internal test kit (not published): network namespaces and
//! devices torn down on drop, processes inside namespaces, tshark captures
//! read back as JSON, and the qemu kernel lab.
//!
//! Tests that need root call [`require_root!`] first, which prints a clear
//! skip line and returns when not running as root; [`require_tool!`] does the
//! same for a missing binary.
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! let a = testkit::netns::Netns::new("doc")?;
//! let b = testkit::netns::Netns::new("doc")?;
//! let veth = testkit::netns::Veth::new(&a, "veth0", &b, "veth0")?;
//! a.addr_add(veth.a(), "10.0.0.1/24")?;
//! b.addr_add(veth.b(), "10.0.0.2/24")?;
//! a.link_up(veth.a())?;
//! b.link_up(veth.b())?;
//! a.exec(&["ping", "-c1", "-W2", "10.0.0.2"])?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod capture;
pub mod corpus;
pub mod exec;
pub mod lab;
pub mod netns;
pub mod tshark;

use std::path::{Path, PathBuf};

pub use exec::{wait_for, wait_for_value};
pub use netns::{Bridge, Macvlan, MacvlanMode, Netns, Tap, Veth};

/// Whether the process runs with effective uid 0.
#[must_use]
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Full path of `tool` if an executable of that name is on `PATH` (or in
/// `/usr/sbin`, `/sbin`, which a non-login `PATH` may lack).
#[must_use]
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(tool))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Name of the running test: libtest names each test's thread after it.
#[must_use]
pub fn current_test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_owned()
}

/// Prints `SKIP <test>: <why>` to stderr (the line [`require_root!`] and
/// [`require_tool!`] print before returning).
pub fn print_skip(why: &str) {
    eprintln!("SKIP {}: {why}", current_test_name());
}

/// Returns from the calling test (with `()` or the given value) after
/// printing `SKIP <test name>: needs root (network namespaces)` when the
/// effective uid is not 0.
///
/// ```no_run
/// #[test]
/// fn pings() {
///     testkit::require_root!();
///     // ...
/// }
/// ```
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::is_root() {
            $crate::print_skip("needs root (network namespaces)");
            return;
        }
    };
    ($ret:expr) => {
        if !$crate::is_root() {
            $crate::print_skip("needs root (network namespaces)");
            return $ret;
        }
    };
}

/// Returns from the calling test (with `()` or the given value) after
/// printing `SKIP <test name>: needs <tool>` when no such binary is found by
/// [`find_tool`].
#[macro_export]
macro_rules! require_tool {
    ($tool:expr) => {
        if $crate::find_tool($tool).is_none() {
            $crate::print_skip(&format!("needs {} (not found on PATH)", $tool));
            return;
        }
    };
    ($tool:expr, $ret:expr) => {
        if $crate::find_tool($tool).is_none() {
            $crate::print_skip(&format!("needs {} (not found on PATH)", $tool));
            return $ret;
        }
    };
}
