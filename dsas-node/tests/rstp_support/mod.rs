//! Bridges in network namespaces for the RSTP real-peer tests: Linux
//! kernel STP bridges (802.1D) and dsas-node bridges (the `rstp` role run
//! as the binary), joined by veth pairs, with hosts for traffic probes.
#![allow(dead_code, reason = "shared by several test files")]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dsas_node::sys::PacketSocket;
use nix::sys::signal::Signal;
use testkit::exec::{Child, TempDir};
use testkit::netns::{Netns, Veth};

/// Timers for every bridge: 2·(FwdDelay − 1) ≥ MaxAge ≥ 2·(Hello + 1).
pub const HELLO: u16 = 1;
/// Max age (s).
pub const MAX_AGE: u16 = 6;
/// Forward delay (s).
pub const FWD_DELAY: u16 = 4;
/// Experimental ethertype of the broadcast probe (IEEE 802 local).
pub const PROBE_ETHERTYPE: u16 = 0x88b5;

/// Which implementation a bridge runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Linux kernel STP (`stp_state 1`, 802.1D-1998).
    Kernel,
    /// dsas-node's RSTP role.
    Dsas,
}

/// One bridge `br0` in its own namespace.
#[derive(Debug)]
pub struct Br {
    /// Index in the topology.
    pub index: usize,
    /// Implementation.
    pub kind: Kind,
    /// Its namespace.
    pub ns: Netns,
    /// Bridge priority.
    pub priority: u16,
    /// Pinned bridge MAC `02:00:00:00:00:NN` (NN = index + 1).
    pub mac: [u8; 6],
    /// Port device names.
    pub ports: Vec<String>,
    node: Option<Child>,
    dir: Option<TempDir>,
}

/// A link between two bridges (or a bridge and a host).
#[derive(Debug)]
pub struct Link {
    /// Bridge index at end a.
    pub a: usize,
    /// Bridge index at end b (`usize::MAX` for a host).
    pub b: usize,
    /// The veth pair.
    pub veth: Veth,
}

/// A host (namespace with `eth0`, 10.0.0.N/24) on a bridge port.
#[derive(Debug)]
pub struct Host {
    /// Namespace.
    pub ns: Netns,
    /// Address.
    pub ip: String,
    /// The bridge it hangs on.
    pub bridge: usize,
    /// Its link.
    pub veth: Veth,
}

/// A topology.
#[derive(Debug, Default)]
pub struct Topo {
    /// Bridges.
    pub bridges: Vec<Br>,
    /// Bridge–bridge links.
    pub links: Vec<Link>,
    /// Hosts.
    pub hosts: Vec<Host>,
}

/// Port name on bridge `from` towards bridge `to`.
pub fn port_name(to: usize) -> String {
    format!("p{to}")
}

impl Topo {
    /// Adds a bridge.
    pub fn bridge(&mut self, kind: Kind, priority: u16) -> usize {
        let index = self.bridges.len();
        let ns = Netns::new("rstp").unwrap();
        let mac = [2, 0, 0, 0, 0, u8::try_from(index + 1).unwrap()];
        let mac_s = testkit::netns::format_mac(mac);
        let prio = priority.to_string();
        let mut args = vec!["link", "add", "br0", "address", &mac_s, "type", "bridge"];
        let (fd, hello, age) = (
            (u32::from(FWD_DELAY) * 100).to_string(),
            (u32::from(HELLO) * 100).to_string(),
            (u32::from(MAX_AGE) * 100).to_string(),
        );
        match kind {
            Kind::Kernel => args.extend_from_slice(&[
                "stp_state",
                "1",
                "forward_delay",
                &fd,
                "hello_time",
                &hello,
                "max_age",
                &age,
                "priority",
                &prio,
                "mcast_snooping",
                "0",
            ]),
            Kind::Dsas => args.extend_from_slice(&["stp_state", "0", "mcast_snooping", "0"]),
        }
        ns.ip(&args).unwrap();
        ns.link_up("br0").unwrap();
        self.bridges.push(Br {
            index,
            kind,
            ns,
            priority,
            mac,
            ports: Vec::new(),
            node: None,
            dir: None,
        });
        index
    }

    fn attach(&mut self, b: usize, port: &str) {
        let br = &mut self.bridges[b];
        br.ns.ip(&["link", "set", port, "master", "br0"]).unwrap();
        br.ports.push(port.to_owned());
    }

