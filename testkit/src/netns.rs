//! Network namespaces and devices (veth, bridge, macvlan, TAP, any
//! `ip link add` kind) that are deleted on drop, also when a test panics.
//!
//! Drop order is safe by construction: a [`Netns`] is a shared handle and
//! every device holds a clone of the namespaces it lives in, so a namespace
//! is deleted only after its last device, child process or capture is gone.
//! Namespace names carry the process id and a counter, and every device
//! lives in a namespace of its own test, so tests may run in parallel.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

/// Longest interface name Linux accepts (`IFNAMSIZ - 1`).
pub const IFNAME_MAX: usize = 15;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A process-wide unique number (namespace and device names, temp dirs).
pub(crate) fn next_id() -> u32 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// Runs `cmd`, returning its output, or an error naming the command, its
/// exit status and its stderr when it fails to start or exits non-zero.
///
/// # Errors
/// As described.
pub fn run_checked(cmd: &mut Command) -> io::Result<Output> {
    let output = run_unchecked(cmd)?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(io::Error::other(format!(
            "`{}` failed ({}): {}{}",
            describe(cmd),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end(),
            stdout_hint(&output),
        )))
    }
}

/// Runs `cmd` and returns its output whatever its exit status.
///
/// # Errors
/// When the command cannot be started (the error names it).
pub fn run_unchecked(cmd: &mut Command) -> io::Result<Output> {
    cmd.output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run `{}`: {e}", describe(cmd))))
}

fn stdout_hint(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stdout = stdout.trim_end();
    if stdout.is_empty() {
        String::new()
    } else {
        format!(" (stdout: {stdout})")
    }
}

/// The command line of `cmd`, for messages.
pub(crate) fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_file_exists(err: &io::Error) -> bool {
    err.to_string().contains("File exists")
}

/// Formats a MAC address as `aa:bb:cc:dd:ee:ff`.
#[must_use]
pub fn format_mac(mac: [u8; 6]) -> String {
    let [a, b, c, d, e, f] = mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
}

/// Parses `aa:bb:cc:dd:ee:ff` (as `ip` prints it).
#[must_use]
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0_u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

fn check_ifname(name: &str) -> io::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= IFNAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad interface name {name:?}: 1..={IFNAME_MAX} chars of [A-Za-z0-9._-]"),
        ))
    }
}

/// `base` with `suffix` appended, `base` shortened so the result fits
/// [`IFNAME_MAX`].
fn with_suffix(base: &str, suffix: u32) -> String {
    let suffix = suffix.to_string();
    let keep = IFNAME_MAX.saturating_sub(suffix.len()).min(base.len());
    let base: String = base.chars().take(keep).collect();
    format!("{base}{suffix}")
}

/// Attempts at a free device name: `base`, then `base1`, `base2`, ...
const NAME_ATTEMPTS: u32 = 64;

/// The `n`th candidate name for a device: `base`, then `base1`, `base2`, ...
fn candidate(base: &str, n: u32) -> String {
    if n == 0 {
        base.to_owned()
    } else {
        with_suffix(base, n)
    }
}

fn candidates(base: &str) -> impl Iterator<Item = String> + '_ {
    (0..NAME_ATTEMPTS).map(move |n| candidate(base, n))
}

#[derive(Debug)]
struct NsInner {
    name: String,
}

impl Drop for NsInner {
    fn drop(&mut self) {
        let result = run_checked(Command::new("ip").args(["netns", "delete", &self.name]));
        if let Err(e) = result {
            eprintln!("testkit: cannot delete namespace {}: {e}", self.name);
        }
    }
}

/// A named network namespace (`ip netns add`), deleted (with every device
/// still in it) when the last clone of the handle is dropped.
#[derive(Debug, Clone)]
pub struct Netns {
    inner: Arc<NsInner>,
}

