//! IPv4 per-interface settings under `/proc/sys/net/ipv4/conf`, changed
//! with their first values kept so that shutdown puts them back.
//!
//! The VRRP role sets what keepalived sets for a `use_vmac` interface
//! (keepalived `vrrp_if_config.c`, `set_interface_parameters` and
//! `clear_rp_filter`): on the VMAC `arp_ignore` 1, `accept_local` 1,
//! `rp_filter` 0 and `promote_secondaries` 1; on its parent `arp_ignore` 1
//! and `arp_filter` 1, so that the parent does not answer ARP for the VIP
//! with its own MAC; and, because the kernel uses the larger of `all` and
//! the interface's `rp_filter`, `all.rp_filter` 0 with every interface
//! that had less raised to the old `all` value (their filtering is
//! unchanged, the VMAC's is off).

use std::fs;
use std::io;
use std::path::PathBuf;

/// The `/proc/sys` directory of IPv4 interface settings.
const CONF: &str = "/proc/sys/net/ipv4/conf";

/// Settings changed so far, each with the value it had first.
#[derive(Debug, Default)]
pub struct Sysctls {
    saved: Vec<(PathBuf, String)>,
}

fn path(ifname: &str, key: &str) -> PathBuf {
    [CONF, ifname, key].iter().collect()
}

fn with_path(p: &std::path::Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", p.display()))
}

/// Reads one integer setting (`ifname` may be `all` or `default`).
pub fn read(ifname: &str, key: &str) -> io::Result<u32> {
    let p = path(ifname, key);
    let text = fs::read_to_string(&p).map_err(with_path(&p))?;
    text.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not an integer: {:?}", p.display(), text.trim()),
        )
    })
}

impl Sysctls {
    /// Nothing changed yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `ifname`'s `key` to `value`, keeping the value it had first.
    /// Writes nothing when it already holds `value`.
    pub fn set(&mut self, ifname: &str, key: &str, value: u32) -> io::Result<()> {
        let p = path(ifname, key);
        let old = fs::read_to_string(&p).map_err(with_path(&p))?;
        if old.trim() == value.to_string() {
            return Ok(());
        }
        fs::write(&p, value.to_string()).map_err(with_path(&p))?;
        tracing::debug!(path = %p.display(), old = old.trim(), new = value, "sysctl set");
        if !self.saved.iter().any(|(q, _)| *q == p) {
            self.saved.push((p, old.trim().to_owned()));
        }
        Ok(())
    }

    /// keepalived's VMAC settings for `vmac` and its parent `parent`.
    pub fn vmac(&mut self, vmac: &str, parent: &str) -> io::Result<()> {
        for (key, value) in [
            ("arp_ignore", 1),
            ("accept_local", 1),
            ("rp_filter", 0),
            ("promote_secondaries", 1),
        ] {
            self.set(vmac, key, value)?;
        }
        self.set(parent, "arp_ignore", 1)?;
        self.set(parent, "arp_filter", 1)
    }

    /// keepalived's `clear_rp_filter`: when `all.rp_filter` is set, raises
    /// every interface (and `default`) below it to its value, then clears
    /// it, so that an interface's own 0 takes effect.
    pub fn clear_all_rp_filter(&mut self) -> io::Result<()> {
        let all = read("all", "rp_filter")?;
        if all == 0 {
            return Ok(());
        }
        let mut names: Vec<String> = fs::read_dir(CONF)
            .map_err(with_path(std::path::Path::new(CONF)))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n != "all")
            .collect();
        names.sort();
        for name in names {
            // An interface may go away meanwhile; skip it.
            match read(&name, "rp_filter") {
                Ok(v) if v < all => self.set(&name, "rp_filter", all)?,
                _ => {}
            }
        }
        self.set("all", "rp_filter", 0)
    }

    /// Puts every setting back, last changed first. Settings of
    /// interfaces that are gone (a VMAC the role deleted) are skipped.
    pub fn restore(&mut self) {
        while let Some((p, old)) = self.saved.pop() {
            match fs::write(&p, &old) {
                Ok(()) => tracing::debug!(path = %p.display(), value = %old, "sysctl restored"),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(path = %p.display(), error = %e, "sysctl not restored"),
            }
        }
    }
}
