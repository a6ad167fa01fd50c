//! `dsas-lab`: build the kernel-lab image, run a script in a guest, open an
//! interactive guest shell, or measure boot time. See `lab/README.md`.
#![allow(clippy::print_stdout, reason = "command-line tool")]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use testkit::lab::{Lab, LabError, NicAttach, Vm, VmConfig};

#[derive(Parser)]
#[command(
    name = "dsas-lab",
    about = "Debian's kernel under qemu as a test peer (IPVS, bonding, 802.1Q, DRBD)"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build (or reuse) the cached image and print its directory.
    Build,
    /// Boot a guest, run SCRIPT in it (sh), print its output, exit with its status.
    Run {
        #[command(flatten)]
        vm: VmArgs,
        /// Per-command timeout in seconds.
        #[arg(long, default_value_t = 300)]
        cmd_timeout: u64,
        /// The script (words are joined with spaces).
        #[arg(last = true, required = true)]
        script: Vec<String>,
    },
    /// Boot a guest with an interactive shell on this terminal (Ctrl-A X quits).
    Shell {
        #[command(flatten)]
        vm: VmArgs,
    },
    /// Boot N times and print boot-to-ready-shell time (modules loaded), median last.
    BenchBoot {
        /// Number of boots.
        #[arg(short = 'n', long, default_value_t = 5)]
        runs: usize,
    },
}

#[derive(Args)]
struct VmArgs {
    /// NIC: `tap` (TAP in this namespace), `tap:NS` (TAP moved into netns NS),
    /// `bridge:BR` or `bridge:BR@NS` (TAP enslaved to bridge BR). Repeatable.
    #[arg(long = "nic", value_parser = parse_nic)]
    nics: Vec<NicAttach>,
    /// Raw disk image (virtio-blk, /dev/vda, ...). Repeatable.
    #[arg(long = "disk")]
    disks: Vec<PathBuf>,
    /// HOST:GUEST file to copy in (ELF libraries follow). Repeatable.
    #[arg(long = "file", value_parser = parse_file)]
    files: Vec<(PathBuf, String)>,
    /// Guest memory in MiB.
    #[arg(long, default_value_t = 512)]
    mem: u32,
    /// Boot timeout in seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Guest name (hostname).
    #[arg(long)]
    name: Option<String>,
    /// Extra kernel parameters, e.g. `loglevel=7`.
    #[arg(long, default_value = "")]
    append: String,
}

impl VmArgs {
    fn config(self) -> VmConfig {
        VmConfig {
            name: self.name,
            memory_mb: self.mem,
            nics: self.nics,
            disks: self.disks,
            files: self.files,
            timeout: Duration::from_secs(self.timeout),
            kernel_args: self.append,
            ..VmConfig::default()
        }
    }
}

fn parse_nic(spec: &str) -> Result<NicAttach, String> {
    match spec.split_once(':') {
        None if spec == "tap" => Ok(NicAttach::Tap),
        Some(("tap" | "netns", ns)) if !ns.is_empty() => Ok(NicAttach::Netns(ns.to_owned())),
        Some(("bridge", rest)) if !rest.is_empty() => Ok(match rest.split_once('@') {
            Some((br, ns)) => NicAttach::Bridge {
                bridge: br.to_owned(),
                netns: Some(ns.to_owned()),
            },
            None => NicAttach::Bridge {
                bridge: rest.to_owned(),
                netns: None,
            },
        }),
        _ => Err(format!(
            "bad NIC {spec:?}: use tap, tap:NETNS, bridge:BRIDGE or bridge:BRIDGE@NETNS"
        )),
    }
}

fn parse_file(spec: &str) -> Result<(PathBuf, String), String> {
    match spec.split_once(':') {
        Some((host, guest)) if !host.is_empty() && guest.starts_with('/') => {
            Ok((PathBuf::from(host), guest.to_owned()))
        }
        _ => Err(format!("bad file {spec:?}: use HOST_PATH:/GUEST/PATH")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dsas-lab: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, LabError> {
    match cli.command {
        Cmd::Build => {
            let image = Lab::ensure_built()?;
            println!("{}", image.dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run {
            vm,
            cmd_timeout,
            script,
        } => {
            let image = Lab::ensure_built()?;
            let mut cfg = vm.config();
            cfg.cmd_timeout = Duration::from_secs(cmd_timeout);
            let guest = Vm::boot(&image, cfg)?;
            let out = guest.run(&script.join(" "))?;
            print!("{}", out.stdout);
            eprint!("{}", out.stderr);
            guest.shutdown()?;
            Ok(ExitCode::from(u8::try_from(out.status).unwrap_or(255)))
        }
        Cmd::Shell { vm } => {
            let image = Lab::ensure_built()?;
            let status = Vm::interactive(&image, &vm.config())?;
            Ok(if status.success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::BenchBoot { runs } => {
            let image = Lab::ensure_built()?;
            let mut times = Vec::new();
            for i in 1..=runs.max(1) {
                let guest = Vm::boot(&image, VmConfig::default())?;
                let t = guest.boot_time();
                let uptime = guest.run("cut -d' ' -f1 /proc/uptime")?;
                println!(
                    "boot {i}: {:.2} s wall to ready shell (guest uptime {} s)",
                    t.as_secs_f64(),
                    uptime.stdout.trim()
                );
                times.push(t);
                drop(guest);
            }
            times.sort();
            let median = times.get(times.len() / 2).copied().unwrap_or_default();
            println!(
                "median boot-to-ready-shell: {:.2} s over {} runs (kernel {}, {})",
                median.as_secs_f64(),
                times.len(),
                image.kernel_version,
                image.kernel.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
