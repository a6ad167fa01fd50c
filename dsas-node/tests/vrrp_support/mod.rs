//! VRRP interop harness: a LAN of network namespaces (a switch with a
//! bridge, router namespaces, a client), launchers for keepalived 2.2.7,
//! FRR 8.4 vrrpd and dsas-node, and a client-side prober telling which
//! router owns the virtual IP (client ARP entry → bridge FDB port →
//! router; ping replies over time).
//!
//! Reference: `shared/reference/vrrp-arp.md` §7–§9, §12.
#![allow(dead_code, reason = "each test binary uses a subset")]

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::Signal;
use testkit::exec::{Child, TempDir};
use testkit::netns::BridgeOptions;
use testkit::{Bridge, Netns, Veth};

/// The virtual IP every scenario uses.
pub const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
/// The virtual IPv6 address of the IPv6 scenarios ([`Spec::ipv6`]).
pub const VIP6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x100);
/// The link-local VIP listed first in the IPv6 scenarios.
pub const VIP6_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x100);
/// The client's IPv6 address.
pub const CLIENT6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x200);
/// The client's address.
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 200);
/// The router interface name in every router namespace.
pub const IFNAME: &str = "eth0";

/// Seconds since the epoch, as the notify script and `ping -D` write them.
pub fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Extra seconds for upper timing bounds under load: twice the worst of
/// three `sh -c date` fork+exec latencies, measured now (the transition
/// times come from notify scripts the daemons fork the same way), capped
/// at 1 s; about 0 on an idle host.
pub fn load_margin() -> f64 {
    let mut worst: f64 = 0.0;
    for _ in 0..3 {
        let t0 = epoch_now();
        let out = std::process::Command::new("sh")
            .args(["-c", "date +%s.%N"])
            .output();
        let reported = out
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .unwrap_or(t0);
        worst = worst.max(reported - t0);
    }
    (2.0 * worst).clamp(0.0, 1.0)
}

/// One router namespace on the LAN.
#[derive(Debug)]
pub struct RouterNs {
    /// The namespace.
    pub ns: Netns,
    /// Its primary address (10.0.0.N).
    pub addr: Ipv4Addr,
    /// Its NIC's MAC.
    pub mac: [u8; 6],
    /// The switch port (bridge side of its veth).
    pub port: String,
    /// Index in [`Lan::routers`].
    pub index: usize,
}

impl RouterNs {
    /// Its global IPv6 address, fd00::N (not configured by [`Lan::new`]:
    /// see [`Self::add_addr6`]).
    pub fn addr6(&self) -> Ipv6Addr {
        Ipv6Addr::new(
            0xfd00,
            0,
            0,
            0,
            0,
            0,
            0,
            u16::try_from(self.index + 1).unwrap(),
        )
    }

    /// Puts [`Self::addr6`] on the NIC.
    pub fn add_addr6(&self) {
        self.ns
            .addr_add(IFNAME, &format!("{}/64", self.addr6()))
            .unwrap();
    }

    /// The source of unicast adverts for `spec`: the IPv4 primary address,
    /// or for IPv6 the global [`Self::addr6`] (as keepalived users
    /// configure `unicast_src_ip`).
    pub fn unicast_src(&self, spec: &Spec) -> IpAddr {
        if spec.ipv6 {
            IpAddr::V6(self.addr6())
        } else {
            IpAddr::V4(self.addr)
        }
    }
}

/// Switch + routers + client.
#[derive(Debug)]
pub struct Lan {
    /// Switch namespace.
    pub sw: Netns,
    /// Bridge in the switch (multicast snooping off).
    pub bridge: Bridge,
    /// Router namespaces, 10.0.0.1, 10.0.0.2, ...
    pub routers: Vec<RouterNs>,
    /// Client namespace (10.0.0.200).
    pub client: Netns,
    /// The client's switch port.
    pub client_port: String,
    veths: Vec<Veth>,
}

