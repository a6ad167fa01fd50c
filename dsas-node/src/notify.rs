//! keepalived-compatible notify scripts (keepalived.conf(5) `notify_master`,
//! `notify_backup`, `notify_fault`, `notify_stop`, `notify`).
//!
//! * `notify_STATE` runs the configured command line as is (program and
//!   its own arguments, shell-style quoting, no shell).
//! * The generic `notify` gets four more arguments: `TYPE NAME STATE
//!   PRIORITY`, TYPE `INSTANCE` or `GROUP`, STATE `MASTER`, `BACKUP`,
//!   `FAULT` or `STOP`.
//! * Scripts run on a worker task, in order, each bounded by a timeout
//!   (then killed); the protocol loop only enqueues ([`Notifier::notify`]
//!   never blocks).
//! * keepalived `enable_script_security`: a program that is not absolute,
//!   not executable, or writable by anyone but root (the file or any
//!   directory above it, sticky directories excepted) is refused.

use std::fmt;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::sync::mpsc;

/// Default time a script may run before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Notifications queued before new ones are dropped (and logged).
pub const QUEUE: usize = 256;

/// The state a notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyState {
    /// Entered MASTER.
    Master,
    /// Entered BACKUP.
    Backup,
    /// Entered FAULT.
    Fault,
    /// Stopped.
    Stop,
}

impl NotifyState {
    /// keepalived's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Master => "MASTER",
            Self::Backup => "BACKUP",
            Self::Fault => "FAULT",
            Self::Stop => "STOP",
        }
    }
}

/// Whether a notification is for an instance or a sync group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyKind {
    /// `INSTANCE`.
    Instance,
    /// `GROUP`.
    Group,
}

impl NotifyKind {
    /// keepalived's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Instance => "INSTANCE",
            Self::Group => "GROUP",
        }
    }
}

/// The scripts of one instance or group (each a command line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyScripts {
    /// `notify_master`.
    pub master: Option<String>,
    /// `notify_backup`.
    pub backup: Option<String>,
    /// `notify_fault`.
    pub fault: Option<String>,
    /// `notify_stop`.
    pub stop: Option<String>,
    /// `notify` (generic, with `TYPE NAME STATE PRIORITY`).
    pub generic: Option<String>,
}

impl NotifyScripts {
    /// Every configured command line.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        [
            &self.master,
            &self.backup,
            &self.fault,
            &self.stop,
            &self.generic,
        ]
        .into_iter()
        .filter_map(|s| s.as_deref())
    }

    /// The command lines (program + arguments) to run for a transition, in
    /// keepalived's order: the state's script, then the generic one.
    #[must_use]
    pub fn commands(
        &self,
        kind: NotifyKind,
        name: &str,
        state: NotifyState,
        priority: u8,
    ) -> Vec<Vec<String>> {
        let specific = match state {
            NotifyState::Master => &self.master,
            NotifyState::Backup => &self.backup,
            NotifyState::Fault => &self.fault,
            NotifyState::Stop => &self.stop,
        };
        let mut out = Vec::new();
        if let Some(argv) = specific.as_deref().and_then(split_command) {
            out.push(argv);
        }
        if let Some(mut argv) = self.generic.as_deref().and_then(split_command) {
            argv.extend([
                kind.as_str().to_owned(),
                name.to_owned(),
                state.as_str().to_owned(),
                priority.to_string(),
            ]);
            out.push(argv);
        }
        out
    }
}

/// Splits a command line into words: whitespace separates, `'...'` and
/// `"..."` quote (no escapes inside single quotes), `\` escapes outside
/// single quotes. `None` for an empty line or an unclosed quote.
#[must_use]
pub fn split_command(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        other => w.push(other),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => w.push(chars.next()?),
                        other => w.push(other),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).push(chars.next()?),
            c if c.is_whitespace() => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    (!words.is_empty()).then_some(words)
}

/// Why a script is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptError {
    /// Not an absolute path.
    NotAbsolute(PathBuf),
    /// Missing or unreadable.
    Missing(PathBuf, String),
    /// Not a regular executable file.
    NotExecutable(PathBuf),
    /// The file or a directory above it is writable by non-root.
    Insecure(PathBuf),
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAbsolute(p) => write!(f, "{}: not an absolute path", p.display()),
            Self::Missing(p, e) => write!(f, "{}: {e}", p.display()),
            Self::NotExecutable(p) => write!(f, "{}: not an executable file", p.display()),
            Self::Insecure(p) => write!(
                f,
                "{}: writable by a user other than root (script security)",
                p.display()
            ),
        }
    }
}

impl std::error::Error for ScriptError {}

fn insecure(meta: &std::fs::Metadata, is_dir: bool) -> bool {
    let mode = meta.permissions().mode();
    let others_write = mode & 0o022 != 0;
    let sticky = mode & 0o1000 != 0;
    meta.uid() != 0 || (others_write && !(is_dir && sticky))
}