impl PartialEq for Netns {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Netns {}

impl fmt::Display for Netns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Netns {
    /// Creates `PREFIX-PID-N` (unique within and across processes) with
    /// loopback up.
    ///
    /// # Errors
    /// Bad prefix (must be `[A-Za-z0-9_-]+`), not root, or `ip` failing.
    pub fn new(prefix: &str) -> io::Result<Self> {
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad namespace prefix {prefix:?}"),
            ));
        }
        let pid = std::process::id();
        let mut last = None;
        for _ in 0..16 {
            let name = format!("{prefix}-{pid}-{}", next_id());
            match run_checked(Command::new("ip").args(["netns", "add", &name])) {
                Ok(_) => {
                    let ns = Self {
                        inner: Arc::new(NsInner { name }),
                    };
                    ns.ip(&["link", "set", "lo", "up"])?;
                    return Ok(ns);
                }
                // A stale namespace from an earlier process with the same pid.
                Err(e) if is_file_exists(&e) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free namespace name")))
    }

    /// The namespace's name (as in `ip netns list`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// `/run/netns/NAME`, the bind mount to `setns` into.
    #[must_use]
    pub fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(self.name())
    }

    /// `ip -n NAME ARGS...`; fails on a non-zero exit.
    ///
    /// # Errors
    /// The command line, exit status and stderr.
    pub fn ip(&self, args: &[&str]) -> io::Result<Output> {
        run_checked(Command::new("ip").arg("-n").arg(self.name()).args(args))
    }

    /// `ip netns exec NAME ARGS...` (the program runs inside the namespace,
    /// with `/sys` remounted for it); fails on a non-zero exit.
    ///
    /// # Errors
    /// The command line, exit status and stderr.
    pub fn exec(&self, args: &[&str]) -> io::Result<Output> {
        run_checked(&mut self.command(args))
    }

    /// As [`Self::exec`] but returns the output whatever the exit status
    /// (for commands expected to fail, such as a ping that must not answer).
    ///
    /// # Errors
    /// Only when the command cannot be started.
    pub fn exec_unchecked(&self, args: &[&str]) -> io::Result<Output> {
        run_unchecked(&mut self.command(args))
    }

    /// `sh -c SCRIPT` inside the namespace; fails on a non-zero exit.
    ///
    /// # Errors
    /// The script, exit status and stderr.
    pub fn run(&self, script: &str) -> io::Result<Output> {
        self.exec(&["sh", "-c", script])
    }

    /// A [`Command`] for `ip netns exec NAME ARGS...`, to adjust before running.
    #[must_use]
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", self.name()]).args(args);
        cmd
    }

    /// `ip link set DEV up`.
    ///
    /// # Errors
    /// As [`Self::ip`].
    pub fn link_up(&self, dev: &str) -> io::Result<()> {
        self.ip(&["link", "set", "dev", dev, "up"]).map(drop)
    }

    /// `ip link set DEV down`.
    ///
    /// # Errors
    /// As [`Self::ip`].
    pub fn link_down(&self, dev: &str) -> io::Result<()> {
        self.ip(&["link", "set", "dev", dev, "down"]).map(drop)
    }

    /// `ip link set DEV address MAC`.
    ///
    /// # Errors
    /// As [`Self::ip`].
    pub fn set_mac(&self, dev: &str, mac: [u8; 6]) -> io::Result<()> {
        self.ip(&["link", "set", "dev", dev, "address", &format_mac(mac)])
            .map(drop)
    }

    /// `ip link set DEV mtu MTU`.
    ///
    /// # Errors
    /// As [`Self::ip`].
    pub fn set_mtu(&self, dev: &str, mtu: u32) -> io::Result<()> {
        self.ip(&["link", "set", "dev", dev, "mtu", &mtu.to_string()])
            .map(drop)
    }

    /// `ip addr add CIDR dev DEV` (`"10.0.0.1/24"`, `"fd00::1/64"`).
    ///
    /// # Errors
    /// As [`Self::ip`].
    pub fn addr_add(&self, dev: &str, cidr: &str) -> io::Result<()> {
        self.ip(&["addr", "add", cidr, "dev", dev]).map(drop)
    }

    /// `ip addr del CIDR dev DEV`.
    ///
    /// # Errors
    /// As [`Self::ip`].
    pub fn addr_del(&self, dev: &str, cidr: &str) -> io::Result<()> {
        self.ip(&["addr", "del", cidr, "dev", dev]).map(drop)
    }

    /// The link `dev` (`ip -j link show dev DEV`).
    ///
    /// # Errors
    /// No such device, or unparsable output.
    pub fn link(&self, dev: &str) -> io::Result<Link> {
        let out = self.ip(&["-j", "link", "show", "dev", dev])?;
        parse_links(&out.stdout)?.into_iter().next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{self}: no link {dev}"))
        })
    }

    /// Every link of the namespace (`ip -j link show`).
    ///
    /// # Errors
    /// `ip` failing or unparsable output.
    pub fn links(&self) -> io::Result<Vec<Link>> {
        parse_links(&self.ip(&["-j", "link", "show"])?.stdout)
    }

    /// Whether a link named `dev` exists.
    #[must_use]
    pub fn has_link(&self, dev: &str) -> bool {
        self.links()
            .is_ok_and(|links| links.iter().any(|l| l.name == dev))
    }

    /// MAC address of `dev`.
    ///
    /// # Errors
    /// No such device or no Ethernet address.
    pub fn mac(&self, dev: &str) -> io::Result<[u8; 6]> {
        self.link(dev)?
            .mac
            .ok_or_else(|| io::Error::other(format!("{self}: {dev} has no MAC")))
    }

    /// Sets a sysctl inside the namespace: `key` in dotted form
    /// (`net.ipv4.conf.veth0.arp_accept`) or as a `/proc/sys`-relative path
    /// with slashes (needed when an interface name contains a dot).
    ///
    /// # Errors
    /// Unknown key or refused value (the shell's message names the path).
    pub fn sysctl(&self, key: &str, value: &str) -> io::Result<()> {
        let path = sysctl_path(key);
        self.exec(&[
            "sh",
            "-c",
            "printf '%s\\n' \"$1\" > \"$2\"",
            "sh",
            value,
            &path,
        ])
        .map(drop)
    }

    /// Reads a sysctl inside the namespace (see [`Self::sysctl`] for `key`).
    ///
    /// # Errors
    /// Unknown key.
    pub fn sysctl_get(&self, key: &str) -> io::Result<String> {
        let out = self.exec(&["cat", &sysctl_path(key)])?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// The neighbour table, IPv4 and IPv6 (`ip -j neigh show`).
    ///
    /// # Errors
    /// `ip` failing or unparsable output.
    pub fn neighbors(&self) -> io::Result<Vec<Neighbor>> {
        parse_neighbors(&self.ip(&["-j", "neigh", "show"])?.stdout)
    }

    /// The neighbour entry for `ip` on `dev`, if any.
    ///
    /// # Errors
    /// As [`Self::neighbors`].
    pub fn neighbor(&self, dev: &str, ip: IpAddr) -> io::Result<Option<Neighbor>> {
        Ok(self
            .neighbors()?
            .into_iter()
            .find(|n| n.dev == dev && n.ip == ip))
    }
}