impl Lan {
    /// `n` routers and a client on one bridge.
    pub fn new(tag: &str, n: usize) -> Lan {
        let sw = Netns::new(&format!("{tag}-sw")).unwrap();
        let bridge = Bridge::with_options(
            &sw,
            "br0",
            BridgeOptions {
                multicast_snooping: false,
                ..BridgeOptions::default()
            },
        )
        .unwrap();
        let mut veths = Vec::new();
        let mut routers = Vec::new();
        for index in 0..n {
            let ns = Netns::new(&format!("{tag}-r{}", index + 1)).unwrap();
            let veth = Veth::new(&sw, &format!("p{}", index + 1), &ns, IFNAME).unwrap();
            bridge.attach(veth.a()).unwrap();
            // VMAC routers keep a Backup VIP on a protodown macvlan: answer
            // ARP only on the interface holding the address.
            ns.sysctl("net.ipv4.conf.all.arp_ignore", "1").unwrap();
            ns.sysctl(&format!("net.ipv6.conf.{IFNAME}.accept_dad"), "0")
                .unwrap();
            // VMACs made later (IPv6 link-local source of adverts).
            ns.sysctl("net.ipv6.conf.default.accept_dad", "0").unwrap();
            let addr = Ipv4Addr::new(10, 0, 0, u8::try_from(index + 1).unwrap());
            ns.addr_add(veth.b(), &format!("{addr}/24")).unwrap();
            ns.link_up(veth.b()).unwrap();
            routers.push(RouterNs {
                mac: ns.mac(veth.b()).unwrap(),
                port: veth.a().to_owned(),
                ns,
                addr,
                index,
            });
            veths.push(veth);
        }
        let client = Netns::new(&format!("{tag}-c")).unwrap();
        let veth = Veth::new(&sw, "pc", &client, IFNAME).unwrap();
        bridge.attach(veth.a()).unwrap();
        client
            .sysctl(&format!("net.ipv6.conf.{IFNAME}.accept_dad"), "0")
            .unwrap();
        client.addr_add(veth.b(), &format!("{CLIENT}/24")).unwrap();
        client.addr_add(veth.b(), &format!("{CLIENT6}/64")).unwrap();
        client.link_up(veth.b()).unwrap();
        let client_port = veth.a().to_owned();
        veths.push(veth);
        Lan {
            sw,
            bridge,
            routers,
            client,
            client_port,
            veths,
        }
    }

    /// The switch port that learned `mac` (bridge FDB), if any.
    pub fn port_of(&self, mac: [u8; 6]) -> Option<String> {
        let out = self
            .sw
            .exec(&["bridge", "-j", "fdb", "show", "br", self.bridge.name()])
            .unwrap();
        let entries: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let want = testkit::netns::format_mac(mac);
        entries.as_array()?.iter().find_map(|e| {
            let m = e.get("mac")?.as_str()?;
            let perm = e.get("state").and_then(|s| s.as_str()) == Some("permanent");
            (m.eq_ignore_ascii_case(&want) && !perm)
                .then(|| e.get("ifname")?.as_str().map(str::to_owned))
                .flatten()
        })
    }

    /// The client's ARP entry for the VIP (MAC), if it has a usable one.
    pub fn client_vip_mac(&self) -> Option<[u8; 6]> {
        self.client_mac_of(IpAddr::V4(VIP))
    }

    /// The client's neighbour entry (ARP / NDP) for `ip`, if usable.
    pub fn client_mac_of(&self, ip: IpAddr) -> Option<[u8; 6]> {
        let n = self.client.neighbor(IFNAME, ip).ok()??;
        if n.is("FAILED") || n.is("INCOMPLETE") {
            return None;
        }
        n.lladdr
    }

    /// One ping of the VIP from the client (1 s timeout).
    pub fn ping_once(&self) -> bool {
        self.ping_addr(IpAddr::V4(VIP))
    }

    /// One ping (`ping -6` for IPv6) of `ip` from the client.
    pub fn ping_addr(&self, ip: IpAddr) -> bool {
        let fam = if ip.is_ipv6() { "-6" } else { "-4" };
        self.client
            .exec_unchecked(&["ping", fam, "-c1", "-W1", "-n", &ip.to_string()])
            .is_ok_and(|o| o.status.success())
    }

    /// [`Self::client_owner`] for any VIP (ARP or NDP entry).
    pub fn client_owner_of(&self, ip: IpAddr) -> Option<usize> {
        if !self.ping_addr(ip) {
            return None;
        }
        let mac = self.client_mac_of(ip)?;
        let port = self.port_of(mac)?;
        self.routers.iter().position(|r| r.port == port)
    }

    /// [`Self::wait_client_owner`] for any VIP.
    pub fn wait_client_owner_of(
        &self,
        ip: IpAddr,
        want: usize,
        timeout: Duration,
    ) -> Result<(), Option<usize>> {
        let mut last = None;
        let ok = testkit::wait_for(
            || {
                last = self.client_owner_of(ip);
                last == Some(want)
            },
            timeout,
        );
        if ok { Ok(()) } else { Err(last) }
    }

    /// Removes the IPv6 VIP from router `i` wherever it is.
    pub fn flush_vip6(&self, i: usize) {
        let r = &self.routers[i];
        let _ = r.ns.run(&format!(
            "for d in $(ip -o -6 addr show to {VIP6} | awk '{{print $2}}' | cut -d@ -f1); do ip -6 addr del {VIP6}/64 dev $d 2>/dev/null || ip -6 addr del {VIP6}/128 dev $d; done; true"
        ));
    }

    /// The router that owns the VIP as the client sees it: the client pings
    /// the VIP, its ARP entry's MAC is looked up in the bridge FDB, the port
    /// names the router. `None` when the ping fails or nothing resolves.
    pub fn client_owner(&self) -> Option<usize> {
        if !self.ping_once() {
            return None;
        }
        let mac = self.client_vip_mac()?;
        let port = self.port_of(mac)?;
        self.routers.iter().position(|r| r.port == port)
    }

