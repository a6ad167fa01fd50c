//! Processes and threads inside a namespace: a guarded child process (killed
//! on drop), a closure on a thread that has `setns`'d into the namespace, and
//! polling helpers.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child as StdChild, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::netns::{Netns, describe, next_id};

/// Polls `cond` (every 10 ms) until it returns true or `timeout` passes;
/// returns whether it became true. `cond` runs at least once.
pub fn wait_for(mut cond: impl FnMut() -> bool, timeout: Duration) -> bool {
    wait_for_value(|| cond().then_some(()), timeout).is_some()
}

/// Polls `f` (every 10 ms) until it returns `Some` or `timeout` passes.
/// `f` runs at least once.
#[allow(
    clippy::disallowed_methods,
    reason = "test tooling waits on the wall clock"
)]
pub fn wait_for_value<T>(mut f: impl FnMut() -> Option<T>, timeout: Duration) -> Option<T> {
    let deadline = Instant::now().checked_add(timeout);
    loop {
        if let Some(value) = f() {
            return Some(value);
        }
        if deadline.is_none_or(|d| Instant::now() >= d) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A temporary directory `$TMPDIR/testkit-PID-N`, removed on drop unless the
/// thread is panicking (then its path is printed, to inspect logs/captures).
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a fresh directory.
    ///
    /// # Errors
    /// When it cannot be created.
    pub fn new() -> io::Result<Self> {
        let path =
            std::env::temp_dir().join(format!("testkit-{}-{}", std::process::id(), next_id()));
        std::fs::create_dir_all(&path).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))
        })?;
        Ok(Self { path })
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("testkit: keeping {} for inspection", self.path.display());
        } else {
            drop(std::fs::remove_dir_all(&self.path));
        }
    }
}

/// A child process (usually inside a namespace) with stdout and stderr
/// written to files; on drop it gets SIGTERM, then SIGKILL after a grace
/// period, and is reaped.
#[derive(Debug)]
pub struct Child {
    child: StdChild,
    cmdline: String,
    status: Option<ExitStatus>,
    dir: TempDir,
    // Keeps the namespace alive while the process runs in it.
    _ns: Option<Netns>,
}

/// How long [`Child`]'s drop waits after SIGTERM before SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(2);

impl Child {
    /// Starts `args` in the current (root) namespace.
    ///
    /// # Errors
    /// Empty `args`, or the program cannot be started.
    pub fn spawn(args: &[&str]) -> io::Result<Self> {
        let (program, rest) = args
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let mut cmd = std::process::Command::new(program);
        cmd.args(rest);
        Self::spawn_command(cmd, None)
    }

    fn spawn_command(mut cmd: std::process::Command, ns: Option<&Netns>) -> io::Result<Self> {
        let dir = TempDir::new()?;
        let cmdline = describe(&cmd);
        cmd.stdin(Stdio::null())
            .stdout(File::create(dir.path().join("stdout"))?)
            .stderr(File::create(dir.path().join("stderr"))?);
        let child = cmd
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start `{cmdline}`: {e}")))?;
        Ok(Self {
            child,
            cmdline,
            status: None,
            dir,
            _ns: ns.cloned(),
        })
    }

    /// The process id.
    #[must_use]
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The command line, for messages.
    #[must_use]
    pub fn cmdline(&self) -> &str {
        &self.cmdline
    }

    /// Path of the file receiving stdout.
    #[must_use]
    pub fn stdout_path(&self) -> PathBuf {
        self.dir.path().join("stdout")
    }

    /// Path of the file receiving stderr.
    #[must_use]
    pub fn stderr_path(&self) -> PathBuf {
        self.dir.path().join("stderr")
    }

    /// Everything written to stdout so far (lossy UTF-8).
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn stdout(&self) -> io::Result<String> {
        read_lossy(&self.stdout_path())
    }

    /// Everything written to stderr so far (lossy UTF-8).
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn stderr(&self) -> io::Result<String> {
        read_lossy(&self.stderr_path())
    }