    /// Links bridges `a` and `b` (ports `p<b>` on a, `p<a>` on b).
    pub fn link(&mut self, a: usize, b: usize) -> usize {
        let veth = Veth::new(
            &self.bridges[a].ns,
            &port_name(b),
            &self.bridges[b].ns,
            &port_name(a),
        )
        .unwrap();
        let (pa, pb) = (veth.a().to_owned(), veth.b().to_owned());
        self.attach(a, &pa);
        self.attach(b, &pb);
        self.links.push(Link { a, b, veth });
        self.links.len() - 1
    }

    /// A host on bridge `b` with address 10.0.0.`n`.
    pub fn host(&mut self, b: usize, n: u8) -> usize {
        let ns = Netns::new("rstph").unwrap();
        let veth = Veth::new(&ns, "eth0", &self.bridges[b].ns, &format!("h{n}")).unwrap();
        let port = veth.b().to_owned();
        self.attach(b, &port);
        ns.addr_add("eth0", &format!("10.0.0.{n}/24")).unwrap();
        self.hosts.push(Host {
            ns,
            ip: format!("10.0.0.{n}"),
            bridge: b,
            veth,
        });
        self.hosts.len() - 1
    }

    /// Brings every link up and starts dsas-node on the dsas bridges.
    pub fn start(&mut self) {
        for l in &self.links {
            l.veth.up().unwrap();
        }
        for h in &self.hosts {
            h.veth.up().unwrap();
        }
        for br in &mut self.bridges {
            if br.kind == Kind::Dsas {
                br.start_node();
            }
        }
    }

    /// Link `l` carrier down (both ends: the veth end in a's namespace).
    pub fn cut(&self, l: usize) {
        let link = &self.links[l];
        link.veth.ns_a().link_down(link.veth.a()).unwrap();
    }

    /// Link `l` up again.
    pub fn restore(&self, l: usize) {
        let link = &self.links[l];
        link.veth.ns_a().link_up(link.veth.a()).unwrap();
    }

    /// Whether host `from` reaches host `to` (one ping, 1 s).
    pub fn ping(&self, from: usize, to: usize) -> bool {
        let out = self.hosts[from]
            .ns
            .exec_unchecked(&["ping", "-c1", "-W1", "-q", &self.hosts[to].ip])
            .unwrap();
        out.status.success()
    }

