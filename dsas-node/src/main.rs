//! `dsas-node`: the reference node binary.
//!
//! * `dsas-node run [--config PATH]`: runs the roles the configuration
//!   defines, serves the control socket; SIGTERM/SIGINT stop it gracefully.
//! * `dsas-node check [--config PATH]`: validates and summarises the file
//!   (like `keepalived -t`); exit status 1 on error.
//! * `dsas-node status [--json] [--socket PATH]`: asks a running node.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use dsas_node::config::{self, Config, DEFAULT_CONFIG_PATH, DEFAULT_CONTROL_SOCKET};
use dsas_node::control::{self, NodeInfo, Registry};
use dsas_node::roles;
use tokio::signal::unix::{SignalKind, signal};

#[derive(Debug, Parser)]
#[command(name = "dsas-node", version, about = "Reference DSAS node")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the node.
    Run {
        /// Configuration file.
        #[arg(long, short, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
    /// Validate the configuration and print a summary.
    Check {
        /// Configuration file.
        #[arg(long, short, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
    /// Show the state of a running node.
    Status {
        /// Print the raw JSON reply.
        #[arg(long)]
        json: bool,
        /// Control socket.
        #[arg(long, default_value = DEFAULT_CONTROL_SOCKET)]
        socket: PathBuf,
    },
}

fn init_tracing(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "dsas-node".to_owned())
}

fn out(text: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(text.as_bytes()).is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => match config::load(&config) {
            Ok(c) => out(&format!(
                "{}: configuration OK\n{}",
                config.display(),
                c.summary()
            )),
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        Command::Status { json, socket } => status(&socket, json),
        Command::Run { config } => {
            let c = match config::load(&config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            init_tracing(&c.node.log_level);
            match runtime().and_then(|rt| rt.block_on(run(c))) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "dsas-node failed");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn status(socket: &Path, json: bool) -> ExitCode {
    let reply = runtime().and_then(|rt| {
        rt.block_on(control::request(
            socket,
            &serde_json::json!({ "cmd": "status" }),
        ))
    });
    match reply {
        Ok(v) if json => out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        )),
        Ok(v) => {
            let ok = v.get("ok") == Some(&serde_json::Value::Bool(true));
            let code = out(&control::render_status(&v));
            if ok { code } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("dsas-node status: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> std::io::Result<()> {
    let config = Arc::new(config);
    let registry = Registry::default();
    let info = NodeInfo {
        name: config.node.name.clone().unwrap_or_else(host_name),
        started: tokio::time::Instant::now(),
    };
    let _server = control::serve(&config.node.control_socket, info, registry.clone()).await?;
    tracing::info!(socket = %config.node.control_socket.display(), "control socket ready");
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let stop = async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = int.recv() => tracing::info!("SIGINT"),
        }
    };
    let roles = roles::from_config(&config);
    roles::run_roles(roles, config, registry, stop).await
}