    /// Waits until the client sees router `want` owning the VIP (pings
    /// answered, ARP entry → its port); returns the last view on timeout.
    pub fn wait_client_owner(&self, want: usize, timeout: Duration) -> Result<(), Option<usize>> {
        let mut last = None;
        let ok = testkit::wait_for(
            || {
                last = self.client_owner();
                last == Some(want)
            },
            timeout,
        );
        if ok { Ok(()) } else { Err(last) }
    }

    /// Removes the VIP from router `i` wherever it is configured (a SIGKILLed
    /// daemon leaves it behind; a dead host would not answer for it).
    pub fn flush_vip(&self, i: usize) {
        let r = &self.routers[i];
        let _ = r.ns.run(&format!(
            "for d in $(ip -o addr show to {VIP} | awk '{{print $2}}' | cut -d@ -f1); do ip addr del {VIP}/24 dev $d 2>/dev/null || ip addr del {VIP}/32 dev $d; done; true"
        ));
    }

    /// Whether router `i` has the VIP on some interface that is up with
    /// carrier.
    pub fn router_holds_vip(&self, i: usize) -> bool {
        let out = self.routers[i]
            .ns
            .ip(&["-j", "addr", "show", "to", &VIP.to_string()])
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v.as_array().is_some_and(|a| {
            a.iter().any(|l| {
                l.get("flags")
                    .and_then(|f| f.as_array())
                    .is_some_and(|f| f.iter().any(|x| x == "LOWER_UP"))
                    && l.get("addr_info")
                        .and_then(|x| x.as_array())
                        .is_some_and(|x| !x.is_empty())
            })
        })
    }

    /// Starts a background prober in the client: `ping -D -i 0.05` of the
    /// VIP, replies time-stamped.
    pub fn prober(&self) -> Prober {
        let child = self
            .client
            .spawn(&[
                "ping",
                "-D",
                "-n",
                "-i",
                "0.05",
                "-W",
                "1",
                &VIP.to_string(),
            ])
            .unwrap();
        Prober { child }
    }
}

/// `ping -D` of the VIP running in the client.
#[derive(Debug)]
pub struct Prober {
    child: Child,
}

impl Prober {
    /// Reply times (epoch seconds).
    pub fn replies(&self) -> Vec<f64> {
        self.child
            .stdout()
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("bytes from"))
            .filter_map(|l| l.strip_prefix('[')?.split(']').next()?.parse().ok())
            .collect()
    }

    /// The longest time without a reply between `from` and `to` (epoch
    /// seconds), counting the edges of the window.
    pub fn longest_gap(&self, from: f64, to: f64) -> f64 {
        let mut prev = from;
        let mut gap: f64 = 0.0;
        for t in self.replies().into_iter().filter(|t| *t > from && *t <= to) {
            gap = gap.max(t - prev);
            prev = t;
        }
        gap.max(to - prev)
    }

    /// Replies received after `from`.
    pub fn replies_after(&self, from: f64) -> usize {
        self.replies().into_iter().filter(|t| *t > from).count()
    }
}

/// States a daemon reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VrrpState {
    /// Backup.
    Backup,
    /// Master.
    Master,
    /// Fault.
    Fault,
    /// Stopped / Initialize.
    Stop,
}

impl VrrpState {
    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "BACKUP" => Some(Self::Backup),
            "MASTER" => Some(Self::Master),
            "FAULT" => Some(Self::Fault),
            "STOP" | "INITIALIZE" | "INIT" => Some(Self::Stop),
            _ => None,
        }
    }
}

/// Writes the keepalived-compatible notify script (`notify` form: `TYPE
/// NAME STATE PRIORITY`) appending `EPOCH STATE` lines to `log`.
fn write_notify_script(dir: &Path, log: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let script = dir.join("notify.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$(date +%s.%N) $3 $4\" >> {}\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// Reads a notify log: `(epoch, state)` lines.
fn read_notify(log: &Path) -> Vec<(f64, VrrpState)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let t = w.next()?.parse().ok()?;
            let s = VrrpState::parse(w.next()?)?;
            Some((t, s))
        })
        .collect()
}

/// A typed VRRP instance description, rendered for each implementation.
#[derive(Debug, Clone)]
pub struct Spec {
    /// 2 or 3.
    pub version: u8,
    /// VRID.
    pub vrid: u8,
    /// Priority.
    pub priority: u8,
    /// Advertisement interval.
    pub advert_int: Duration,
    /// keepalived `nopreempt` / FRR `no vrrp N preempt`.
    pub nopreempt: bool,
    /// keepalived `preempt_delay` (s).
    pub preempt_delay: u32,
    /// Unicast: peers (source: [`RouterNs::unicast_src`]).
    pub unicast_peers: Vec<IpAddr>,
    /// VRRPv2 `auth_type PASS` password.
    pub auth_pass: Option<String>,
    /// Run on the virtual MAC.
    pub use_vmac: bool,
    /// IPv6 (VRRPv3, [`VIP6`]) instead of IPv4.
    pub ipv6: bool,
    /// dsas-node only: extra keys of the `[[vrrp.instance]]` table.
    pub node_instance: String,
    /// dsas-node only: extra tables after the instance.
    pub node_tables: String,
}