    /// Waits until host `from` reaches host `to`; the time it took.
    pub fn wait_ping(&self, from: usize, to: usize, timeout: Duration) -> Option<Duration> {
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            if self.ping(from, to) {
                return Some(t0.elapsed());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// Sends one broadcast probe frame from host `from` and counts how many
    /// probe frames cross interface `port` of bridge `b` within `window`:
    /// a loop makes the frame circle for ever (thousands a second).
    pub fn probe_count(&self, from: usize, b: usize, port: &str, window: Duration) -> usize {
        let br = &self.bridges[b];
        let port_s = port.to_owned();
        let sock = br
            .ns
            .enter_thread(move || PacketSocket::bind(&port_s, dsas_node::sys::ETH_P_ALL))
            .unwrap()
            .unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let tx = self.hosts[from]
            .ns
            .enter_thread(|| PacketSocket::bind("eth0", PROBE_ETHERTYPE))
            .unwrap()
            .unwrap();
        let mut frame = vec![0xffu8; 6];
        frame.extend_from_slice(&[2, 0xaa, 0, 0, 0, 1]);
        frame.extend_from_slice(&PROBE_ETHERTYPE.to_be_bytes());
        frame.extend_from_slice(&[0u8; 46]);
        tx.send(&frame).unwrap();
        let t0 = Instant::now();
        let mut n = 0;
        let mut buf = [0u8; 2048];
        while t0.elapsed() < window {
            // Both directions: frames the bridge forwards out of the port
            // are PACKET_OUTGOING (seen by ETH_P_ALL sockets only).
            if let Ok((len, _)) = sock.recv_from(&mut buf)
                && len >= 14
                && buf[12..14] == PROBE_ETHERTYPE.to_be_bytes()
            {
                n += 1;
            }
        }
        n
    }
}

impl Br {
    /// The bridge ID as sysfs prints it: `PPPP.aabbccddeeff`.
    pub fn id(&self) -> String {
        format!(
            "{:04x}.{}",
            self.priority,
            self.mac.iter().fold(String::new(), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
        )
    }

    /// Kernel bridges: `/sys/class/net/br0/bridge/root_id` (as `ip -d link
    /// show` reports it).
    pub fn kernel_root_id(&self) -> String {
        let out = self
            .ns
            .exec(&["cat", "/sys/class/net/br0/bridge/root_id"])
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Kernel port state of `port` (`bridge -j link`).
    pub fn kernel_port_state(&self, port: &str) -> String {
        let out = self
            .ns
            .exec(&["bridge", "-j", "link", "show", "dev", port])
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["state"].as_str().unwrap_or("").to_owned()
    }

    fn config(&self, dir: &std::path::Path) -> String {
        let mut c = String::new();
        let _ = writeln!(
            c,
            "[node]\nname = \"rstp{}\"\ncontrol_socket = \"{}\"\nlog_level = \"info\"\n",
            self.index,
            dir.join("control.sock").display()
        );
        let _ = writeln!(
            c,
            "[rstp]\nbridge = \"br0\"\npriority = {}\nhello_time = {HELLO}\nmax_age = {MAX_AGE}\nforward_delay = {FWD_DELAY}\n",
            self.priority
        );
        for p in &self.ports {
            let _ = writeln!(c, "[[rstp.port]]\nname = \"{p}\"\n");
        }
        c
    }

    fn start_node(&mut self) {
        let dir = TempDir::new().unwrap();
        let conf = dir.path().join("node.toml");
        std::fs::write(&conf, self.config(dir.path())).unwrap();
        let conf_s = conf.display().to_string();
        let mut child = self
            .ns
            .spawn(&[env!("CARGO_BIN_EXE_dsas-node"), "run", "--config", &conf_s])
            .unwrap();
        child
            .wait_for_stderr("RSTP running", Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{e}: {}", child.stderr().unwrap_or_default()));
        self.node = Some(child);
        self.dir = Some(dir);
    }

    fn socket(&self) -> PathBuf {
        self.dir.as_ref().unwrap().path().join("control.sock")
    }

    /// `dsas-node status --json`, the `rstp` role's part.
    pub fn status(&self) -> serde_json::Value {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dsas-node"))
            .args(["status", "--json", "--socket"])
            .arg(self.socket())
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
        v["roles"]["rstp"].clone()
    }

    /// `dsas-node status` (the human form), whole.
    pub fn status_text(&self) -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dsas-node"))
            .args(["status", "--socket"])
            .arg(self.socket())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// Our port `port`'s status object.
    pub fn port_status(&self, port: &str) -> serde_json::Value {
        let s = self.status();
        s["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == port)
            .cloned()
            .unwrap_or_else(|| panic!("no port {port} in {s}"))
    }

    /// The root bridge as this bridge sees it.
    pub fn root_id(&self) -> String {
        match self.kind {
            Kind::Kernel => self.kernel_root_id(),
            Kind::Dsas => self.status()["root"].as_str().unwrap().to_owned(),
        }
    }

    /// dsas-node's log so far.
    pub fn log(&self) -> String {
        self.node
            .as_ref()
            .map(|c| c.stderr().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for Br {
    fn drop(&mut self) {
        if let Some(mut c) = self.node.take() {
            if std::thread::panicking() {
                eprintln!(
                    "--- dsas-node on bridge {} log:\n{}",
                    self.index,
                    c.stderr().unwrap_or_default()
                );
            }
            let _ = c.stop_with(Signal::SIGTERM, Duration::from_secs(6));
        }
    }
}

/// Whether the tests can run here (root, tools).
pub fn ready() -> bool {
    if !testkit::is_root() {
        testkit::print_skip("needs root (network namespaces)");
        return false;
    }
    for tool in ["nft", "bridge", "ping", "dumpcap", "tshark"] {
        if testkit::find_tool(tool).is_none() {
            testkit::print_skip(&format!("{tool} not installed"));
            return false;
        }
    }
    true
}

/// Polls `f` every 200 ms until it is true.
pub fn wait_until(mut f: impl FnMut() -> bool, timeout: Duration) -> bool {
    let t0 = Instant::now();
    loop {
        if f() {
            return true;
        }
        if t0.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
