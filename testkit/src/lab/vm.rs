//! One guest: qemu process, console capture, command channel, TAP NICs.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::json;

use super::build::{LabImage, tempdir};
use super::cpio::Newc;
use super::{LabError, b64, net, now, qmp, tail};

/// How a guest NIC (virtio-net, `ethN` in the guest in list order) reaches
/// the host: always through a TAP device created for the VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NicAttach {
    /// The TAP stays in the caller's namespace, up, unconfigured.
    Tap,
    /// The TAP is moved into the existing host namespace (`ip netns` name)
    /// and set up; the caller configures addresses there.
    Netns(String),
    /// The TAP is enslaved to an existing bridge, in namespace `netns`
    /// (`None`: the caller's namespace), and set up.
    Bridge {
        /// Bridge device name.
        bridge: String,
        /// Namespace holding the bridge.
        netns: Option<String>,
    },
}

/// What to boot.
#[derive(Debug, Clone)]
pub struct VmConfig {
    /// Guest hostname and label in messages; default `vmN`.
    pub name: Option<String>,
    /// Guest memory (default 512 MiB).
    pub memory_mb: u32,
    /// NICs, `eth0`, `eth1`, ... in the guest.
    pub nics: Vec<NicAttach>,
    /// Raw disk images, `/dev/vda`, `/dev/vdb`, ... (virtio-blk).
    pub disks: Vec<PathBuf>,
    /// Host files copied in as (host path, absolute guest path); the
    /// permission bits are kept and, for dynamically linked ELF files, the
    /// shared libraries `ldd` names are copied too (where the base image
    /// lacks them).
    pub files: Vec<(PathBuf, String)>,
    /// Shell script run once the guest is ready (modules loaded, NICs up);
    /// a non-zero exit fails the boot with [`LabError::SetupFailed`].
    /// Empty: none.
    pub script: String,
    /// Boot timeout, until the guest's command shell is ready (default 120 s).
    pub timeout: Duration,
    /// Default timeout of [`Vm::run`] (default 60 s).
    pub cmd_timeout: Duration,
    /// Extra kernel command-line parameters (e.g. `loglevel=7` to see
    /// `KERN_INFO` messages such as bonding link changes on the console;
    /// the default is `quiet`). `$DSAS_LAB_APPEND` is added too.
    pub kernel_args: String,
}

impl Default for VmConfig {
    fn default() -> Self {
        Self {
            name: None,
            memory_mb: 512,
            nics: Vec::new(),
            disks: Vec::new(),
            files: Vec::new(),
            script: String::new(),
            timeout: Duration::from_secs(120),
            cmd_timeout: Duration::from_secs(60),
            kernel_args: String::new(),
        }
    }
}

/// Result of a command run in the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdOutput {
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
    /// Exit status (128 + N when killed by signal N).
    pub status: i32,
}

impl CmdOutput {
    /// Whether the status is 0.
    #[must_use]
    pub fn success(&self) -> bool {
        self.status == 0
    }
}

/// The serial console (ttyS0) and qemu's own stderr, captured by threads.
#[derive(Debug, Default)]
struct Console {
    buf: Mutex<Vec<u8>>,
    cond: Condvar,
}

impl Console {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.buf.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }

    fn tail(&self) -> String {
        tail(&self.text(), 40)
    }
}

fn spawn_reader(
    mut src: impl Read + Send + 'static,
    console: Arc<Console>,
    label: String,
) -> Option<JoinHandle<()>> {
    let verbose = std::env::var_os("DSAS_LAB_VERBOSE").is_some_and(|v| v == "1");
    std::thread::Builder::new()
        .name(format!("lab-console-{label}"))
        .spawn(move || {
            let mut chunk = [0u8; 4096];
            let mut line = Vec::new();
            loop {
                let n = match src.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let data = chunk.get(..n).unwrap_or_default();
                console.lock().extend_from_slice(data);
                console.cond.notify_all();
                if verbose {
                    for &b in data {
                        if b == b'\n' {
                            let text = String::from_utf8_lossy(&line);
                            let _ = writeln!(std::io::stderr(), "[{label}] {}", text.trim_end());
                            line.clear();
                        } else {
                            line.push(b);
                        }
                    }
                }
            }
            console.cond.notify_all();
        })
        .ok()
}

/// The guest command channel (second serial port, ttyS1, on a unix socket).
#[derive(Debug)]
struct Ctl {
    stream: UnixStream,
    pending: Vec<u8>,
    next_id: u64,
}