fn sysctl_path(key: &str) -> String {
    if key.contains('/') {
        format!(
            "/proc/sys/{}",
            key.trim_start_matches("/proc/sys/").trim_start_matches('/')
        )
    } else {
        format!("/proc/sys/{}", key.replace('.', "/"))
    }
}

fn parse_json_array(bytes: &[u8]) -> io::Result<Vec<Value>> {
    // `ip -j` prints nothing at all for an empty table on some versions.
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(other) => Err(io::Error::other(format!(
            "`ip -j`: expected an array, got {other}"
        ))),
        Err(e) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("`ip -j` output: {e}"),
        )),
    }
}

fn str_field(item: &Value, key: &str) -> Option<String> {
    item.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn str_list(item: &Value, key: &str) -> Vec<String> {
    item.get(key)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// One link as `ip -j link show` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface name.
    pub name: String,
    /// Interface index.
    pub ifindex: u32,
    /// Link-layer address (none for devices without one).
    pub mac: Option<[u8; 6]>,
    /// MTU.
    pub mtu: u32,
    /// `operstate` (`UP`, `DOWN`, `UNKNOWN`, `LOWERLAYERDOWN`, ...).
    pub operstate: String,
    /// Flags (`UP`, `LOWER_UP`, `BROADCAST`, `MULTICAST`, `NO-CARRIER`, ...).
    pub flags: Vec<String>,
    /// Master device (bridge, bond), if enslaved.
    pub master: Option<String>,
}

impl Link {
    /// Whether the administrative `UP` flag is set.
    #[must_use]
    pub fn is_up(&self) -> bool {
        self.flags.iter().any(|f| f == "UP")
    }

    /// Whether the carrier is on (`LOWER_UP`).
    #[must_use]
    pub fn has_carrier(&self) -> bool {
        self.flags.iter().any(|f| f == "LOWER_UP")
    }
}

fn parse_links(bytes: &[u8]) -> io::Result<Vec<Link>> {
    parse_json_array(bytes)?
        .iter()
        .map(|item| {
            let name = str_field(item, "ifname")
                .ok_or_else(|| io::Error::other(format!("link without ifname: {item}")))?;
            Ok(Link {
                ifindex: item
                    .get("ifindex")
                    .and_then(Value::as_u64)
                    .and_then(|i| u32::try_from(i).ok())
                    .unwrap_or(0),
                mac: str_field(item, "address").as_deref().and_then(parse_mac),
                mtu: item
                    .get("mtu")
                    .and_then(Value::as_u64)
                    .and_then(|i| u32::try_from(i).ok())
                    .unwrap_or(0),
                operstate: str_field(item, "operstate").unwrap_or_default(),
                flags: str_list(item, "flags"),
                master: str_field(item, "master"),
                name,
            })
        })
        .collect()
}

/// One neighbour entry as `ip -j neigh show` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    /// Protocol address (`dst`).
    pub ip: IpAddr,
    /// Device.
    pub dev: String,
    /// Link-layer address (absent for `INCOMPLETE`/`FAILED`).
    pub lladdr: Option<[u8; 6]>,
    /// NUD states (`REACHABLE`, `STALE`, `DELAY`, `PROBE`, `FAILED`,
    /// `INCOMPLETE`, `PERMANENT`, `NOARP`), usually exactly one.
    pub state: Vec<String>,
    /// `router` flag (IPv6).
    pub router: bool,
}