impl Spec {
    /// v3, VRID 51, 1 s, preempt.
    pub fn new(version: u8, priority: u8) -> Spec {
        Spec {
            version,
            vrid: 51,
            priority,
            advert_int: Duration::from_secs(1),
            nopreempt: false,
            preempt_delay: 0,
            unicast_peers: Vec::new(),
            auth_pass: None,
            use_vmac: false,
            ipv6: false,
            node_instance: String::new(),
            node_tables: String::new(),
        }
    }

    /// The IPv6 variant ([`VIP6`], v3).
    pub fn v6(mut self) -> Spec {
        self.ipv6 = true;
        self.version = 3;
        self
    }

    /// The VIPs with their prefix lengths. IPv6: a link-local VIP first
    /// (RFC 5798 §5.2.9; dsas-node requires it, keepalived logs it,
    /// strict mode refuses), then [`VIP6`].
    pub fn vips(&self) -> Vec<String> {
        if self.ipv6 {
            vec![format!("{VIP6_LL}/64"), format!("{VIP6}/64")]
        } else {
            vec![format!("{VIP}/24")]
        }
    }

    /// With another interval.
    pub fn interval(mut self, d: Duration) -> Spec {
        self.advert_int = d;
        self
    }

    /// Master_Down_Interval for a Backup of this spec hearing a Master at
    /// the same interval: 3·I + Skew_Time (v2 skew ignores the interval).
    pub fn master_down_interval(&self) -> Duration {
        self.advert_int * 3 + self.skew_time()
    }

    /// Skew_Time.
    pub fn skew_time(&self) -> Duration {
        let k = 256 - u32::from(self.priority);
        if self.version == 2 {
            Duration::from_secs(1) * k / 256
        } else {
            self.advert_int * k / 256
        }
    }
}

/// Something speaking VRRP in a router namespace.
pub trait Daemon {
    /// Current state, if known.
    fn state(&self) -> Option<VrrpState>;
    /// SIGKILL (every process of the daemon).
    fn kill(&mut self);
    /// SIGSTOP.
    fn freeze(&mut self);
    /// SIGCONT.
    fn thaw(&mut self);
    /// Graceful stop (SIGTERM, wait for exit).
    fn stop(&mut self);
    /// When (epoch) it last entered `state`, if it reports that.
    fn entered(&self, state: VrrpState) -> Option<f64>;
    /// Name for messages.
    fn label(&self) -> String;

    /// Waits for `state`; returns the time it took.
    fn wait_state(&self, state: VrrpState, timeout: Duration) -> Result<Duration, String> {
        let t0 = Instant::now();
        if testkit::wait_for(|| self.state() == Some(state), timeout) {
            Ok(t0.elapsed())
        } else {
            Err(format!(
                "{}: not {state:?} within {timeout:?} (is {:?})",
                self.label(),
                self.state()
            ))
        }
    }
}