#[derive(Debug)]
struct Nic {
    tap: String,
    netns: Option<String>,
    mac: String,
}

static VM_SEQ: AtomicU32 = AtomicU32::new(0);

/// A running guest. Dropping it kills qemu and removes its TAP devices and
/// temporary files; [`Vm::shutdown`] asks qemu to quit first.
#[derive(Debug)]
pub struct Vm {
    name: String,
    dir: PathBuf,
    qmp: PathBuf,
    child: Mutex<Option<Child>>,
    ctl: Mutex<Option<Ctl>>,
    console: Arc<Console>,
    readers: Vec<JoinHandle<()>>,
    nics: Vec<Nic>,
    cmd_timeout: Duration,
    boot_time: Duration,
    setup_output: Option<CmdOutput>,
}

enum Mode {
    Ctl,
    Shell,
}

impl Vm {
    /// Boots `image` with `cfg` and waits until its command shell is ready
    /// (all modules loaded, NICs up), then runs `cfg.script` if any.
    ///
    /// # Errors
    /// [`LabError::QemuMissing`], [`LabError::NotRoot`] (NICs need root),
    /// [`LabError::BootTimeout`] / [`LabError::QemuExited`] with the console
    /// tail, [`LabError::HostCommand`] for TAP set-up, [`LabError::SetupFailed`].
    pub fn boot(image: &LabImage, cfg: VmConfig) -> Result<Self, LabError> {
        let start = now();
        let mut vm = Self::start(image, &cfg, &Mode::Ctl)?;
        let deadline = start.checked_add(cfg.timeout).unwrap_or(start);
        vm.wait_ready(deadline, cfg.timeout)?;
        vm.boot_time = now().saturating_duration_since(start);
        if !cfg.script.is_empty() {
            let out = vm.run(&cfg.script)?;
            if !out.success() {
                return Err(LabError::SetupFailed {
                    vm: vm.name.clone(),
                    output: out,
                });
            }
            vm.setup_output = Some(out);
        }
        Ok(vm)
    }

    /// Boots with an interactive shell on the console, attached to this
    /// process's terminal (Ctrl-A X quits qemu), and returns qemu's exit
    /// status once the shell exits; cleans up like [`Drop`] for [`Vm`].
    ///
    /// # Errors
    /// As [`Vm::boot`].
    pub fn interactive(image: &LabImage, cfg: &VmConfig) -> Result<ExitStatus, LabError> {
        let vm = Self::start(image, cfg, &Mode::Shell)?;
        let mut child = vm.child.lock().unwrap_or_else(PoisonError::into_inner);
        let status = match child.as_mut() {
            Some(c) => c.wait().map_err(|e| LabError::io("waiting for qemu", e))?,
            None => return Err(LabError::Config("qemu not started".into())),
        };
        *child = None;
        Ok(status)
    }

    fn start(image: &LabImage, cfg: &VmConfig, mode: &Mode) -> Result<Self, LabError> {
        let qemu = super::qemu_path().ok_or(LabError::QemuMissing)?;
        if !cfg.nics.is_empty() && !crate::is_root() {
            return Err(LabError::NotRoot);
        }
        let seq = VM_SEQ.fetch_add(1, Ordering::Relaxed);
        let name = cfg.name.clone().unwrap_or_else(|| format!("vm{seq}"));
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(LabError::Config(format!(
                "VM name {name:?}: use letters, digits and '-'"
            )));
        }
        let dir = tempdir("dsas-lab")?;
        let pid = std::process::id();
        let mut vm = Self {
            name,
            qmp: dir.join("qmp.sock"),
            dir,
            child: Mutex::new(None),
            ctl: Mutex::new(None),
            console: Arc::new(Console::default()),
            readers: Vec::new(),
            nics: Vec::new(),
            cmd_timeout: cfg.cmd_timeout,
            boot_time: Duration::ZERO,
            setup_output: None,
        };

        let initrd = if cfg.files.is_empty() {
            image.initrd.clone()
        } else {
            let initrd = vm.dir.join("initrd");
            write_initrd(image, &cfg.files, &initrd)?;
            initrd
        };

        for i in 0..cfg.nics.len() {
            let tap = format!("dl{:x}{:02x}n{i}", pid & 0xff_ffff, seq & 0xff);
            let mac = format!(
                "52:54:{:02x}:{:02x}:{:02x}:{:02x}",
                (pid >> 8) & 0xff,
                pid & 0xff,
                seq & 0xff,
                i & 0xff
            );
            net::tap_create(&tap)?;
            vm.nics.push(Nic {
                tap,
                netns: None,
                mac,
            });
        }