impl Neighbor {
    /// Whether `state` (e.g. `"STALE"`) is among the entry's NUD states.
    #[must_use]
    pub fn is(&self, state: &str) -> bool {
        self.state.iter().any(|s| s == state)
    }
}

fn parse_neighbors(bytes: &[u8]) -> io::Result<Vec<Neighbor>> {
    parse_json_array(bytes)?
        .iter()
        .map(|item| {
            let ip = str_field(item, "dst")
                .and_then(|dst| dst.parse().ok())
                .ok_or_else(|| io::Error::other(format!("neighbour without dst: {item}")))?;
            Ok(Neighbor {
                ip,
                dev: str_field(item, "dev").unwrap_or_default(),
                lladdr: str_field(item, "lladdr").as_deref().and_then(parse_mac),
                state: str_list(item, "state"),
                router: item.get("router").is_some(),
            })
        })
        .collect()
}

/// A link created with `ip link add NAME ARGS...` in a namespace, deleted
/// on drop. The building block of the typed devices below; use it directly
/// for other kinds (`dummy`, `vlan`, `bond`, ... where the kernel has them:
/// `ip link add` answers "Unknown device type" otherwise).
#[derive(Debug)]
pub struct Device {
    ns: Netns,
    name: String,
}

impl Device {
    /// `ip -n NS link add NAME ARGS...`, trying `NAME1`, `NAME2`, ... while
    /// the name is taken; returns the name actually used via [`Self::name`].
    ///
    /// # Errors
    /// Bad name or `ip` failing.
    pub fn add(ns: &Netns, name: &str, args: &[&str]) -> io::Result<Self> {
        check_ifname(name)?;
        let mut last = None;
        for candidate in candidates(name) {
            match Self::add_exact(ns, &candidate, args) {
                Err(e) if is_file_exists(&e) => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other(format!("{ns}: no free name like {name}"))))
    }

