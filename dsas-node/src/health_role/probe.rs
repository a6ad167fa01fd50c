//! The probe drivers: each runs one [`ProbeSpec`] over a real socket (or
//! process) and returns its [`Verdict`]. The engine enforces the timeout
//! (and the role aborts the task on `ProbeTimedOut`); `run` also bounds
//! itself with the same timeout so no task outlives its probe.
//!
//! * TCP, plain HTTP, SMTP and agent checks run on the role's
//!   [`super::reactor`], not here.
//! * HTTPS: the HTTP [`Conversation`] over a rustls client stream (see
//!   [`super::tls`]), closed with RST once the verdict is in.
//! * DNS / UDP: a connected UDP socket; an ICMP error (`ECONNREFUSED`) is
//!   [`FailReason::Unreachable`].
//! * ICMP: a datagram ("ping") socket (`SOCK_DGRAM`, `IPPROTO_ICMP`) when
//!   `net.ipv4.ping_group_range` allows our group, else a raw socket
//!   (root / `CAP_NET_RAW`).
//! * MISC: the command in its own process group, stdio to `/dev/null`;
//!   on timeout or abort the whole group is killed.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::process::ExitStatusExt as _;
use std::process::Stdio;
use std::time::Duration;

use healthcheck::dns::DnsCheck;
use healthcheck::http::HttpCheck;
use healthcheck::icmp::{Family, IcmpCheck, strip_ipv4_header};
use healthcheck::misc::{self, MiscExit};
use healthcheck::udp::UdpCheck;
use healthcheck::{Conversation, FailReason, Verdict};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

use super::plan::ProbeSpec;
use super::reactor::{Use, stream_socket};

/// Read buffer of stream conversations.
const READ_CHUNK: usize = 16 * 1024;
/// Largest datagram read.
const MAX_DATAGRAM: usize = 65_535;

/// Runs `spec` once; `id` seeds the DNS ID and ICMP identifiers.
pub async fn run(spec: &ProbeSpec, id: u64, timeout: Duration) -> Verdict {
    match tokio::time::timeout(timeout, run_inner(spec, id, timeout)).await {
        Ok(v) => v,
        Err(_) => Verdict::Fail(FailReason::Timeout),
    }
}

fn low16(v: u64) -> u16 {
    u16::try_from(v & 0xffff).unwrap_or(0)
}

async fn run_inner(spec: &ProbeSpec, id: u64, timeout: Duration) -> Verdict {
    match spec {
        ProbeSpec::Http {
            addr,
            bind,
            spec,
            tls: Some(tls),
        } => {
            let Ok(stream) = connect(*addr, *bind, Use::ClientFirst).await else {
                return Verdict::Fail(FailReason::ConnectFailed);
            };
            let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::clone(&tls.config));
            match connector.connect(tls.server_name.clone(), stream).await {
                Ok(s) => converse(s, &mut HttpCheck::new(std::sync::Arc::clone(spec))).await,
                Err(e) => {
                    tracing::debug!(%addr, error = %e, "TLS handshake failed");
                    Verdict::Fail(FailReason::Malformed("TLS handshake failed"))
                }
            }
        }
        // Plain streams run on the role's reactor, never here.
        ProbeSpec::Tcp { .. }
        | ProbeSpec::Http { tls: None, .. }
        | ProbeSpec::Smtp { .. }
        | ProbeSpec::Agent { .. } => Verdict::Fail(FailReason::Driver),
        ProbeSpec::Dns { addr, bind, config } => {
            let qid = low16(super::mix(id));
            let Ok(mut conv) = DnsCheck::new(config, qid) else {
                return Verdict::Fail(FailReason::Driver);
            };
            match udp_socket(*addr, *bind).await {
                Ok(sock) => datagrams(&sock, &mut conv, false).await,
                Err(_) => Verdict::Fail(FailReason::Driver),
            }
        }
        ProbeSpec::Udp { addr, bind, config } => {
            let mut conv = UdpCheck::new(config.clone());
            match udp_socket(*addr, *bind).await {
                Ok(sock) => datagrams(&sock, &mut conv, false).await,
                Err(_) => Verdict::Fail(FailReason::Driver),
            }
        }
        ProbeSpec::Icmp { addr, bind } => icmp(*addr, *bind, id).await,
        ProbeSpec::Misc {
            argv,
            timeout: misc_timeout,
            dynamic,
        } => run_misc(argv, (*misc_timeout).min(timeout), *dynamic).await,
    }
}

/// A tokio stream connected to `addr` (see [`stream_socket`]).
async fn connect(addr: SocketAddr, bind: Option<SocketAddr>, usage: Use) -> io::Result<TcpStream> {
    let sock = stream_socket(addr, bind, usage)?;
    TcpSocket::from_std_stream(std::net::TcpStream::from(sock))
        .connect(addr)
        .await
}

