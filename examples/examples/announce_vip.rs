//! Announce virtual IPs after a takeover: gratuitous ARP for IPv4 and
//! unsolicited Neighbor Advertisements for IPv6, scheduled by
//! `arp::announcer::Announcer` and sent over an AF_PACKET socket.
//!
//! ```sh
//! sudo cargo run -p examples --example announce_vip -- \
//!     --interface eth0 --vip 192.0.2.10 --vip 2001:db8::10
//! ```
//!
//! With the defaults this behaves like keepalived on becoming Master
//! (`garp_master_repeat 5`, `garp_master_delay 5`): five rounds at once and
//! five more after 5 s. With `--refresh-ms` it keeps re-announcing until
//! Ctrl-C.
#![allow(
    clippy::print_stdout,
    clippy::disallowed_methods,
    reason = "an example program: it prints progress and reads the clock to drive the sans-IO announcer"
)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use arp::MacAddr;
use arp::announcer::{Announcer, Config, GarpForm, Input, Output};
use clap::Parser;
use dsas_node::sys::{AsyncPacketSocket, ETH_P_ALL, interface_mac};

#[derive(Debug, Parser)]
#[command(about = "Announce virtual IPs with gratuitous ARP / unsolicited NA")]
struct Args {
    /// Interface to send on.
    #[arg(long)]
    interface: String,
    /// Address to announce (repeatable; IPv4 or IPv6).
    #[arg(long = "vip", required = true)]
    vips: Vec<IpAddr>,
    /// Source MAC (default: the interface's).
    #[arg(long)]
    mac: Option<MacAddr>,
    /// Rounds per burst (keepalived garp_master_repeat).
    #[arg(long, default_value_t = 5)]
    repeat: u32,
    /// Time between rounds of a burst, in milliseconds.
    #[arg(long, default_value_t = 0)]
    interval_ms: u64,
    /// Delay of the second burst in milliseconds (keepalived
    /// garp_master_delay; 0 = no second burst).
    #[arg(long, default_value_t = 5000)]
    second_burst_ms: u64,
    /// Re-announce every N milliseconds until Ctrl-C (0 = off).
    #[arg(long, default_value_t = 0)]
    refresh_ms: u64,
    /// GARP layout: request (keepalived, arping -U), reply (arping -A) or
    /// kernel (target MAC zero).
    #[arg(long, default_value = "request", value_parser = parse_form)]
    form: GarpForm,
    /// Set the R flag in Neighbor Advertisements.
    #[arg(long)]
    router: bool,
}

fn parse_form(s: &str) -> Result<GarpForm, String> {
    match s {
        "request" => Ok(GarpForm::Request),
        "reply" => Ok(GarpForm::Reply),
        "kernel" => Ok(GarpForm::Kernel),
        other => Err(format!(
            "unknown form {other:?}: use request, reply or kernel"
        )),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mac = match args.mac {
        Some(mac) => mac,
        None => MacAddr(interface_mac(&args.interface)?),
    };
    let socket = AsyncPacketSocket::bind(&args.interface, ETH_P_ALL)?;

    let config = Config {
        addresses: args.vips.clone(),
        garp_form: args.form,
        na_router: args.router,
        repeat: args.repeat,
        repeat_interval: Duration::from_millis(args.interval_ms),
        second_burst_delay: Duration::from_millis(args.second_burst_ms),
        refresh: Duration::from_millis(args.refresh_ms),
        ..Config::keepalived(mac)
    };
    let start = Instant::now();
    let mut announcer = Announcer::new(config, start)?;
    announcer.handle(start, Input::Start);

    loop {
        while let Some(output) = announcer.poll_output() {
            match output {
                Output::Transmit { address, frame } => {
                    socket.send(&frame).await?;
                    let at = start.elapsed().as_secs_f64();
                    println!(
                        "{at:8.3}s  announced {address} from {mac} ({} bytes)",
                        frame.len()
                    );
                }
                Output::BurstDone { kind } => {
                    println!(
                        "{:8.3}s  {kind:?} burst done",
                        start.elapsed().as_secs_f64()
                    );
                }
            }
        }
        let Some(deadline) = announcer.poll_timeout() else {
            break; // nothing more scheduled
        };
        tokio::select! {
            () = tokio::time::sleep_until(deadline.into()) => announcer.handle_timeout(Instant::now()),
            _ = tokio::signal::ctrl_c() => {
                announcer.handle(Instant::now(), Input::Stop);
                break;
            }
        }
    }
    let c = announcer.counters();
    println!("done: {c:?}");
    Ok(())
}