    /// `ip -n NS link add NAME ARGS...` with exactly that name.
    fn add_exact(ns: &Netns, name: &str, args: &[&str]) -> io::Result<Self> {
        let mut full = vec!["link", "add", name];
        full.extend_from_slice(args);
        ns.ip(&full)?;
        Ok(Self {
            ns: ns.clone(),
            name: name.to_owned(),
        })
    }

    /// Takes ownership of an existing link (deleted on drop).
    #[must_use]
    pub fn adopt(ns: &Netns, name: &str) -> Self {
        Self {
            ns: ns.clone(),
            name: name.to_owned(),
        }
    }

    /// The interface name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace it lives in.
    #[must_use]
    pub fn ns(&self) -> &Netns {
        &self.ns
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // Gone already when the other end of a veth was deleted first.
        if self.ns.has_link(&self.name)
            && let Err(e) = self.ns.ip(&["link", "del", "dev", &self.name])
        {
            eprintln!("testkit: cannot delete {} in {}: {e}", self.name, self.ns);
        }
    }
}

/// A veth pair, end A in one namespace and end B in another (or the same).
#[derive(Debug)]
pub struct Veth {
    a: Device,
    b_ns: Netns,
    b: String,
}

impl Veth {
    /// Creates `name_a` in `ns_a` paired with `name_b` in `ns_b`; a name
    /// already taken gets a numeric suffix (see [`Self::a`], [`Self::b`]).
    /// Both ends start down.
    ///
    /// # Errors
    /// Bad names, the same name twice in one namespace, or `ip` failing.
    pub fn new(ns_a: &Netns, name_a: &str, ns_b: &Netns, name_b: &str) -> io::Result<Self> {
        check_ifname(name_a)?;
        check_ifname(name_b)?;
        let same_ns = ns_a == ns_b;
        if same_ns && name_a == name_b {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("veth ends in one namespace need two names, got {name_a:?} twice"),
            ));
        }
        let mut last = None;
        for n in 0..NAME_ATTEMPTS {
            let (a, b) = (candidate(name_a, n), candidate(name_b, n));
            let mut args = vec!["type", "veth", "peer", "name", b.as_str()];
            if !same_ns {
                args.extend_from_slice(&["netns", ns_b.name()]);
            }
            match Device::add_exact(ns_a, &a, &args) {
                Ok(a) => {
                    return Ok(Self {
                        a,
                        b_ns: ns_b.clone(),
                        b,
                    });
                }
                Err(e) if is_file_exists(&e) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free veth name")))
    }

    /// Name of end A (in `ns_a`).
    #[must_use]
    pub fn a(&self) -> &str {
        self.a.name()
    }

    /// Name of end B (in `ns_b`).
    #[must_use]
    pub fn b(&self) -> &str {
        &self.b
    }

    /// Namespace of end A.
    #[must_use]
    pub fn ns_a(&self) -> &Netns {
        self.a.ns()
    }

    /// Namespace of end B.
    #[must_use]
    pub fn ns_b(&self) -> &Netns {
        &self.b_ns
    }

    /// Brings both ends up.
    ///
    /// # Errors
    /// As [`Netns::ip`].
    pub fn up(&self) -> io::Result<()> {
        self.ns_a().link_up(self.a())?;
        self.b_ns.link_up(&self.b)
    }
}

/// Options of a Linux bridge; the default is all off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BridgeOptions {
    /// Kernel STP (`stp_state`). Default off.
    pub stp: bool,
    /// IGMP/MLD snooping (`mcast_snooping`). Default off, so multicast is
    /// flooded like broadcast (VRRP adverts, unsolicited NAs).
    pub multicast_snooping: bool,
    /// 802.1Q filtering (`vlan_filtering`, needs
    /// `CONFIG_BRIDGE_VLAN_FILTERING`). Default off.
    pub vlan_filtering: bool,
    /// Forward delay in centiseconds (`forward_delay`); `None` = kernel
    /// default. Linux clamps to 2..30 s when STP is on.
    pub forward_delay_cs: Option<u32>,
}

