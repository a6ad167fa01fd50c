//! Notify scripts: real scripts in a temporary directory (root only: the
//! script-security check requires root-owned files).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "test code"
)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dsas_node::notify::{
    Notifier, NotifyKind, NotifyScripts, NotifyState, Outcome, ScriptError, check_script,
    run_script,
};
use testkit::exec::TempDir;
use testkit::require_root;
use tokio::sync::mpsc;

fn secure_dir() -> TempDir {
    let dir = TempDir::new().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn script(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn scripts_get_keepalived_arguments_in_order() {
    require_root!();
    let dir = secure_dir();
    let out = dir.path().join("out");
    let log = format!("echo \"$0 $*\" >> {}", out.display());
    let master = script(dir.path(), "master.sh", &log, 0o755);
    let notify = script(dir.path(), "notify.sh", &log, 0o755);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (otx, mut orx) = mpsc::unbounded_channel();
        let n = Notifier::spawn(
            NotifyScripts {
                master: Some(format!("{} 'first arg' two", master.display())),
                generic: Some(notify.display().to_string()),
                ..NotifyScripts::default()
            },
            Duration::from_secs(5),
            Some(otx),
        );
        n.notify(NotifyKind::Instance, "VI_1", NotifyState::Master, 150);
        n.notify(NotifyKind::Instance, "VI_1", NotifyState::Backup, 100);
        for _ in 0..3 {
            let (_, outcome) = tokio::time::timeout(Duration::from_secs(5), orx.recv())
                .await
                .unwrap()
                .unwrap();
            assert!(outcome.success(), "{outcome:?}");
        }
    });
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        text,
        format!(
            "{m} first arg two\n{n} INSTANCE VI_1 MASTER 150\n{n} INSTANCE VI_1 BACKUP 100\n",
            m = master.display(),
            n = notify.display()
        )
    );
}

#[test]
fn insecure_scripts_are_refused() {
    require_root!();
    let dir = secure_dir();
    let ok = script(dir.path(), "ok.sh", "exit 0", 0o755);
    assert_eq!(check_script(&ok), Ok(()));
    let world = script(dir.path(), "world.sh", "exit 0", 0o777);
    assert_eq!(
        check_script(&world),
        Err(ScriptError::Insecure(world.clone()))
    );
    let group = script(dir.path(), "group.sh", "exit 0", 0o775);
    assert_eq!(
        check_script(&group),
        Err(ScriptError::Insecure(group.clone()))
    );
    let noexec = script(dir.path(), "noexec.sh", "exit 0", 0o644);
    assert_eq!(
        check_script(&noexec),
        Err(ScriptError::NotExecutable(noexec.clone()))
    );
    assert_eq!(
        check_script(Path::new("ok.sh")),
        Err(ScriptError::NotAbsolute(PathBuf::from("ok.sh")))
    );
    // A directory writable by others (not sticky) makes everything below it unsafe.
    let sub = dir.path().join("open");
    std::fs::create_dir(&sub).unwrap();
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o777)).unwrap();
    let inner = script(&sub, "inner.sh", "exit 0", 0o755);
    assert_eq!(
        check_script(&inner),
        Err(ScriptError::Insecure(sub.clone()))
    );
    // Sticky (like /tmp) is fine.
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o1777)).unwrap();
    assert_eq!(check_script(&inner), Ok(()));
    // A refused script never runs.
    let marker = dir.path().join("ran");
    let bad = script(
        dir.path(),
        "bad.sh",
        &format!("touch {}", marker.display()),
        0o757,
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let outcome = rt.block_on(run_script(
        &[bad.display().to_string()],
        Duration::from_secs(5),
    ));
    assert!(
        matches!(outcome, Outcome::Refused(ScriptError::Insecure(_))),
        "{outcome:?}"
    );
    assert!(!marker.exists());
}

#[test]
fn slow_script_is_killed_at_the_timeout_without_blocking_the_caller() {
    require_root!();
    let dir = secure_dir();
    let slow = script(dir.path(), "slow.sh", "exec sleep 30", 0o755);
    let fail = script(dir.path(), "fail.sh", "exit 3", 0o755);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let outcome = run_script(&[slow.display().to_string()], Duration::from_millis(200)).await;
        assert!(matches!(outcome, Outcome::TimedOut), "{outcome:?}");
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(200) && took < Duration::from_secs(5),
            "{took:?}"
        );
        let outcome = run_script(&[fail.display().to_string()], Duration::from_secs(5)).await;
        assert!(
            matches!(&outcome, Outcome::Exited(s) if s.code() == Some(3)),
            "{outcome:?}"
        );

        // notify() only enqueues.
        let n = Notifier::spawn(
            NotifyScripts {
                fault: Some(slow.display().to_string()),
                ..NotifyScripts::default()
            },
            Duration::from_secs(10),
            None,
        );
        let start = Instant::now();
        n.notify(NotifyKind::Group, "G", NotifyState::Fault, 0);
        assert!(start.elapsed() < Duration::from_millis(50));
    });
}