    /// The exit status if the process has exited (reaping it).
    ///
    /// # Errors
    /// `waitpid` errors.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait()?;
        }
        Ok(self.status)
    }

    /// Waits up to `timeout` for the process to exit.
    ///
    /// # Errors
    /// `waitpid` errors.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let mut error = None;
        let status = wait_for_value(
            || match self.try_wait() {
                Ok(status) => status,
                Err(e) => {
                    error = Some(e);
                    Some(ExitStatus::default())
                }
            },
            timeout,
        );
        error.map_or(Ok(status), Err)
    }

    /// Sends `signal` to the process (no-op once it has been reaped).
    ///
    /// # Errors
    /// `kill` errors.
    pub fn signal(&mut self, signal: Signal) -> io::Result<()> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        let pid = i32::try_from(self.child.id()).map_err(io::Error::other)?;
        nix::sys::signal::kill(Pid::from_raw(pid), signal).map_err(io::Error::from)
    }

    /// Sends `signal`, waits `grace` for an exit, then SIGKILLs; returns the
    /// exit status.
    ///
    /// # Errors
    /// `kill`/`waitpid` errors.
    pub fn stop_with(&mut self, signal: Signal, grace: Duration) -> io::Result<ExitStatus> {
        self.signal(signal)?;
        if let Some(status) = self.wait_timeout(grace)? {
            return Ok(status);
        }
        self.signal(Signal::SIGKILL)?;
        let status = self.child.wait()?;
        self.status = Some(status);
        Ok(status)
    }

    /// SIGTERM, then SIGKILL after [`TERM_GRACE`].
    ///
    /// # Errors
    /// `kill`/`waitpid` errors.
    pub fn terminate(&mut self) -> io::Result<ExitStatus> {
        self.stop_with(Signal::SIGTERM, TERM_GRACE)
    }

    /// Waits up to `timeout` until stderr contains `needle`; fails early
    /// with the stderr text when the process exits first.
    ///
    /// # Errors
    /// Timeout or early exit, with the captured stderr.
    pub fn wait_for_stderr(&mut self, needle: &str, timeout: Duration) -> io::Result<()> {
        self.wait_for_output(needle, timeout, true)
    }

    /// As [`Self::wait_for_stderr`] for stdout.
    ///
    /// # Errors
    /// Timeout or early exit, with the captured output.
    pub fn wait_for_stdout(&mut self, needle: &str, timeout: Duration) -> io::Result<()> {
        self.wait_for_output(needle, timeout, false)
    }

    fn wait_for_output(&mut self, needle: &str, timeout: Duration, stderr: bool) -> io::Result<()> {
        let path = if stderr {
            self.stderr_path()
        } else {
            self.stdout_path()
        };
        let mut exited = None;
        let found = wait_for(
            || {
                if read_lossy(&path).is_ok_and(|text| text.contains(needle)) {
                    return true;
                }
                exited = self.try_wait().ok().flatten();
                exited.is_some()
            },
            timeout,
        );
        // The needle may have been written just before the exit.
        if found && read_lossy(&path).is_ok_and(|text| text.contains(needle)) {
            return Ok(());
        }
        let why = exited.map_or_else(
            || format!("not seen within {timeout:?}"),
            |s| format!("process exited ({s})"),
        );
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "`{}`: waiting for {needle:?}: {why}; stderr: {}",
                self.cmdline,
                self.stderr().unwrap_or_default().trim_end()
            ),
        ))
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Err(e) = self.terminate() {
            eprintln!("testkit: cannot stop `{}`: {e}", self.cmdline);
        }
    }
}

fn read_lossy(path: &Path) -> io::Result<String> {
    Ok(String::from_utf8_lossy(&std::fs::read(path)?).into_owned())
}

impl Netns {
    /// Starts `args` inside the namespace (`ip netns exec NAME ARGS...`,
    /// which execs the program itself, so signals reach it directly) as a
    /// guarded [`Child`].
    ///
    /// # Errors
    /// Empty `args`, or the program cannot be started.
    pub fn spawn(&self, args: &[&str]) -> io::Result<Child> {
        if args.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
        }
        Child::spawn_command(self.command(args), Some(self))
    }

    /// Runs `f` on a new thread that has joined this network namespace
    /// (`setns(fd of /run/netns/NAME, CLONE_NEWNET)`) and returns its result.
    ///
    /// Sockets (and netlink/ioctl look-ups) made inside `f` belong to the
    /// namespace and keep belonging to it when used from other threads after
    /// `f` returns. Other namespaces (mount: `/sys` still shows the caller's
    /// view) are not changed. A panic in `f` is resumed on the caller.
    ///
    /// # Errors
    /// When the namespace cannot be opened or joined.
    pub fn enter_thread<T: Send, F: FnOnce() -> T + Send>(&self, f: F) -> io::Result<T> {
        let path = self.path();
        let file = File::open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("open {}: {e}", path.display())))?;
        let name = std::thread::current()
            .name()
            .map(|n| format!("{n}@{}", self.name()));
        std::thread::scope(|scope| {
            let mut builder = std::thread::Builder::new();
            if let Some(name) = name {
                builder = builder.name(name);
            }
            let handle = builder.spawn_scoped(scope, move || -> io::Result<T> {
                nix::sched::setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| {
                    io::Error::new(
                        io::Error::from(e).kind(),
                        format!("setns {}: {e}", path.display()),
                    )
                })?;
                drop(file);
                Ok(f())
            })?;
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

/// [`Netns::enter_thread`] as a free function.
///
/// # Errors
/// As [`Netns::enter_thread`].
pub fn in_netns<T: Send, F: FnOnce() -> T + Send>(ns: &Netns, f: F) -> io::Result<T> {
    ns.enter_thread(f)
}