/// A Linux bridge, created up, deleted on drop.
#[derive(Debug)]
pub struct Bridge {
    dev: Device,
}

impl Bridge {
    /// A bridge with [`BridgeOptions::default`] (STP off, snooping off).
    ///
    /// # Errors
    /// As [`Device::add`].
    pub fn new(ns: &Netns, name: &str) -> io::Result<Self> {
        Self::with_options(ns, name, BridgeOptions::default())
    }

    /// A bridge with explicit options, brought up.
    ///
    /// # Errors
    /// As [`Device::add`].
    pub fn with_options(ns: &Netns, name: &str, options: BridgeOptions) -> io::Result<Self> {
        let flag = |on: bool| if on { "1" } else { "0" };
        let delay = options.forward_delay_cs.map(|d| d.to_string());
        let mut args = vec![
            "type",
            "bridge",
            "stp_state",
            flag(options.stp),
            "mcast_snooping",
            flag(options.multicast_snooping),
        ];
        // Only when asked: kernels without CONFIG_BRIDGE_VLAN_FILTERING
        // reject the attribute even as 0.
        if options.vlan_filtering {
            args.extend_from_slice(&["vlan_filtering", "1"]);
        }
        if let Some(delay) = delay.as_deref() {
            args.extend_from_slice(&["forward_delay", delay]);
        }
        let dev = Device::add(ns, name, &args)?;
        ns.link_up(dev.name())?;
        Ok(Self { dev })
    }

    /// The bridge's interface name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.dev.name()
    }

    /// The namespace it lives in.
    #[must_use]
    pub fn ns(&self) -> &Netns {
        self.dev.ns()
    }

    /// Enslaves `port` (`ip link set PORT master BRIDGE`) and brings it up.
    ///
    /// # Errors
    /// As [`Netns::ip`].
    pub fn attach(&self, port: &str) -> io::Result<()> {
        self.ns()
            .ip(&["link", "set", "dev", port, "master", self.name()])?;
        self.ns().link_up(port)
    }

    /// Releases `port` (`ip link set PORT nomaster`).
    ///
    /// # Errors
    /// As [`Netns::ip`].
    pub fn detach(&self, port: &str) -> io::Result<()> {
        self.ns()
            .ip(&["link", "set", "dev", port, "nomaster"])
            .map(drop)
    }

    /// Names of the enslaved ports.
    ///
    /// # Errors
    /// As [`Netns::links`].
    pub fn ports(&self) -> io::Result<Vec<String>> {
        Ok(self
            .ns()
            .links()?
            .into_iter()
            .filter(|l| l.master.as_deref() == Some(self.name()))
            .map(|l| l.name)
            .collect())
    }
}

/// macvlan modes (`ip link add ... type macvlan mode MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacvlanMode {
    /// `private`
    Private,
    /// `vepa`
    Vepa,
    /// `bridge`
    Bridge,
    /// `passthru`
    Passthru,
    /// `source`
    Source,
}

impl MacvlanMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Vepa => "vepa",
            Self::Bridge => "bridge",
            Self::Passthru => "passthru",
            Self::Source => "source",
        }
    }
}

/// A macvlan on a parent link, named `mvN`, deleted on drop.
#[derive(Debug)]
pub struct Macvlan {
    dev: Device,
}

impl Macvlan {
    /// `ip link add mvN link PARENT type macvlan mode MODE`.
    ///
    /// # Errors
    /// As [`Device::add`].
    pub fn new(ns: &Netns, parent: &str, mode: MacvlanMode) -> io::Result<Self> {
        let name = with_suffix("mv", next_id());
        let dev = Device::add(
            ns,
            &name,
            &["link", parent, "type", "macvlan", "mode", mode.as_str()],
        )?;
        Ok(Self { dev })
    }

    /// The macvlan's interface name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.dev.name()
    }

    /// The namespace it lives in.
    #[must_use]
    pub fn ns(&self) -> &Netns {
        self.dev.ns()
    }
}

/// A persistent TAP device (`ip tuntap add NAME mode tap`), deleted on drop.
/// A process attaches with `TUNSETIFF` on `/dev/net/tun` from inside the
/// namespace.
#[derive(Debug)]
pub struct Tap {
    ns: Netns,
    name: String,
}