        let ctl_sock = vm.dir.join("ctl.sock");
        let mut cmd = Command::new(&qemu);
        cmd.args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
        ])
        .args(["-m", &cfg.memory_mb.to_string(), "-smp", "1"])
        .arg("-kernel")
        .arg(&image.kernel)
        .arg("-initrd")
        .arg(&initrd);
        let mut append = format!(
            "console=ttyS0 quiet panic=-1 dsas.hostname={} dsas.mode={}",
            vm.name,
            match mode {
                Mode::Ctl => "ctl",
                Mode::Shell => "shell",
            }
        );
        if !cfg.kernel_args.is_empty() {
            append.push(' ');
            append.push_str(&cfg.kernel_args);
        }
        if let Ok(extra) = std::env::var("DSAS_LAB_APPEND") {
            append.push(' ');
            append.push_str(&extra);
        }
        cmd.args(["-append", &append]);
        match mode {
            Mode::Ctl => {
                cmd.args(["-serial", "stdio"])
                    .arg("-chardev")
                    .arg(format!(
                        "socket,id=ctl,path={},server=on,wait=on",
                        ctl_sock.display()
                    ))
                    .args(["-serial", "chardev:ctl"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
            }
            Mode::Shell => {
                cmd.args(["-serial", "mon:stdio"])
                    .stdin(Stdio::inherit())
                    .stdout(Stdio::inherit())
                    .stderr(Stdio::inherit());
            }
        }
        cmd.arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", vm.qmp.display()));
        for (i, nic) in vm.nics.iter().enumerate() {
            cmd.arg("-netdev")
                .arg(format!(
                    "tap,id=net{i},ifname={},script=no,downscript=no",
                    nic.tap
                ))
                .arg("-device")
                .arg(format!("virtio-net-pci,netdev=net{i},mac={}", nic.mac));
        }
        for (i, disk) in cfg.disks.iter().enumerate() {
            if disk.to_str().is_none_or(|s| s.contains(',')) {
                return Err(LabError::Config(format!(
                    "disk path {} must be UTF-8 without ','",
                    disk.display()
                )));
            }
            cmd.arg("-drive").arg(format!(
                "file={},format=raw,if=virtio,index={i}",
                disk.display()
            ));
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| LabError::io(format!("starting {}", qemu.display()), e))?;
        if let Some(out) = child.stdout.take() {
            vm.readers
                .extend(spawn_reader(out, Arc::clone(&vm.console), vm.name.clone()));
        }
        if let Some(err) = child.stderr.take() {
            vm.readers
                .extend(spawn_reader(err, Arc::clone(&vm.console), vm.name.clone()));
        }
        *vm.child.lock().unwrap_or_else(PoisonError::into_inner) = Some(child);

        let connect_deadline = now()
            .checked_add(Duration::from_secs(30))
            .unwrap_or_else(now);
        if matches!(mode, Mode::Ctl) {
            let stream = vm.connect(&ctl_sock, connect_deadline)?;
            *vm.ctl.lock().unwrap_or_else(PoisonError::into_inner) = Some(Ctl {
                stream,
                pending: Vec::new(),
                next_id: 1,
            });
        }
        // Once QMP answers, qemu has opened every TAP: move them into place.
        let _ = vm.connect(&vm.qmp.clone(), connect_deadline)?;
        vm.qmp_execute("query-status", serde_json::Value::Null)?;
        for (nic, attach) in vm.nics.iter_mut().zip(&cfg.nics) {
            net::tap_attach(&nic.tap, attach)?;
            nic.netns = net::tap_netns(attach).map(str::to_owned);
        }
        Ok(vm)
    }

    /// Connects to a qemu unix socket, retrying while qemu starts.
    fn connect(&self, path: &Path, deadline: Instant) -> Result<UnixStream, LabError> {
        loop {
            match UnixStream::connect(path) {
                Ok(s) => return Ok(s),
                Err(e) => {
                    self.check_alive()?;
                    if now() >= deadline {
                        return Err(LabError::io(format!("connecting to {}", path.display()), e));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    /// Errors with the console tail if qemu has exited.
    fn check_alive(&self) -> Result<(), LabError> {
        let mut guard = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        let status = match guard.as_mut() {
            Some(c) => c.try_wait().ok().flatten(),
            None => None,
        };
        drop(guard);
        match status {
            Some(status) => {
                // Let the reader threads drain qemu's last words.
                std::thread::sleep(Duration::from_millis(100));
                Err(LabError::QemuExited {
                    vm: self.name.clone(),
                    status: status.to_string(),
                    console_tail: self.console.tail(),
                })
            }
            None => Ok(()),
        }
    }

    fn wait_ready(&self, deadline: Instant, timeout: Duration) -> Result<(), LabError> {
        let mut guard = self.ctl.lock().unwrap_or_else(PoisonError::into_inner);
        let ctl = guard
            .as_mut()
            .ok_or_else(|| self.protocol("no command channel"))?;
        loop {
            match self.read_line(ctl, deadline) {
                Ok(line) if line.starts_with("@@DSAS-LAB-READY") => return Ok(()),
                Ok(_) => {}
                Err(LabError::Timeout { .. }) => {
                    return Err(LabError::BootTimeout {
                        vm: self.name.clone(),
                        timeout,
                        console_tail: self.console.tail(),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn protocol(&self, detail: &str) -> LabError {
        LabError::Protocol {
            vm: self.name.clone(),
            detail: detail.to_owned(),
        }
    }

    /// Reads one line from the command channel before `deadline`.
    fn read_line(&self, ctl: &mut Ctl, deadline: Instant) -> Result<String, LabError> {
        loop {
            if let Some(pos) = ctl.pending.iter().position(|&b| b == b'\n') {
                let rest = ctl.pending.split_off(pos.saturating_add(1));
                let line = std::mem::replace(&mut ctl.pending, rest);
                return Ok(String::from_utf8_lossy(&line).trim_end().to_owned());
            }
            let left = deadline.saturating_duration_since(now());
            if left.is_zero() {
                return Err(LabError::Timeout {
                    vm: self.name.clone(),
                    what: "the guest command channel".into(),
                    timeout: Duration::ZERO,
                    console_tail: self.console.tail(),
                });
            }
            // Wake up at least every second to notice a dead qemu.
            let _ = ctl
                .stream
                .set_read_timeout(Some(left.min(Duration::from_secs(1))));
            let mut chunk = [0u8; 8192];
            match ctl.stream.read(&mut chunk) {
                Ok(0) => {
                    self.check_alive()?;
                    return Err(LabError::QemuExited {
                        vm: self.name.clone(),
                        status: "command channel closed".into(),
                        console_tail: self.console.tail(),
                    });
                }
                Ok(n) => ctl
                    .pending
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    self.check_alive()?;
                }
                Err(e) => return Err(LabError::io("reading the guest command channel", e)),
            }
        }
    }

    /// Runs `script` with `sh` in the guest (cwd `/root`, stdin `/dev/null`,
    /// `ip`/`bridge`/`tc` = iproute2) and returns its output and exit status.
    /// Commands run one at a time; use `cmd &` for background work.
    ///
    /// # Errors
    /// [`LabError::Timeout`] after the configured `cmd_timeout`,
    /// [`LabError::QemuExited`], [`LabError::Protocol`].
    pub fn run(&self, script: &str) -> Result<CmdOutput, LabError> {
        self.run_timeout(script, self.cmd_timeout)
    }

    /// [`Vm::run`] with an explicit timeout. After a timeout the command
    /// keeps running in the guest; the next command starts when it ends.
    ///
    /// # Errors
    /// As [`Vm::run`].
    pub fn run_timeout(&self, script: &str, timeout: Duration) -> Result<CmdOutput, LabError> {
        let start = now();
        let deadline = start.checked_add(timeout).unwrap_or(start);
        let mut guard = self.ctl.lock().unwrap_or_else(PoisonError::into_inner);
        let ctl = guard
            .as_mut()
            .ok_or_else(|| self.protocol("no command channel"))?;
        let id = ctl.next_id;
        ctl.next_id = ctl.next_id.wrapping_add(1);
        let line = format!("{id} {}\n", b64::encode(script.as_bytes()));
        let _ = ctl
            .stream
            .set_write_timeout(Some(timeout.max(Duration::from_millis(1))));
        ctl.stream
            .write_all(line.as_bytes())
            .map_err(|e| LabError::io("writing the guest command channel", e))?;
        let (mut out, mut err) = (String::new(), String::new());
        #[derive(PartialEq)]
        enum Section {
            None,
            Out,
            Err,
        }
        let mut section = Section::None;
        let id_text = id.to_string();
        loop {
            let line = match self.read_line(ctl, deadline) {
                Ok(line) => line,
                Err(LabError::Timeout { .. }) => {
                    return Err(LabError::Timeout {
                        vm: self.name.clone(),
                        what: format!("command {:?}", tail(script, 3)),
                        timeout,
                        console_tail: self.console.tail(),
                    });
                }
                Err(e) => return Err(e),
            };
            let mut words = line.split_whitespace();
            let tag = words.next().unwrap_or_default();
            let is_ours = words.next() == Some(id_text.as_str());
            match tag {
                "@@DSAS-LAB-OUT" => section = if is_ours { Section::Out } else { Section::None },
                "@@DSAS-LAB-ERR" => section = if is_ours { Section::Err } else { Section::None },
                "@@DSAS-LAB-END" if is_ours => {
                    let status = words
                        .next()
                        .and_then(|s| s.parse::<i32>().ok())
                        .ok_or_else(|| self.protocol(&format!("bad end line {line:?}")))?;
                    let decode = |text: &str| {
                        b64::decode(text)
                            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                            .ok_or_else(|| self.protocol("bad base64 in command output"))
                    };
                    return Ok(CmdOutput {
                        stdout: decode(&out)?,
                        stderr: decode(&err)?,
                        status,
                    });
                }
                "@@DSAS-LAB-END" | "@@DSAS-LAB-READY" => section = Section::None,
                _ => match section {
                    Section::Out => out.push_str(&line),
                    Section::Err => err.push_str(&line),
                    Section::None => {}
                },
            }
        }
    }

    /// Waits until the console (serial ttyS0 plus qemu's stderr) contains
    /// `pattern`; returns the whole console text so far.
    ///
    /// # Errors
    /// [`LabError::Timeout`] with the console tail, [`LabError::QemuExited`].
    pub fn wait_for_console(&self, pattern: &str, timeout: Duration) -> Result<String, LabError> {
        self.wait_for_console_since(0, pattern, timeout)
    }

    /// The console's current length in bytes, a mark for
    /// [`Vm::wait_for_console_since`].
    #[must_use]
    pub fn console_mark(&self) -> usize {
        self.console.lock().len()
    }

    /// As [`Vm::wait_for_console`], looking only at output after `mark`
    /// (from [`Vm::console_mark`]); returns the text after `mark`.
    ///
    /// # Errors
    /// As [`Vm::wait_for_console`].
    pub fn wait_for_console_since(
        &self,
        mark: usize,
        pattern: &str,
        timeout: Duration,
    ) -> Result<String, LabError> {
        let start = now();
        let deadline = start.checked_add(timeout).unwrap_or(start);
        let mut buf = self.console.lock();
        loop {
            let text = String::from_utf8_lossy(buf.get(mark..).unwrap_or_default());
            if text.contains(pattern) {
                return Ok(text.into_owned());
            }
            let left = deadline.saturating_duration_since(now());
            if left.is_zero() {
                drop(buf);
                return Err(LabError::Timeout {
                    vm: self.name.clone(),
                    what: format!("console pattern {pattern:?}"),
                    timeout,
                    console_tail: self.console.tail(),
                });
            }
            let (guard, _) = self
                .console
                .cond
                .wait_timeout(buf, left.min(Duration::from_millis(500)))
                .unwrap_or_else(PoisonError::into_inner);
            buf = guard;
            drop(buf);
            self.check_alive()?;
            buf = self.console.lock();
        }
    }

    /// Everything the console printed so far.
    #[must_use]
    pub fn console(&self) -> String {
        self.console.text()
    }

    /// Sets the carrier of guest NIC `nic` (index in [`VmConfig::nics`])
    /// through the qemu monitor: `false` pulls the cable.
    ///
    /// # Errors
    /// [`LabError::Qmp`], [`LabError::Config`] for an unknown index.
    pub fn set_link(&self, nic: usize, up: bool) -> Result<(), LabError> {
        if nic >= self.nics.len() {
            return Err(LabError::Config(format!(
                "VM {} has no NIC {nic}",
                self.name
            )));
        }
        self.qmp_execute("set_link", json!({"name": format!("net{nic}"), "up": up}))
            .map(|_| ())
    }

    /// Runs a raw QMP command (e.g. `query-status`) and returns its `return`.
    ///
    /// # Errors
    /// [`LabError::Qmp`].
    pub fn qmp_execute(
        &self,
        command: &str,
        arguments: serde_json::Value,
    ) -> Result<serde_json::Value, LabError> {
        qmp::execute(&self.qmp, command, arguments).map_err(|detail| LabError::Qmp {
            vm: self.name.clone(),
            detail,
        })
    }

    /// Syncs the guest's disks, asks qemu to quit and waits for it (up to
    /// 10 s, then kills it); cleanup then happens as on drop.
    ///
    /// # Errors
    /// [`LabError::Io`] when waiting for qemu fails.
    pub fn shutdown(self) -> Result<(), LabError> {
        let _ = self.run_timeout("sync", Duration::from_secs(10));
        let _ = self.qmp_execute("quit", serde_json::Value::Null);
        let start = now();
        let mut guard = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(child) = guard.as_mut() {
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None)
                        if now().saturating_duration_since(start) < Duration::from_secs(10) =>
                    {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Ok(None) => break,
                    Err(e) => return Err(LabError::io("waiting for qemu", e)),
                }
            }
        }
        drop(guard);
        Ok(())
    }

    /// The VM's name (also its hostname).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Host-side TAP device of NIC `nic`.
    #[must_use]
    pub fn tap(&self, nic: usize) -> Option<&str> {
        self.nics.get(nic).map(|n| n.tap.as_str())
    }

    /// MAC address of guest NIC `nic` (`ethN`), e.g. `52:54:12:34:00:01`.
    #[must_use]
    pub fn mac(&self, nic: usize) -> Option<&str> {
        self.nics.get(nic).map(|n| n.mac.as_str())
    }

    /// Wall time from starting qemu to the ready command shell.
    #[must_use]
    pub fn boot_time(&self) -> Duration {
        self.boot_time
    }

    /// Output of [`VmConfig::script`], when one ran.
    #[must_use]
    pub fn setup_output(&self) -> Option<&CmdOutput> {
        self.setup_output.as_ref()
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let mut guard = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(mut child) = guard.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        drop(guard);
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        for nic in &self.nics {
            net::tap_delete(&nic.tap, nic.netns.as_deref());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes base initramfs + a newc archive of `files` (and their libraries).
fn write_initrd(
    image: &LabImage,
    files: &[(PathBuf, String)],
    dest: &Path,
) -> Result<(), LabError> {
    let mut data = std::fs::read(&image.initrd)
        .map_err(|e| LabError::io(format!("reading {}", image.initrd.display()), e))?;
    while !data.len().is_multiple_of(4) {
        data.push(0);
    }
    let mut archive = Newc::default();
    let mut libs = std::collections::BTreeSet::new();
    for (host, guest) in files {
        if !guest.starts_with('/') {
            return Err(LabError::Config(format!(
                "guest path {guest:?} must be absolute"
            )));
        }
        let bytes = std::fs::read(host)
            .map_err(|e| LabError::io(format!("reading {}", host.display()), e))?;
        let perm = std::fs::metadata(host)
            .map(|m| m.permissions().mode())
            .unwrap_or(0o644);
        if bytes.starts_with(b"\x7fELF") {
            libs.extend(ldd(host)?);
        }
        archive.file(guest, perm, &bytes);
    }
    for lib in libs {
        if image.base_files.contains(&lib) {
            continue;
        }
        let bytes = std::fs::read(&lib).map_err(|e| LabError::io(format!("reading {lib}"), e))?;
        archive.file(&lib, 0o755, &bytes);
    }
    data.extend_from_slice(&archive.finish());
    std::fs::write(dest, data).map_err(|e| LabError::io(format!("writing {}", dest.display()), e))
}

/// Shared libraries (and the program interpreter) `ldd` lists for `path`;
/// empty for a static binary.
fn ldd(path: &Path) -> Result<Vec<String>, LabError> {
    let out = Command::new("ldd")
        .arg(path)
        .output()
        .map_err(|e| LabError::io("running ldd", e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.contains("not a dynamic executable") {
        return Ok(Vec::new());
    }
    let mut libs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.contains("not found") {
            return Err(LabError::Config(format!(
                "{}: library {line} (ldd)",
                path.display()
            )));
        }
        let target = match line.split_once("=>") {
            Some((_, right)) => right.trim(),
            None => line,
        };
        if let Some(p) = target
            .split_whitespace()
            .next()
            .filter(|p| p.starts_with('/'))
        {
            libs.push(p.to_owned());
        }
    }
    Ok(libs)
}
