//! Roles: the protocols a node runs (VRRP first; RSTP, health checks
//! later), each a task with the same life cycle.
//!
//! # How a role drives a sans-IO machine
//!
//! A role owns its machines and its sockets and runs one loop (see
//! `ARCHITECTURE.md`, "How dsas-node drives a machine"):
//!
//! ```text
//! loop {
//!     let deadline = machine.poll_timeout();
//!     select! {
//!         pkt = socket.recv()              => machine.handle(now(), Input::Packet(..)),
//!         _ = sleep_until(deadline)        => machine.handle_timeout(now()),
//!         ev = link_events.next()          => machine.handle(now(), Input::Link(..)),
//!         Some(reply) = status_rx.recv()   => reply.send(status_json(&machine)),
//!         _ = ctx.shutdown.wait()          => { machine.shutdown(now()); drain; break }
//!     }
//!     while let Some(out) = machine.poll_output() {
//!         match out { Transmit(..) => socket.send_to(..).await,
//!                     AddAddress(..) => netlink.add_address(..).await,
//!                     StateChanged(..) => notifier.notify(..), ... }
//!     }
//! }
//! ```
//!
//! * The role is the only place that reads the clock (`Instant::now()`
//!   right before each `handle*` call) and does I/O ([`crate::vrrp_io`],
//!   [`crate::netlink`], [`crate::sys`]).
//! * Status: create a channel with [`crate::control::status_channel`],
//!   register it in [`RoleContext::registry`] under the role's name and
//!   answer each request inside the loop (so timers are current).
//! * Notify scripts go through [`crate::notify::Notifier`], which never
//!   blocks the loop.
//! * Shutdown: [`RoleContext::shutdown`] fires on SIGTERM/SIGINT; the role
//!   finishes its goodbye (VRRP: an advert with priority 0, addresses
//!   removed, `notify_stop`) and returns within [`SHUTDOWN_GRACE`].

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::control::Registry;

/// How long roles get to finish after the shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A boxed role future.
pub type RoleFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

/// One protocol the node runs.
pub trait Role: Send + fmt::Debug {
    /// Name (status key, logs), e.g. `"vrrp"`.
    fn name(&self) -> &'static str;
    /// Runs until [`RoleContext::shutdown`] fires (then says goodbye and
    /// returns `Ok`) or a fatal error.
    fn run(self: Box<Self>, ctx: RoleContext) -> RoleFuture;
}

/// The shutdown signal as roles see it.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    /// Resolves once shutdown was requested (at once if it already was, or
    /// if the node is gone).
    pub async fn wait(&mut self) {
        let _ = self.rx.wait_for(|stop| *stop).await;
    }

    /// Whether shutdown was requested.
    #[must_use]
    pub fn requested(&self) -> bool {
        *self.rx.borrow()
    }
}

/// What the node hands each role.
#[derive(Debug, Clone)]
pub struct RoleContext {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Where to register the role's status channel.
    pub registry: Registry,
    /// Fires on SIGTERM/SIGINT.
    pub shutdown: Shutdown,
}

/// The roles the configuration asks for: VRRP when `[[vrrp.instance]]`
/// is non-empty.
#[must_use]
pub fn from_config(config: &Config) -> Vec<Box<dyn Role>> {
    let mut roles: Vec<Box<dyn Role>> = Vec::new();
    if let Some(vrrp) = crate::vrrp_role::VrrpRole::from_config(config) {
        roles.push(Box::new(vrrp));
    }
    if let Some(health) = crate::health_role::HealthRole::from_config(config) {
        roles.push(Box::new(health));
    }
    if let Some(rstp) = crate::rstp_role::RstpRole::from_config(config) {
        roles.push(Box::new(rstp));
    }
    roles
}