/// Checks `program` like keepalived's `enable_script_security`: absolute,
/// a regular executable file, and neither it nor any directory above it
/// writable by anyone but root (a sticky directory such as `/tmp` is
/// fine: others cannot replace entries they do not own).
///
/// # Errors
/// The first problem found.
pub fn check_script(program: &Path) -> Result<(), ScriptError> {
    if !program.is_absolute() {
        return Err(ScriptError::NotAbsolute(program.to_owned()));
    }
    let meta = std::fs::metadata(program)
        .map_err(|e| ScriptError::Missing(program.to_owned(), e.to_string()))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(ScriptError::NotExecutable(program.to_owned()));
    }
    if insecure(&meta, false) {
        return Err(ScriptError::Insecure(program.to_owned()));
    }
    for dir in program.ancestors().skip(1) {
        let meta = std::fs::metadata(dir)
            .map_err(|e| ScriptError::Missing(dir.to_owned(), e.to_string()))?;
        if insecure(&meta, true) {
            return Err(ScriptError::Insecure(dir.to_owned()));
        }
    }
    Ok(())
}

/// How a script run ended.
#[derive(Debug)]
pub enum Outcome {
    /// Exited (successfully or not).
    Exited(ExitStatus),
    /// Killed after the timeout.
    TimedOut,
    /// Refused before running.
    Refused(ScriptError),
    /// Could not be started.
    SpawnFailed(std::io::Error),
}

impl Outcome {
    /// Exited with status 0.
    #[must_use]
    pub fn success(&self) -> bool {
        matches!(self, Self::Exited(s) if s.success())
    }
}

/// Runs `argv` (checked with [`check_script`]), stdin/stdout/stderr to
/// `/dev/null`, killed after `timeout`.
pub async fn run_script(argv: &[String], timeout: Duration) -> Outcome {
    let Some((program, args)) = argv.split_first() else {
        return Outcome::Refused(ScriptError::NotAbsolute(PathBuf::new()));
    };
    if let Err(e) = check_script(Path::new(program)) {
        return Outcome::Refused(e);
    }
    let mut child = match tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Outcome::SpawnFailed(e),
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => Outcome::Exited(status),
        Ok(Err(e)) => Outcome::SpawnFailed(e),
        Err(_) => {
            // kill() also reaps the child.
            let _ = child.kill().await;
            Outcome::TimedOut
        }
    }
}

/// One queued notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Instance or group.
    pub kind: NotifyKind,
    /// Its name.
    pub name: String,
    /// New state.
    pub state: NotifyState,
    /// Current (effective) priority.
    pub priority: u8,
}

/// Runs the scripts of one instance or group on a worker task.
#[derive(Debug, Clone)]
pub struct Notifier {
    tx: mpsc::Sender<(Vec<String>, Notification)>,
    scripts: NotifyScripts,
}

impl Notifier {
    /// Starts the worker (on the current tokio runtime). Each finished
    /// run is logged and, when `outcomes` is given, sent there.
    #[must_use]
    pub fn spawn(
        scripts: NotifyScripts,
        timeout: Duration,
        outcomes: Option<mpsc::UnboundedSender<(Vec<String>, Outcome)>>,
    ) -> Self {
        let (tx, mut rx) = mpsc::channel::<(Vec<String>, Notification)>(QUEUE);
        tokio::spawn(async move {
            while let Some((argv, n)) = rx.recv().await {
                let outcome = run_script(&argv, timeout).await;
                match &outcome {
                    Outcome::Exited(s) if s.success() => {
                        tracing::debug!(name = %n.name, state = n.state.as_str(), ?argv, "notify script done");
                    }
                    other => {
                        tracing::warn!(name = %n.name, state = n.state.as_str(), ?argv, outcome = ?other, "notify script failed");
                    }
                }
                if let Some(out) = &outcomes {
                    let _ = out.send((argv, outcome));
                }
            }
        });
        Self { tx, scripts }
    }

    /// Queues the scripts for a transition; never blocks (a full queue
    /// drops the notification with a warning).
    pub fn notify(&self, kind: NotifyKind, name: &str, state: NotifyState, priority: u8) {
        let n = Notification {
            kind,
            name: name.to_owned(),
            state,
            priority,
        };
        for argv in self.scripts.commands(kind, name, state, priority) {
            if self.tx.try_send((argv, n.clone())).is_err() {
                tracing::warn!(name, state = state.as_str(), "notify queue full, dropped");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_command("/a/b  x 'y z' \"q\\\"r\" s\\ t"),
            Some(s(&["/a/b", "x", "y z", "q\"r", "s t"]))
        );
        assert_eq!(split_command("  "), None);
        assert_eq!(split_command("/a 'open"), None);
        assert_eq!(split_command("''"), Some(s(&[""])));
    }

    #[test]
    fn keepalived_argument_order() {
        let scripts = NotifyScripts {
            master: Some("/etc/m.sh master".into()),
            generic: Some("/etc/n.sh".into()),
            ..NotifyScripts::default()
        };
        assert_eq!(
            scripts.commands(NotifyKind::Instance, "VI_1", NotifyState::Master, 150),
            vec![
                s(&["/etc/m.sh", "master"]),
                s(&["/etc/n.sh", "INSTANCE", "VI_1", "MASTER", "150"])
            ]
        );
        assert_eq!(
            scripts.commands(NotifyKind::Group, "G", NotifyState::Fault, 0),
            vec![s(&["/etc/n.sh", "GROUP", "G", "FAULT", "0"])]
        );
    }
}