/// Drives a stream conversation to its verdict (see
/// [`healthcheck::conversation`]): write what it has, read, repeat; then
/// drop the stream (RST: [`Use::ClientFirst`]).
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    conv: &mut (dyn Conversation + Send),
) -> Verdict {
    conv.handle_connected();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut eof = false;
    loop {
        while let Some(out) = conv.poll_transmit() {
            if stream.write_all(&out).await.is_err() {
                conv.handle_eof();
                break;
            }
        }
        if let Some(v) = conv.verdict() {
            return v;
        }
        if eof {
            return Verdict::Fail(FailReason::ClosedEarly);
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => {
                conv.handle_eof();
                eof = true;
            }
            Ok(n) => conv.handle_data(buf.get(..n).unwrap_or(&[])),
        }
    }
}

fn unspecified(v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    }
}

async fn udp_socket(addr: SocketAddr, bind: Option<SocketAddr>) -> io::Result<UdpSocket> {
    let local = bind.unwrap_or_else(|| SocketAddr::new(unspecified(addr.is_ipv4()), 0));
    let sock = UdpSocket::bind(local).await?;
    sock.connect(addr).await?;
    Ok(sock)
}

/// Datagram conversation on a connected socket; `strip_ip`: raw IPv4 ICMP
/// sockets deliver the IP header.
async fn datagrams(
    sock: &UdpSocket,
    conv: &mut (dyn Conversation + Send),
    strip_ip: bool,
) -> Verdict {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        while let Some(out) = conv.poll_transmit() {
            if let Err(e) = sock.send(&out).await {
                return send_error(&e);
            }
        }
        if let Some(v) = conv.verdict() {
            return v;
        }
        match sock.recv(&mut buf).await {
            Ok(n) => {
                let got = buf.get(..n).unwrap_or(&[]);
                let msg = if strip_ip {
                    strip_ipv4_header(got).unwrap_or(&[])
                } else {
                    got
                };
                conv.handle_data(msg);
            }
            Err(e) => return send_error(&e),
        }
    }
}

fn send_error(e: &io::Error) -> Verdict {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Verdict::Fail(FailReason::Unreachable),
        _ if matches!(
            e.raw_os_error(),
            Some(libc::EHOSTUNREACH | libc::ENETUNREACH | libc::EHOSTDOWN)
        ) =>
        {
            Verdict::Fail(FailReason::Unreachable)
        }
        _ => Verdict::Fail(FailReason::Driver),
    }
}

/// An ICMP socket: datagram if allowed, else raw. Returns it and whether
/// it is raw.
fn icmp_socket(addr: IpAddr, bind: Option<IpAddr>) -> io::Result<(UdpSocket, bool)> {
    let (domain, proto) = match addr {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    let (sock, raw) = match Socket::new(domain, Type::DGRAM, Some(proto)) {
        Ok(s) => (s, false),
        Err(_) => (Socket::new(domain, Type::RAW, Some(proto))?, true),
    };
    sock.set_nonblocking(true)?;
    if let Some(b) = bind {
        sock.bind(&SocketAddr::new(b, 0).into())?;
    }
    sock.connect(&SocketAddr::new(addr, 0).into())?;
    let std_sock = std::net::UdpSocket::from(sock);
    Ok((UdpSocket::from_std(std_sock)?, raw))
}

async fn icmp(addr: IpAddr, bind: Option<IpAddr>, id: u64) -> Verdict {
    let Ok((sock, raw)) = icmp_socket(addr, bind) else {
        return Verdict::Fail(FailReason::Driver);
    };
    let family = if addr.is_ipv4() {
        Family::V4
    } else {
        Family::V6(None)
    };
    let tag = super::mix(id);
    let payload = tag.to_be_bytes().repeat(2);
    let mut conv = IcmpCheck::new(
        family,
        low16(tag >> 16),
        low16(id),
        payload,
        // Ping sockets rewrite the identifier to their port.
        raw,
    );
    datagrams(&sock, &mut conv, raw && addr.is_ipv4()).await
}

/// Kills a process group on drop unless disarmed.
struct GroupKill(Option<nix::unistd::Pid>);

impl Drop for GroupKill {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

async fn run_misc(argv: &[String], timeout: Duration, dynamic: bool) -> Verdict {
    let Some((program, args)) = argv.split_first() else {
        return Verdict::Fail(FailReason::Driver);
    };
    if let Err(e) = crate::notify::check_script(std::path::Path::new(program)) {
        tracing::warn!(program, error = %e, "MISC_CHECK refused");
        return Verdict::Fail(FailReason::Driver);
    }
    let mut child = match tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(program, error = %e, "MISC_CHECK cannot start");
            return Verdict::Fail(FailReason::Driver);
        }
    };
    let mut guard = GroupKill(
        child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .map(nix::unistd::Pid::from_raw),
    );
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => {
            guard.0 = None;
            let exit = match (status.code(), status.signal()) {
                (Some(c), _) => MiscExit::Code(c),
                (None, Some(s)) => MiscExit::Signal(s),
                (None, None) => return Verdict::Fail(FailReason::Driver),
            };
            misc::verdict(exit, dynamic)
        }
        Ok(Err(_)) => Verdict::Fail(FailReason::Driver),
        Err(_) => {
            drop(guard);
            let _ = child.kill().await;
            Verdict::Fail(FailReason::Timeout)
        }
    }
}