impl Tap {
    /// Creates the TAP (numeric suffix when the name is taken).
    ///
    /// # Errors
    /// Bad name or `ip` failing.
    pub fn new(ns: &Netns, name: &str) -> io::Result<Self> {
        check_ifname(name)?;
        for candidate in candidates(name) {
            if ns.has_link(&candidate) {
                continue;
            }
            ns.ip(&["tuntap", "add", "dev", &candidate, "mode", "tap"])?;
            return Ok(Self {
                ns: ns.clone(),
                name: candidate,
            });
        }
        Err(io::Error::other(format!("{ns}: no free name like {name}")))
    }

    /// The TAP's interface name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace it lives in.
    #[must_use]
    pub fn ns(&self) -> &Netns {
        &self.ns
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        if let Err(e) = self
            .ns
            .ip(&["tuntap", "del", "dev", &self.name, "mode", "tap"])
        {
            eprintln!(
                "testkit: cannot delete TAP {} in {}: {e}",
                self.name, self.ns
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_round_trip() {
        let mac = [0x02, 0, 0x5e, 0x10, 0xab, 0xff];
        assert_eq!(format_mac(mac), "02:00:5e:10:ab:ff");
        assert_eq!(parse_mac("02:00:5e:10:ab:ff"), Some(mac));
        assert_eq!(parse_mac("02:00:5e:10:ab"), None);
        assert_eq!(parse_mac("02:00:5e:10:ab:ff:00"), None);
        assert_eq!(parse_mac("zz:00:5e:10:ab:ff"), None);
    }

    #[test]
    fn suffixed_names_fit_ifnamsiz() {
        assert_eq!(with_suffix("veth0", 3), "veth03");
        assert_eq!(with_suffix("abcdefghijklmno", 12), "abcdefghijklm12");
        assert!(candidates("abcdefghijklmno").all(|n| n.len() <= IFNAME_MAX));
        assert!(check_ifname("abcdefghijklmnop").is_err());
        assert!(check_ifname("br0.10").is_ok());
        assert!(check_ifname("a b").is_err());
    }

    #[test]
    fn sysctl_keys_map_to_proc_paths() {
        assert_eq!(
            sysctl_path("net.ipv4.conf.veth0.arp_accept"),
            "/proc/sys/net/ipv4/conf/veth0/arp_accept"
        );
        assert_eq!(
            sysctl_path("net/ipv4/conf/br0.10/arp_accept"),
            "/proc/sys/net/ipv4/conf/br0.10/arp_accept"
        );
    }

    #[test]
    fn parses_ip_json() {
        let neigh = br#"[{"dst":"10.0.0.1","dev":"v0","lladdr":"02:00:00:00:00:01","state":["STALE"]},
            {"dst":"fe80::1","dev":"v0","lladdr":"02:00:00:00:00:02","router":null,"state":["REACHABLE"]},
            {"dst":"10.0.0.9","dev":"v0","state":["FAILED"]}]"#;
        let n = parse_neighbors(neigh).unwrap();
        assert_eq!(n.len(), 3);
        assert_eq!(n[0].ip, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(n[0].lladdr, Some([2, 0, 0, 0, 0, 1]));
        assert!(n[0].is("STALE") && !n[0].router);
        assert!(n[1].router && n[1].is("REACHABLE"));
        assert_eq!(n[2].lladdr, None);
        assert!(parse_neighbors(b"").unwrap().is_empty());
        let links =
            br#"[{"ifindex":7,"ifname":"p1","flags":["BROADCAST","UP","LOWER_UP"],"mtu":1500,
            "master":"br0","operstate":"UP","address":"02:00:00:00:00:07"}]"#;
        let l = parse_links(links).unwrap();
        assert_eq!(l[0].ifindex, 7);
        assert_eq!(l[0].master.as_deref(), Some("br0"));
        assert!(l[0].is_up() && l[0].has_carrier());
        assert_eq!(l[0].mac, Some([2, 0, 0, 0, 0, 7]));
    }
}