/// Runs `roles` until `stop` resolves or a role fails, then signals
/// shutdown and waits up to [`SHUTDOWN_GRACE`] for every role.
///
/// # Errors
/// The first role error (after shutting the others down).
pub async fn run_roles(
    roles: Vec<Box<dyn Role>>,
    config: Arc<Config>,
    registry: Registry,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let (tx, rx) = watch::channel(false);
    let mut set = JoinSet::new();
    for role in roles {
        let name = role.name();
        let ctx = RoleContext {
            config: Arc::clone(&config),
            registry: registry.clone(),
            shutdown: Shutdown { rx: rx.clone() },
        };
        tracing::info!(role = name, "starting role");
        let fut = role.run(ctx);
        set.spawn(async move { (name, fut.await) });
    }
    let mut first_error: Option<io::Error> = None;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            done = set.join_next(), if !set.is_empty() => match done {
                Some(Ok((name, Ok(())))) => tracing::info!(role = name, "role finished"),
                Some(Ok((name, Err(e)))) => {
                    tracing::error!(role = name, error = %e, "role failed");
                    first_error = Some(io::Error::new(e.kind(), format!("role {name}: {e}")));
                    break;
                }
                Some(Err(e)) => {
                    first_error = Some(io::Error::other(format!("role task: {e}")));
                    break;
                }
                None => {}
            },
        }
    }
    tracing::info!("shutting down");
    let _ = tx.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while let Some(done) = set.join_next().await {
            match done {
                Ok((name, Ok(()))) => tracing::info!(role = name, "role stopped"),
                Ok((name, Err(e))) => {
                    tracing::warn!(role = name, error = %e, "role stopped with error")
                }
                Err(e) => tracing::warn!(error = %e, "role task failed"),
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!("roles did not stop within {SHUTDOWN_GRACE:?}; aborting them");
        set.abort_all();
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::status_channel;
    use serde_json::json;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[derive(Debug)]
    struct Echo {
        said_goodbye: Arc<AtomicBool>,
    }

    impl Role for Echo {
        fn name(&self) -> &'static str {
            "echo"
        }
        fn run(self: Box<Self>, mut ctx: RoleContext) -> RoleFuture {
            Box::pin(async move {
                let (handle, mut requests) = status_channel();
                ctx.registry.register("echo", handle);
                loop {
                    tokio::select! {
                        Some(reply) = requests.recv() => { let _ = reply.send(json!({"state": "up"})); }
                        () = ctx.shutdown.wait() => break,
                    }
                }
                self.said_goodbye.store(true, Ordering::SeqCst);
                Ok(())
            })
        }
    }

    #[derive(Debug)]
    struct Fails;

    impl Role for Fails {
        fn name(&self) -> &'static str {
            "fails"
        }
        fn run(self: Box<Self>, _ctx: RoleContext) -> RoleFuture {
            Box::pin(async { Err(io::Error::other("boom")) })
        }
    }

    #[tokio::test]
    async fn roles_answer_status_and_stop_gracefully() {
        let flag = Arc::new(AtomicBool::new(false));
        let registry = Registry::default();
        let reg = registry.clone();
        let roles: Vec<Box<dyn Role>> = vec![Box::new(Echo {
            said_goodbye: Arc::clone(&flag),
        })];
        let stop = async move {
            // Wait for the role to register, then query it.
            for _ in 0..100 {
                let s = reg.collect().await;
                if s.get("echo") == Some(&json!({"state": "up"})) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("role never answered");
        };
        run_roles(roles, Arc::new(Config::default()), registry, stop)
            .await
            .unwrap();
        assert!(flag.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_failing_role_stops_the_others() {
        let flag = Arc::new(AtomicBool::new(false));
        let roles: Vec<Box<dyn Role>> = vec![
            Box::new(Echo {
                said_goodbye: Arc::clone(&flag),
            }),
            Box::new(Fails),
        ];
        let err = run_roles(
            roles,
            Arc::new(Config::default()),
            Registry::default(),
            std::future::pending(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), "role fails: boom");
        assert!(flag.load(Ordering::SeqCst));
    }
}