fn signal_pid(pid: i32, sig: Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

// ---------------------------------------------------------------- keepalived

/// keepalived 2.2.7 (`-n -l -D -P`: foreground, console log, VRRP only).
#[derive(Debug)]
pub struct Keepalived {
    child: Option<Child>,
    dir: TempDir,
    name: String,
}

impl Keepalived {
    /// The configuration text for `spec` on router `r`.
    pub fn config(r: &RouterNs, spec: &Spec, notify: &Path) -> String {
        let mut c = String::new();
        let _ = writeln!(
            c,
            "global_defs {{\n    router_id ka{}\n    vrrp_version {}\n    enable_script_security\n    script_user root\n}}",
            r.index + 1,
            spec.version
        );
        let _ = writeln!(c, "vrrp_instance VI_1 {{");
        let _ = writeln!(c, "    state BACKUP\n    interface {IFNAME}");
        let _ = writeln!(c, "    virtual_router_id {}", spec.vrid);
        let _ = writeln!(c, "    priority {}", spec.priority);
        let _ = writeln!(c, "    advert_int {}", spec.advert_int.as_secs_f64());
        if spec.nopreempt {
            let _ = writeln!(c, "    nopreempt");
        }
        if spec.preempt_delay > 0 {
            let _ = writeln!(c, "    preempt_delay {}", spec.preempt_delay);
        }
        if spec.use_vmac {
            let _ = writeln!(c, "    use_vmac");
        }
        if let Some(p) = &spec.auth_pass {
            let _ = writeln!(
                c,
                "    authentication {{\n        auth_type PASS\n        auth_pass {p}\n    }}"
            );
        }
        if !spec.unicast_peers.is_empty() {
            let _ = writeln!(c, "    unicast_src_ip {}", r.unicast_src(spec));
            let _ = writeln!(c, "    unicast_peer {{");
            for p in &spec.unicast_peers {
                let _ = writeln!(c, "        {p}");
            }
            let _ = writeln!(c, "    }}");
        }
        let _ = writeln!(c, "    notify {}", notify.display());
        let _ = writeln!(
            c,
            "    virtual_ipaddress {{\n{}    }}\n}}",
            spec.vips()
                .iter()
                .map(|v| format!("        {v} dev {IFNAME}\n"))
                .collect::<String>()
        );
        c
    }

    /// Starts keepalived in `r`'s namespace.
    pub fn start(r: &RouterNs, spec: &Spec) -> Keepalived {
        let dir = TempDir::new().unwrap();
        let log = dir.path().join("notify.log");
        let script = write_notify_script(dir.path(), &log);
        let conf = dir.path().join("keepalived.conf");
        std::fs::write(&conf, Self::config(r, spec, &script)).unwrap();
        let p = |n: &str| dir.path().join(n).display().to_string();
        let child =
            r.ns.spawn(&[
                "keepalived",
                "-n",
                "-l",
                "-D",
                "-P",
                "-f",
                &p("keepalived.conf"),
                "-p",
                &p("keepalived.pid"),
                "-r",
                &p("vrrp.pid"),
            ])
            .unwrap();
        let mut k = Keepalived {
            child: Some(child),
            dir,
            name: format!("keepalived@{}", r.addr),
        };
        // Started when the VRRP child reports its initial state.
        if let Err(e) = k.wait_state(VrrpState::Backup, Duration::from_secs(10)) {
            let out = k.output();
            k.child.as_mut().map(Child::terminate);
            panic!("{e}\n{out}");
        }
        k
    }

    fn vrrp_pid(&self) -> Option<i32> {
        read_pid(&self.dir.path().join("vrrp.pid"))
    }

    fn main_pid(&self) -> Option<i32> {
        self.child.as_ref().and_then(|c| i32::try_from(c.id()).ok())
    }

    /// Everything keepalived logged.
    pub fn output(&self) -> String {
        self.child
            .as_ref()
            .map(|c| c.stdout().unwrap_or_default() + &c.stderr().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Daemon for Keepalived {
    fn state(&self) -> Option<VrrpState> {
        read_notify(&self.dir.path().join("notify.log"))
            .last()
            .map(|(_, s)| *s)
    }

    fn entered(&self, state: VrrpState) -> Option<f64> {
        read_notify(&self.dir.path().join("notify.log"))
            .into_iter()
            .rev()
            .find(|(_, s)| *s == state)
            .map(|(t, _)| t)
    }

    fn kill(&mut self) {
        // The VRRP child first (it gets SIGTERM as parent-death signal and
        // would send priority 0), then the parent (which would restart it).
        if let Some(p) = self.vrrp_pid() {
            signal_pid(p, Signal::SIGKILL);
        }
        if let Some(p) = self.main_pid() {
            signal_pid(p, Signal::SIGKILL);
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.wait_timeout(Duration::from_secs(2));
        }
    }

    fn freeze(&mut self) {
        for p in [self.vrrp_pid(), self.main_pid()].into_iter().flatten() {
            signal_pid(p, Signal::SIGSTOP);
        }
    }

    fn thaw(&mut self) {
        for p in [self.main_pid(), self.vrrp_pid()].into_iter().flatten() {
            signal_pid(p, Signal::SIGCONT);
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.stop_with(Signal::SIGTERM, Duration::from_secs(5));
        }
    }

    fn label(&self) -> String {
        self.name.clone()
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        self.thaw();
        if let Some(mut c) = self.child.take() {
            let _ = c.stop_with(Signal::SIGTERM, Duration::from_secs(3));
        }
        if let Some(p) = self.vrrp_pid() {
            signal_pid(p, Signal::SIGKILL);
        }
    }
}

// ----------------------------------------------------------------------- FRR

/// FRR 8.4 zebra + vrrpd in a router namespace, with the operator-made
/// VMAC macvlan (bridge mode) holding the VIP (reference §12).
#[derive(Debug)]
pub struct Frr {
    zebra: Option<Child>,
    vrrpd: Option<Child>,
    dir: TempDir,
    ns: Netns,
    name: String,
    macvlan: String,
    /// `[IPv4]` / `[IPv6]` in vrrpd's log lines.
    family_tag: &'static str,
}

/// FRR's binaries.
pub const FRR_DIR: &str = "/usr/lib/frr";

impl Frr {
    /// The vrrpd configuration for `spec`.
    pub fn config(spec: &Spec) -> String {
        let v = spec.vrid;
        let mut c = format!("interface {IFNAME}\n vrrp {v} version {}\n", spec.version);
        let _ = writeln!(c, " vrrp {v} priority {}", spec.priority);
        let _ = writeln!(
            c,
            " vrrp {v} advertisement-interval {}",
            spec.advert_int.as_millis()
        );
        if spec.nopreempt {
            let _ = writeln!(c, " no vrrp {v} preempt");
        }
        if spec.ipv6 {
            let _ = writeln!(c, " vrrp {v} ipv6 {VIP6_LL}");
            let _ = writeln!(c, " vrrp {v} ipv6 {VIP6}");
        } else {
            let _ = writeln!(c, " vrrp {v} ip {VIP}");
        }
        c
    }

    /// Starts zebra and vrrpd in `r`'s namespace.
    pub fn start(r: &RouterNs, spec: &Spec) -> Frr {
        assert!(spec.unicast_peers.is_empty() && spec.auth_pass.is_none());
        let dir = TempDir::new().unwrap();
        let d = dir.path().display().to_string();
        r.ns.exec(&["chown", "frr:frr", &d]).unwrap();
        let (fam, fam_byte) = if spec.ipv6 { (6, 2) } else { (4, 1) };
        let macvlan = format!("vrrp{fam}-{}", spec.vrid);
        let vmac = format!("00:00:5e:00:{fam_byte:02x}:{:02x}", spec.vrid);
        r.ns.ip(&[
            "link", "add", &macvlan, "link", IFNAME, "type", "macvlan", "mode", "bridge",
        ])
        .unwrap();
        r.ns.ip(&["link", "set", &macvlan, "address", &vmac])
            .unwrap();
        for vip in spec.vips() {
            r.ns.addr_add(&macvlan, &vip).unwrap();
        }
        r.ns.link_up(&macvlan).unwrap();
        std::fs::write(
            dir.path().join("vrrpd.conf"),
            // Transition times come from this log: microseconds, set in
            // the file (`--log` ignores `log timestamp precision`).
            format!(
                "log timestamp precision 6\nlog file {}/vrrpd.log\n{}",
                dir.path().display(),
                Self::config(spec)
            ),
        )
        .unwrap();
        r.ns.exec(&["chown", "-R", "frr:frr", &d]).unwrap();
        let common = |daemon: &str| -> Vec<String> {
            [
                format!("{FRR_DIR}/{daemon}"),
                "-u".into(),
                "frr".into(),
                "-g".into(),
                "frr".into(),
                "-z".into(),
                format!("{d}/zserv.api"),
                "--vty_socket".into(),
                d.clone(),
                "-i".into(),
                format!("{d}/{daemon}.pid"),
                "-A".into(),
                "127.0.0.1".into(),
                "-P".into(),
                "0".into(),
                "--log".into(),
                format!("file:{d}/{daemon}.log"),
            ]
            .into()
        };
        let mut zargs = common("zebra");
        zargs.extend(["-f".into(), "/dev/null".into()]);
        let zargs: Vec<&str> = zargs.iter().map(String::as_str).collect();
        let zebra = r.ns.spawn(&zargs).unwrap();
        let api = dir.path().join("zserv.api");
        assert!(
            testkit::wait_for(|| api.exists(), Duration::from_secs(10)),
            "zebra did not start: {}",
            zebra.stderr().unwrap_or_default()
        );
        let mut vargs = common("vrrpd");
        vargs.truncate(vargs.len() - 2);
        vargs.extend(["-f".into(), format!("{d}/vrrpd.conf")]);
        let vargs: Vec<&str> = vargs.iter().map(String::as_str).collect();
        let vrrpd = r.ns.spawn(&vargs).unwrap();
        let f = Frr {
            zebra: Some(zebra),
            vrrpd: Some(vrrpd),
            dir,
            ns: r.ns.clone(),
            name: format!("frr@{}", r.addr),
            macvlan,
            family_tag: if spec.ipv6 { "[IPv6]" } else { "[IPv4]" },
        };
        if let Err(e) = f
            .wait_state(VrrpState::Backup, Duration::from_secs(10))
            .or_else(|_| f.wait_state(VrrpState::Master, Duration::from_millis(10)))
        {
            panic!("{e}\n{}", f.log());
        }
        f
    }

    /// `show vrrp json`, the IPv4 router of the first VRID.
    pub fn show(&self) -> Option<serde_json::Value> {
        let out = self
            .ns
            .exec_unchecked(&[
                "vtysh",
                "--vty_socket",
                &self.dir.path().display().to_string(),
                "-c",
                "show vrrp json",
            ])
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        v.as_array()?.first()?.get("v4").cloned()
    }

    /// vrrpd's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("vrrpd.log")).unwrap_or_default()
    }

    fn pid(&self, c: &Option<Child>) -> Option<i32> {
        c.as_ref().and_then(|c| i32::try_from(c.id()).ok())
    }
}

impl Daemon for Frr {
    fn state(&self) -> Option<VrrpState> {
        self.vrrpd.as_ref()?;
        // The log is cheaper than vtysh and has transition times.
        let log = self.log();
        let last = log
            .lines()
            .rfind(|l| l.contains(self.family_tag) && l.contains(" -> "))?;
        VrrpState::parse(last.rsplit(" -> ").next()?.trim())
    }

    fn entered(&self, state: VrrpState) -> Option<f64> {
        // "2026/11/23 01:40:26.123456 VRRP: ... [IPv4] Backup -> Master" (UTC).
        let log = self.log();
        let line = log.lines().rfind(|l| {
            l.contains(self.family_tag)
                && l.contains(" -> ")
                && l.rsplit(" -> ")
                    .next()
                    .and_then(|s| VrrpState::parse(s.trim()))
                    == Some(state)
        })?;
        parse_frr_time(line)
    }

    fn kill(&mut self) {
        if let Some(p) = self.pid(&self.vrrpd) {
            signal_pid(p, Signal::SIGKILL);
        }
        if let Some(mut c) = self.vrrpd.take() {
            let _ = c.wait_timeout(Duration::from_secs(2));
        }
    }

    fn freeze(&mut self) {
        if let Some(p) = self.pid(&self.vrrpd) {
            signal_pid(p, Signal::SIGSTOP);
        }
    }

    fn thaw(&mut self) {
        if let Some(p) = self.pid(&self.vrrpd) {
            signal_pid(p, Signal::SIGCONT);
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.vrrpd.take() {
            let _ = c.stop_with(Signal::SIGTERM, Duration::from_secs(5));
        }
        // vrrpd leaves the operator's VMAC as it was; a stopped router must
        // not answer for the VIP.
        let _ = self.ns.ip(&["link", "set", &self.macvlan, "down"]);
    }

    fn label(&self) -> String {
        self.name.clone()
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        self.thaw();
        if let Some(mut c) = self.vrrpd.take() {
            let _ = c.stop_with(Signal::SIGTERM, Duration::from_secs(3));
        }
        if let Some(mut c) = self.zebra.take() {
            let _ = c.stop_with(Signal::SIGTERM, Duration::from_secs(3));
        }
        let _ = self.ns.ip(&["link", "del", &self.macvlan]);
    }
}

/// Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Epoch seconds of an FRR log line's UTC timestamp.
fn parse_frr_time(line: &str) -> Option<f64> {
    let mut w = line.split_whitespace();
    let date = w.next()?;
    let time = w.next()?;
    let mut d = date.split('/').map(|x| x.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
    let secs = days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + s;
    let frac: f64 = format!("0.{frac}").parse().ok()?;
    #[allow(clippy::cast_precision_loss, reason = "epoch seconds fit")]
    Some(secs as f64 + frac)
}

// ------------------------------------------------------------------ dsas-node

/// How to run the node with `conf`: `dsas-node run --config CONF`.
pub fn node_command(conf: &Path) -> (String, Vec<String>) {
    (
        env!("CARGO_BIN_EXE_dsas-node").to_owned(),
        vec!["run".into(), "--config".into(), conf.display().to_string()],
    )
}

/// dsas-node (`run --config`) with one VRRP instance.
#[derive(Debug)]
pub struct DsasNode {
    child: Option<Child>,
    dir: TempDir,
    name: String,
}

impl DsasNode {
    /// The node configuration for `spec` on router `r`.
    pub fn config(r: &RouterNs, spec: &Spec, dir: &Path, notify: &Path) -> String {
        let mut c = String::new();
        let _ = writeln!(
            c,
            "[node]\nname = \"dsas{}\"\ncontrol_socket = \"{}\"\nlog_level = \"info\"\n",
            r.index + 1,
            dir.join("control.sock").display()
        );
        let _ = writeln!(
            c,
            "[[vrrp.instance]]\nname = \"VI_1\"\ninterface = \"{IFNAME}\""
        );
        let _ = writeln!(c, "virtual_router_id = {}", spec.vrid);
        let _ = writeln!(c, "priority = {}", spec.priority);
        let _ = writeln!(c, "advert_int = {}", spec.advert_int.as_secs_f64());
        let _ = writeln!(c, "version = {}", spec.version);
        if spec.nopreempt {
            let _ = writeln!(c, "nopreempt = true");
        }
        if spec.preempt_delay > 0 {
            let _ = writeln!(c, "preempt_delay = {}", spec.preempt_delay);
        }
        if spec.use_vmac {
            let _ = writeln!(c, "use_vmac = true");
        }
        if !spec.unicast_peers.is_empty() {
            let peers: Vec<String> = spec
                .unicast_peers
                .iter()
                .map(|p| format!("\"{p}\""))
                .collect();
            let _ = writeln!(c, "unicast_src_ip = \"{}\"", r.unicast_src(spec));
            let _ = writeln!(c, "unicast_peer = [{}]", peers.join(", "));
        }
        let _ = writeln!(c, "notify = \"{}\"", notify.display());
        let vips: Vec<String> = spec.vips().iter().map(|v| format!("\"{v}\"")).collect();
        let _ = writeln!(c, "virtual_ipaddress = [{}]", vips.join(", "));
        c.push_str(&spec.node_instance);
        if let Some(p) = &spec.auth_pass {
            let _ = writeln!(
                c,
                "[vrrp.instance.authentication]\nauth_type = \"PASS\"\nauth_pass = \"{p}\""
            );
        }
        c.push_str(&spec.node_tables);
        c
    }

    /// Starts the node binary in `r`'s namespace.
    pub fn start(r: &RouterNs, spec: &Spec) -> DsasNode {
        let dir = TempDir::new().unwrap();
        let log = dir.path().join("notify.log");
        let script = write_notify_script(dir.path(), &log);
        let conf = dir.path().join("node.toml");
        std::fs::write(&conf, Self::config(r, spec, dir.path(), &script)).unwrap();
        let (bin, args) = node_command(&conf);
        let mut argv = vec![bin.as_str()];
        argv.extend(args.iter().map(String::as_str));
        let child = r.ns.spawn(&argv).unwrap();
        let n = DsasNode {
            child: Some(child),
            dir,
            name: format!("dsas-node@{}", r.addr),
        };
        if let Err(e) = n
            .wait_state(VrrpState::Backup, Duration::from_secs(10))
            .or_else(|_| n.wait_state(VrrpState::Master, Duration::from_millis(10)))
        {
            panic!("{e}\n{}", n.output());
        }
        n
    }

    /// The node's log (stderr).
    pub fn output(&self) -> String {
        self.child
            .as_ref()
            .map(|c| c.stderr().unwrap_or_default())
            .unwrap_or_default()
    }

    /// `dsas-node status --json` against this node's control socket.
    pub fn status(&self) -> Option<serde_json::Value> {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dsas-node"))
            .args(["status", "--json", "--socket"])
            .arg(self.dir.path().join("control.sock"))
            .output()
            .ok()?;
        serde_json::from_slice(&out.stdout).ok()
    }

    fn pid(&self) -> Option<i32> {
        self.child.as_ref().and_then(|c| i32::try_from(c.id()).ok())
    }
}

impl Daemon for DsasNode {
    fn state(&self) -> Option<VrrpState> {
        read_notify(&self.dir.path().join("notify.log"))
            .last()
            .map(|(_, s)| *s)
    }

    fn entered(&self, state: VrrpState) -> Option<f64> {
        read_notify(&self.dir.path().join("notify.log"))
            .into_iter()
            .rev()
            .find(|(_, s)| *s == state)
            .map(|(t, _)| t)
    }

    fn kill(&mut self) {
        if let Some(p) = self.pid() {
            signal_pid(p, Signal::SIGKILL);
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.wait_timeout(Duration::from_secs(2));
        }
    }

    fn freeze(&mut self) {
        if let Some(p) = self.pid() {
            signal_pid(p, Signal::SIGSTOP);
        }
    }

    fn thaw(&mut self) {
        if let Some(p) = self.pid() {
            signal_pid(p, Signal::SIGCONT);
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let status = c
                .stop_with(Signal::SIGTERM, Duration::from_secs(6))
                .unwrap();
            assert!(
                status.success(),
                "dsas-node exited {status}: {}",
                c.stderr().unwrap_or_default()
            );
        }
    }

    fn label(&self) -> String {
        self.name.clone()
    }
}

impl Drop for DsasNode {
    fn drop(&mut self) {
        self.thaw();
        if let Some(mut c) = self.child.take() {
            if std::thread::panicking() {
                eprintln!("--- {} log:\n{}", self.name, c.stderr().unwrap_or_default());
            }
            let _ = c.stop_with(Signal::SIGTERM, Duration::from_secs(6));
        }
    }
}

/// Which implementation to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// keepalived 2.2.7.
    Keepalived,
    /// FRR vrrpd.
    Frr,
    /// dsas-node.
    Dsas,
}

/// Starts `which` on router `r`.
pub fn start(which: Impl, r: &RouterNs, spec: &Spec) -> Box<dyn Daemon + Send> {
    match which {
        Impl::Keepalived => Box::new(Keepalived::start(r, spec)),
        Impl::Frr => Box::new(Frr::start(r, spec)),
        Impl::Dsas => Box::new(DsasNode::start(r, spec)),
    }
}

/// Whether the tools for `which` are present (prints a SKIP line if not).
pub fn have(which: Impl) -> bool {
    let tool = match which {
        Impl::Keepalived => "keepalived",
        Impl::Frr => "vtysh",
        Impl::Dsas => "ip",
    };
    if testkit::find_tool(tool).is_none()
        || (which == Impl::Frr && !Path::new(FRR_DIR).join("vrrpd").exists())
    {
        testkit::print_skip(&format!("needs {tool}"));
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    #[test]
    fn frr_timestamps_are_utc_epoch() {
        let t = super::parse_frr_time("2026/11/23 01:40:26.500000 VRRP: x").unwrap();
        assert!((t - 1_795_398_026.5).abs() < 1e-6, "{t}");
    }
}
