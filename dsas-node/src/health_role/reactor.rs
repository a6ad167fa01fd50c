//! The stream-probe reactor: plain TCP connect checks and the plain-stream
//! conversations (HTTP_GET, SMTP_CHECK, agent) run on non-blocking sockets
//! that the role's loop advances on its tick; no task, timer, channel
//! message or tokio registration per probe (issue 6: 10,000 checks a
//! second at or below HAProxy's CPU).
//!
//! A connection starts *fresh*: the next tick looks at every fresh
//! connection with one `poll(2)` (a connect to a LAN or local target has
//! finished by then). What that settles (a TCP_CHECK's connect, a refusal)
//! never enters an epoll set; the rest (stragglers, conversations waiting
//! for their reply) join the reactor's own epoll set, edge-triggered for
//! input, output and peer close, which the loop drains on the ticks its
//! fd turns readable. Closing a socket takes it out of the set.
//!
//! The checks that end with RST (TCP_CHECK, HTTP_GET) end with their
//! connection dissolved rather than their socket closed
//! ([`crate::sys::disconnect`]: the same RST), and the socket is kept for
//! a later check: the kernel's socket set-up and tear-down, a fifth of the
//! cost of a check on a local target, are paid once instead of per check.
//! A TCP_CHECK that settles at its first tick thus costs one `setsockopt`
//! (`TCP_QUICKACK`, which the disconnect clears) and two `connect`s;
//! HAProxy pays `socket`, `fcntl`, three `setsockopt`, `connect`,
//! `epoll_ctl` and `close`. (Sockets with a `bind_to` source are not
//! kept.)
//!
//! On each readiness a connection first learns whether its connect
//! finished (output ready; an error or hang-up is a failed connect), then
//! writes what its [`Conversation`] queued, then reads until the socket is
//! empty or a verdict is in.
//!
//! The engine times probes out (the role then calls [`Reactor::cancel`]),
//! so the reactor keeps no clock. SSL_GET (rustls over tokio), DNS, UDP,
//! ICMP and MISC keep a task each ([`super::probe`]).

use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsFd as _;
use std::time::Duration;

use healthcheck::agent::AgentCheck;
use healthcheck::http::HttpCheck;
use healthcheck::smtp::SmtpCheck;
use healthcheck::tcp::TcpConnect;
use healthcheck::{Conversation, FailReason, Verdict};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::epoll::{EpollEvent, EpollFlags, EpollTimeout};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::sync::OwnedSemaphorePermit;

use super::plan::ProbeSpec;
use super::{IdMap, ProbeRef};
use crate::sys::{EpollFd, async_epoll};

/// Read buffer (shared by every connection: reads go straight into the
/// conversation, which keeps what it needs within its caps).
const READ_CHUNK: usize = 16 * 1024;
/// Events taken per `epoll_wait`.
const EVENTS: usize = 256;
/// Spare TCP_CHECK / HTTP_GET sockets kept per address family (more than
/// one tick's checks need only at 64,000 checks a second).
const SPARE: usize = 256;

/// A probe the reactor can run: where to connect, how, and the
/// conversation to hold there.
pub struct StreamProbe {
    addr: SocketAddr,
    bind: Option<SocketAddr>,
    usage: Use,
    conv: Box<dyn Conversation + Send>,
    /// Sent before the conversation's own bytes (the agent's `agent-send`).
    first: Vec<u8>,
}

impl std::fmt::Debug for StreamProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamProbe")
            .field("addr", &self.addr)
            .field("usage", &self.usage)
            .finish_non_exhaustive()
    }
}

impl StreamProbe {
    /// The reactor's form of `spec`: `None` for the kinds that keep a task
    /// (SSL_GET, DNS, UDP, ICMP, MISC); `Some(Err)` when the conversation
    /// cannot be built.
    #[must_use]
    pub fn from_spec(spec: &ProbeSpec) -> Option<Result<Self, Verdict>> {
        let (addr, bind, usage, conv, first): (_, _, _, Box<dyn Conversation + Send>, _) =
            match spec {
                ProbeSpec::Tcp { addr, bind } => (
                    *addr,
                    *bind,
                    Use::ConnectOnly,
                    Box::new(TcpConnect::new()),
                    Vec::new(),
                ),
                ProbeSpec::Http {
                    addr,
                    bind,
                    spec,
                    tls: None,
                } => (
                    *addr,
                    *bind,
                    Use::ClientFirst,
                    Box::new(HttpCheck::new(std::sync::Arc::clone(spec))),
                    Vec::new(),
                ),
                ProbeSpec::Smtp { addr, bind, config } => {
                    let Ok(conv) = SmtpCheck::new(config) else {
                        return Some(Err(Verdict::Fail(FailReason::Driver)));
                    };
                    (*addr, *bind, Use::ServerFirst, Box::new(conv), Vec::new())
                }
                ProbeSpec::Agent { addr, send } => (
                    *addr,
                    None,
                    Use::ServerFirst,
                    Box::new(AgentCheck::new()),
                    send.clone().unwrap_or_default(),
                ),
                ProbeSpec::Http { tls: Some(_), .. }
                | ProbeSpec::Dns { .. }
                | ProbeSpec::Icmp { .. }
                | ProbeSpec::Udp { .. }
                | ProbeSpec::Misc { .. } => return None,
            };
        Some(Ok(Self {
            addr,
            bind,
            usage,
            conv,
            first,
        }))
    }
}

/// What a connection is for, which sets how its handshake ends and how it
/// closes once the verdict is in. The checks HAProxy closes hard
/// (`ConnectOnly`, `ClientFirst`) are reset: RST, by `SO_LINGER` 0 (from
/// [`stream_socket`]) when the socket is closed, by a disconnect when it
/// is kept ([`crate::sys::disconnect`]); no FIN exchange and no
/// `TIME_WAIT` on either side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Use {
    /// A plain TCP check: connect, then RST. The handshake's last ACK is
    /// delayed (`TCP_QUICKACK` off, as HAProxy connects its checks) and
    /// the RST goes first, so the server's listener answers the SYN (what
    /// the check proves) but never accepts a connection.
    ConnectOnly,
    /// The client speaks first (HTTP, TLS): the delayed ACK rides on the
    /// request; `TCP_NODELAY` keeps TLS's back-to-back writes moving; RST
    /// once the verdict is in.
    ClientFirst,
    /// The server speaks first (SMTP banner, agent): ACK at once; at the
    /// end, what the conversation still queued (SMTP `QUIT`), then FIN.
    ServerFirst,
}

/// A non-blocking, close-on-exec TCP socket for `addr`, bound to `bind`,
/// with `TCP_NODELAY` and the options `usage` asks for; not yet connected.
/// Both drivers build their sockets here (the reactor and
/// [`super::probe`]'s TLS connect). `ConnectOnly` and `ClientFirst`
/// sockets are alike, so a kept one serves either.
pub(super) fn stream_socket(
    addr: SocketAddr,
    bind: Option<SocketAddr>,
    usage: Use,
) -> io::Result<Socket> {
    let sock = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    if let Some(b) = bind {
        sock.set_reuse_address(true)?;
        sock.bind(&b.into())?;
    }
    sock.set_tcp_nodelay(true)?;
    if usage != Use::ServerFirst {
        sock.set_tcp_quickack(false)?;
        sock.set_linger(Some(Duration::ZERO))?;
    }
    Ok(sock)
}

/// One connection, keyed by its probe id.
struct Conn {
    /// The role's record of the probe, handed back with the verdict.
    probe: ProbeRef,
    sock: Socket,
    conv: Box<dyn Conversation + Send>,
    /// Bytes queued but not yet accepted by the socket.
    out: Vec<u8>,
    connected: bool,
    eof: bool,
    usage: Use,
    /// A socket that closes with RST and has no `bind_to` source: once
    /// connected it can be dissolved and kept.
    reusable: bool,
    /// In the epoll set (taken out before it is kept).
    in_set: bool,
    /// Its [`Reactor::spare`] list: 0 IPv4, 1 IPv6.
    family: usize,
    /// The probe's `max_concurrent_probes` slot, freed with the connection.
    _permit: OwnedSemaphorePermit,
}

impl Conn {
    /// Advances on an event; the verdict once reached.
    fn advance(&mut self, ready: Ready, buf: &mut [u8]) -> Option<Verdict> {
        if !self.connected {
            // A failed connect (refused, unreachable) sets the socket's
            // error, which reads as an error and hang-up: no `SO_ERROR`
            // read needed.
            if ready.error {
                return Some(Verdict::Fail(FailReason::ConnectFailed));
            }
            if !ready.output {
                return None;
            }
            self.connected = true;
            self.conv.handle_connected();
        }
        loop {
            if !self.flush() {
                self.conv.handle_eof();
                self.eof = true;
            }
            if let Some(v) = self.conv.verdict() {
                return Some(v);
            }
            if self.eof {
                return Some(Verdict::Fail(FailReason::ClosedEarly));
            }
            match (&self.sock).read(buf) {
                Ok(0) => {
                    self.conv.handle_eof();
                    self.eof = true;
                }
                Ok(n) => self.conv.handle_data(buf.get(..n).unwrap_or(&[])),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.conv.handle_eof();
                    self.eof = true;
                }
            }
        }
    }

    /// Writes what is queued, as far as the socket takes it; `false` on a
    /// write error (the peer is gone).
    fn flush(&mut self) -> bool {
        while let Some(more) = self.conv.poll_transmit() {
            self.out.extend_from_slice(&more);
        }
        while !self.out.is_empty() {
            match (&self.sock).write(&self.out) {
                Ok(0) => return false,
                Ok(n) => {
                    self.out.drain(..n.min(self.out.len()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// Ends the connection as its [`Use`] says: `ServerFirst` writes what
    /// the conversation still queued (SMTP `QUIT`) and sends FIN; the
    /// others are reset (dropped: `SO_LINGER` 0; kept: a disconnect).
    /// Returns the socket, still connected, when it is reusable.
    fn close(mut self) -> Option<Socket> {
        if self.usage == Use::ServerFirst {
            let _ = self.flush();
            let _ = self.sock.shutdown(Shutdown::Write);
        }
        (self.reusable && self.connected).then_some(self.sock)
    }
}

/// What a readiness report says, from `poll(2)` or `epoll(7)`.
#[derive(Debug, Clone, Copy)]
struct Ready {
    /// Writable (a connect finished).
    output: bool,
    /// Error or hang-up (a connect failed).
    error: bool,
}

impl Ready {
    fn from_poll(f: PollFlags) -> Self {
        Self {
            output: f.contains(PollFlags::POLLOUT),
            error: f.intersects(PollFlags::POLLERR | PollFlags::POLLHUP),
        }
    }

    fn from_epoll(f: EpollFlags) -> Self {
        Self {
            output: f.contains(EpollFlags::EPOLLOUT),
            error: f.intersects(EpollFlags::EPOLLERR | EpollFlags::EPOLLHUP),
        }
    }
}

/// The connections, the fresh ones and the epoll set of the others.
pub struct Reactor {
    epoll: AsyncFd<EpollFd>,
    conns: IdMap<Conn>,
    /// Connections started since the last [`Reactor::poll`], not in the
    /// epoll set.
    fresh: Vec<u64>,
    events: Vec<EpollEvent>,
    buf: Vec<u8>,
    /// Dissolved TCP_CHECK / HTTP_GET sockets, IPv4 and IPv6 (see the
    /// module doc).
    spare: [Vec<Socket>; 2],
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("connections", &self.conns.len())
            .finish_non_exhaustive()
    }
}

impl Reactor {
    /// An empty reactor (inside a tokio runtime).
    ///
    /// # Errors
    /// `epoll_create1` or tokio registration errors.
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            epoll: async_epoll()?,
            conns: IdMap::default(),
            fresh: Vec::new(),
            events: vec![EpollEvent::empty(); EVENTS],
            buf: vec![0; READ_CHUNK],
            spare: [Vec::new(), Vec::new()],
        })
    }

    /// Connections open.
    #[must_use]
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// No connection open.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Some connection waits for the next [`Reactor::poll`] (the role's
    /// loop must tick even when the engine has nothing due).
    #[must_use]
    pub fn has_fresh(&self) -> bool {
        !self.fresh.is_empty()
    }

    /// Starts probe `id`, holding `permit` until it ends: connects and
    /// leaves the connection fresh. `Some` verdict when it ends at once
    /// (no socket, connect refused on the spot).
    pub fn start(
        &mut self,
        id: u64,
        probe: ProbeRef,
        stream: StreamProbe,
        permit: OwnedSemaphorePermit,
    ) -> Option<Verdict> {
        let reusable = stream.usage != Use::ServerFirst && stream.bind.is_none();
        let family = usize::from(stream.addr.is_ipv6());
        let spare = if reusable {
            self.spare
                .get_mut(family)
                .and_then(Vec::pop)
                .filter(|s| s.set_tcp_quickack(false).is_ok())
        } else {
            None
        };
        let Some(sock) =
            spare.or_else(|| stream_socket(stream.addr, stream.bind, stream.usage).ok())
        else {
            return Some(Verdict::Fail(FailReason::Driver));
        };
        match sock.connect(&stream.addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(_) => return Some(Verdict::Fail(FailReason::ConnectFailed)),
        }
        self.fresh.push(id);
        self.conns.insert(
            id,
            Conn {
                probe,
                sock,
                conv: stream.conv,
                out: stream.first,
                connected: false,
                eof: false,
                usage: stream.usage,
                reusable,
                in_set: false,
                family,
                _permit: permit,
            },
        );
        None
    }

    /// Drops probe `id` (timed out): RST for the checks that close hard,
    /// FIN otherwise; its record, if it was here. (A fresh id left behind
    /// is skipped by the next poll.)
    pub fn cancel(&mut self, id: u64) -> Option<ProbeRef> {
        self.conns.remove(&id).map(|c| c.probe)
    }

    /// Keeps a reusable socket whose check ended: out of the epoll set
    /// (if it was in), its connection dissolved. A socket that cannot be
    /// kept is dropped (RST by `SO_LINGER` 0).
    fn keep(&mut self, sock: Socket, family: usize, in_set: bool) {
        let Some(spare) = self.spare.get_mut(family) else {
            return;
        };
        if spare.len() >= SPARE
            || (in_set && self.epoll.get_ref().0.delete(&sock).is_err())
            || crate::sys::disconnect(&sock).is_err()
        {
            return;
        }
        spare.push(sock);
    }

    /// Waits until some connection has an event (for the role's `select!`;
    /// the future holds the epoll fd only, not the connections).
    pub fn ready(&self) -> impl Future<Output = ()> + Send + '_ {
        let epoll = &self.epoll;
        async move {
            match epoll.readable().await {
                // Events that arrive after this are signalled anew.
                Ok(mut guard) => guard.clear_ready(),
                Err(_) => std::future::pending().await,
            }
        }
    }

    /// Advances every fresh connection (one `poll(2)`) and every one with
    /// an epoll event; the probes that reached a verdict are appended to
    /// `done`.
    pub fn poll(&mut self, done: &mut Vec<(u64, ProbeRef, Verdict)>) {
        self.poll_fresh(done);
        self.poll_events(done);
    }

    /// The fresh connections: settled ones end here, the others join the
    /// epoll set.
    fn poll_fresh(&mut self, done: &mut Vec<(u64, ProbeRef, Verdict)>) {
        if self.fresh.is_empty() {
            return;
        }
        let interest = PollFlags::POLLIN | PollFlags::POLLOUT;
        let (ids, mut fds): (Vec<u64>, Vec<PollFd<'_>>) = self
            .fresh
            .iter()
            .filter_map(|&id| {
                let c = self.conns.get(&id)?;
                Some((id, PollFd::new(c.sock.as_fd(), interest)))
            })
            .unzip();
        // EINTR or ENOMEM: nothing known, every connection joins the set.
        let polled = nix::poll::poll(&mut fds, PollTimeout::ZERO).is_ok();
        let revents: Vec<Option<PollFlags>> = fds
            .iter()
            .map(|fd| fd.revents().filter(|f| polled && !f.is_empty()))
            .collect();
        drop(fds);
        self.fresh.clear();
        for (id, revents) in ids.into_iter().zip(revents) {
            if let Some(f) = revents {
                self.advance(id, Ready::from_poll(f), done);
            }
            // Still open (a straggler, or a conversation awaiting its
            // reply): its next events come through the set.
            self.watch(id, done);
        }
    }

    /// Adds connection `id` to the epoll set (edge-triggered: readiness it
    /// already has is reported at once).
    fn watch(&mut self, id: u64, done: &mut Vec<(u64, ProbeRef, Verdict)>) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        c.in_set = true;
        let flags = EpollFlags::EPOLLIN
            | EpollFlags::EPOLLOUT
            | EpollFlags::EPOLLRDHUP
            | EpollFlags::EPOLLET;
        let added = self
            .epoll
            .get_ref()
            .0
            .add(&c.sock, EpollEvent::new(flags, id));
        if added.is_err()
            && let Some(c) = self.conns.remove(&id)
        {
            done.push((id, c.probe, Verdict::Fail(FailReason::Driver)));
        }
    }

    /// Drains the epoll set.
    fn poll_events(&mut self, done: &mut Vec<(u64, ProbeRef, Verdict)>) {
        loop {
            let n = match self
                .epoll
                .get_ref()
                .0
                .wait(&mut self.events, EpollTimeout::ZERO)
            {
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return,
            };
            let events = std::mem::take(&mut self.events);
            for ev in events.get(..n).unwrap_or(&[]) {
                self.advance(ev.data(), Ready::from_epoll(ev.events()), done);
            }
            self.events = events;
            if n < self.events.len() {
                return;
            }
        }
    }

    /// Advances connection `id` on a readiness report; ends it with its
    /// verdict.
    fn advance(&mut self, id: u64, ready: Ready, done: &mut Vec<(u64, ProbeRef, Verdict)>) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if let Some(v) = conn.advance(ready, &mut self.buf)
            && let Some(conn) = self.conns.remove(&id)
        {
            done.push((id, conn.probe, v));
            let (family, in_set) = (conn.family, conn.in_set);
            if let Some(sock) = conn.close() {
                self.keep(sock, family, in_set);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead as _, BufReader};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::thread;
    use tokio::sync::Semaphore;

    use healthcheck::http::{HttpConfig, HttpSpec};
    use healthcheck::smtp::SmtpConfig;

    thread_local! {
        static PROBE: ProbeRef = ProbeRef {
            target: healthcheck::TargetId { service: 1, target: 2 },
            checker: 3,
            started: super::super::now(),
        };
    }

    /// The record every test probe carries (and gets back).
    fn probe_ref() -> ProbeRef {
        PROBE.with(|p| *p)
    }

    /// Waits as the role's loop does: a tick (4 ms) while connections are
    /// fresh, else the epoll set's readiness.
    async fn wait(reactor: &Reactor) {
        if reactor.has_fresh() {
            tokio::time::sleep(Duration::from_millis(4)).await;
        } else {
            reactor.ready().await;
        }
    }

    /// Runs probe `id` on `reactor` to its verdict (5 s at most).
    async fn run_on(reactor: &mut Reactor, id: u64, spec: &ProbeSpec) -> Verdict {
        let permit = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
        let probe = StreamProbe::from_spec(spec).unwrap().unwrap();
        if let Some(v) = reactor.start(id, probe_ref(), probe, permit) {
            return v;
        }
        let mut done = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), async {
            while done.is_empty() {
                wait(reactor).await;
                reactor.poll(&mut done);
            }
        })
        .await
        .expect("a verdict within 5 s");
        let (got, probe, v) = done.pop().unwrap();
        assert_eq!(got, id);
        assert_eq!(probe, probe_ref());
        assert!(done.is_empty());
        v
    }

    /// Runs probe 7 on a new reactor to its verdict.
    async fn run(spec: &ProbeSpec) -> (Verdict, Reactor) {
        let mut reactor = Reactor::new().unwrap();
        let v = run_on(&mut reactor, 7, spec).await;
        (v, reactor)
    }

    fn http(addr: SocketAddr) -> ProbeSpec {
        ProbeSpec::Http {
            addr,
            bind: None,
            spec: HttpSpec::new(&HttpConfig::new("/health", "example.test")).unwrap(),
            tls: None,
        }
    }

    /// Reads one request head (up to the blank line).
    fn read_head(r: &mut impl std::io::BufRead) -> String {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                return head;
            }
            head.push_str(&line);
        }
    }

    #[tokio::test]
    async fn tcp_check_passes_on_a_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (v, reactor) = run(&ProbeSpec::Tcp { addr, bind: None }).await;
        assert_eq!(v, Verdict::PASS);
        assert!(reactor.is_empty(), "the socket is closed with the verdict");
    }

    /// A connect still in progress at its first tick joins the epoll set
    /// and ends there: the listener's accept queue is full, so the SYN is
    /// dropped until the queue drains and TCP sends it again (1 s).
    #[tokio::test]
    async fn a_slow_connect_ends_through_the_epoll_set() {
        let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        listener
            .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        listener.listen(0).unwrap();
        let addr = listener.local_addr().unwrap().as_socket().unwrap();
        // Fills the queue (backlog 0 holds one connection).
        let filler = std::net::TcpStream::connect(addr).unwrap();
        let mut reactor = Reactor::new().unwrap();
        let permit = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
        let probe = StreamProbe::from_spec(&ProbeSpec::Tcp { addr, bind: None });
        let probe = reactor.start(3, probe_ref(), probe.unwrap().unwrap(), permit);
        assert_eq!(probe, None);
        let mut done = Vec::new();
        tokio::time::sleep(Duration::from_millis(50)).await;
        reactor.poll(&mut done);
        assert!(done.is_empty(), "{done:?}");
        assert!(!reactor.has_fresh());
        assert_eq!(reactor.len(), 1, "waits in the epoll set");
        let server = thread::spawn(move || {
            let first = listener.accept().unwrap();
            drop(filler);
            (listener, first)
        });
        tokio::time::timeout(Duration::from_secs(5), async {
            while done.is_empty() {
                wait(&reactor).await;
                reactor.poll(&mut done);
            }
        })
        .await
        .expect("a verdict within 5 s");
        assert_eq!(done, vec![(3, probe_ref(), Verdict::PASS)]);
        assert!(reactor.is_empty());
        drop(server.join().unwrap());
    }

    /// A TCP_CHECK's socket is dissolved (RST), kept and connected again
    /// by the next TCP_CHECK, which still sees a refusal as one.
    #[tokio::test]
    async fn tcp_check_sockets_are_reused() {
        use std::os::fd::AsRawFd as _;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let tcp = ProbeSpec::Tcp { addr, bind: None };
        let mut reactor = Reactor::new().unwrap();
        assert_eq!(run_on(&mut reactor, 1, &tcp).await, Verdict::PASS);
        assert_eq!(reactor.spare[0].len(), 1, "kept, not closed");
        let fd = reactor.spare[0][0].as_raw_fd();
        for id in 2..5 {
            assert_eq!(run_on(&mut reactor, id, &tcp).await, Verdict::PASS);
            assert_eq!(reactor.spare[0].len(), 1);
            assert_eq!(reactor.spare[0][0].as_raw_fd(), fd, "the same socket");
        }
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let refused = ProbeSpec::Tcp {
            addr: closed,
            bind: None,
        };
        assert_eq!(
            run_on(&mut reactor, 5, &refused).await,
            Verdict::Fail(FailReason::ConnectFailed)
        );
        assert!(reactor.spare[0].is_empty(), "a refused socket is closed");
        assert_eq!(run_on(&mut reactor, 6, &tcp).await, Verdict::PASS);
    }

    /// IPv6 targets get IPv6 sockets, kept apart from the IPv4 ones.
    #[tokio::test]
    async fn ipv6_sockets_are_kept_apart() {
        let v6 = TcpListener::bind("[::1]:0").unwrap();
        let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut reactor = Reactor::new().unwrap();
        for (id, l) in [(1, &v6), (2, &v4), (3, &v6)] {
            let tcp = ProbeSpec::Tcp {
                addr: l.local_addr().unwrap(),
                bind: None,
            };
            assert_eq!(run_on(&mut reactor, id, &tcp).await, Verdict::PASS);
        }
        assert_eq!(reactor.spare[0].len(), 1);
        assert_eq!(reactor.spare[1].len(), 1);
        let web = http(v6.local_addr().unwrap());
        let server = thread::spawn(move || {
            let (mut s, _) = v6.accept().unwrap();
            read_head(&mut BufReader::new(s.try_clone().unwrap()));
            s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        });
        assert_eq!(run_on(&mut reactor, 4, &web).await, Verdict::PASS);
        server.join().unwrap();
        assert_eq!(reactor.spare[1].len(), 1);
    }

    /// An HTTP_GET's socket leaves the epoll set, is dissolved and kept;
    /// the next HTTP_GET and TCP_CHECK connect with it again.
    #[tokio::test]
    async fn http_check_sockets_are_reused_too() {
        use std::os::fd::AsRawFd as _;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let mut heads = Vec::new();
            for _ in 0..2 {
                let (mut s, _) = listener.accept().unwrap();
                heads.push(read_head(&mut BufReader::new(s.try_clone().unwrap())));
                // Late enough that the reply comes through the epoll set.
                thread::sleep(Duration::from_millis(20));
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .unwrap();
            }
            (listener, heads)
        });
        let mut reactor = Reactor::new().unwrap();
        assert_eq!(run_on(&mut reactor, 1, &http(addr)).await, Verdict::PASS);
        assert_eq!(reactor.spare[0].len(), 1, "kept, not closed");
        let fd = reactor.spare[0][0].as_raw_fd();
        assert_eq!(run_on(&mut reactor, 2, &http(addr)).await, Verdict::PASS);
        assert_eq!(reactor.spare[0][0].as_raw_fd(), fd, "the same socket");
        let (listener, heads) = server.join().unwrap();
        assert_eq!(heads.len(), 2);
        assert!(
            heads
                .iter()
                .all(|h| h.starts_with("GET /health HTTP/1.1\r\n"))
        );
        let tcp = ProbeSpec::Tcp { addr, bind: None };
        assert_eq!(run_on(&mut reactor, 3, &tcp).await, Verdict::PASS);
        assert_eq!(reactor.spare[0][0].as_raw_fd(), fd);
        drop(listener);
    }

    #[tokio::test]
    async fn tcp_check_to_a_closed_port_fails() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        // The listener is gone: the SYN is answered with RST.
        let (v, _) = run(&ProbeSpec::Tcp { addr, bind: None }).await;
        assert_eq!(v, Verdict::Fail(FailReason::ConnectFailed));
    }

    #[tokio::test]
    async fn tcp_check_binds_its_source() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let bind = Some("127.0.0.2:0".parse().unwrap());
        let (v, _) = run(&ProbeSpec::Tcp { addr, bind }).await;
        assert_eq!(v, Verdict::PASS);
    }

    #[tokio::test]
    async fn http_response_in_drips_passes_and_the_connection_ends_with_rst() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let head = read_head(&mut BufReader::new(s.try_clone().unwrap()));
            for part in [
                &b"HTTP/1.1 200 OK\r\nContent-"[..],
                b"Length: 5\r\n\r\nhel",
                b"lo",
            ] {
                s.write_all(part).unwrap();
                thread::sleep(Duration::from_millis(20));
            }
            // The checker resets the connection once the verdict is in.
            let mut rest = [0u8; 16];
            let after = (&s).read(&mut rest);
            (head, after.map_err(|e| e.kind()))
        });
        let (v, reactor) = run(&http(addr)).await;
        assert_eq!(v, Verdict::PASS);
        assert!(reactor.is_empty());
        let (head, after) = server.join().unwrap();
        assert!(head.starts_with("GET /health HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("\r\nHost: example.test\r\n"), "{head}");
        assert_eq!(after, Err(io::ErrorKind::ConnectionReset));
    }

    #[tokio::test]
    async fn http_peer_closing_without_a_reply_fails() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            read_head(&mut BufReader::new(s));
        });
        let (v, _) = run(&http(addr)).await;
        assert!(!v.is_pass(), "{v:?}");
        server.join().unwrap();
    }

    #[tokio::test]
    async fn smtp_ends_with_quit_then_fin() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            s.write_all(b"220 mx.test ESMTP\r\n").unwrap();
            let mut helo = String::new();
            r.read_line(&mut helo).unwrap();
            s.write_all(b"250 mx.test\r\n").unwrap();
            // Everything the checker sends after the 250, up to its FIN.
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut r, &mut rest).unwrap();
            (helo, rest)
        });
        let spec = ProbeSpec::Smtp {
            addr,
            bind: None,
            config: SmtpConfig::default(),
        };
        let (v, _) = run(&spec).await;
        assert_eq!(v, Verdict::PASS);
        let (helo, rest) = server.join().unwrap();
        assert_eq!(helo, "HELO smtpchecker.keepalived.org\r\n");
        assert_eq!(rest, "QUIT\r\n");
    }

    #[tokio::test]
    async fn agent_line_goes_first() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut line = String::new();
            BufReader::new(s.try_clone().unwrap())
                .read_line(&mut line)
                .unwrap();
            s.write_all(b"75%\n").unwrap();
            line
        });
        let spec = ProbeSpec::Agent {
            addr,
            send: Some(b"hello agent\n".to_vec()),
        };
        let (v, _) = run(&spec).await;
        assert!(matches!(v, Verdict::Agent(_)), "{v:?}");
        assert_eq!(server.join().unwrap(), "hello agent\n");
    }

    #[tokio::test]
    async fn cancel_resets_a_silent_peer_and_frees_the_slot() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let server = thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut r = BufReader::new(s);
            read_head(&mut r);
            tx.send(()).unwrap();
            // Never answers; waits for the checker to give up.
            let mut rest = [0u8; 16];
            r.get_mut().read(&mut rest).map_err(|e| e.kind())
        });
        let slots = Arc::new(Semaphore::new(1));
        let mut reactor = Reactor::new().unwrap();
        let probe = StreamProbe::from_spec(&http(addr)).unwrap().unwrap();
        let permit = Arc::clone(&slots).try_acquire_owned().unwrap();
        assert_eq!(reactor.start(9, probe_ref(), probe, permit), None);
        let mut done = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), async {
            while rx.try_recv().is_err() {
                tokio::time::sleep(Duration::from_millis(5)).await;
                reactor.poll(&mut done);
            }
        })
        .await
        .expect("the request within 5 s");
        assert!(done.is_empty(), "no verdict from a silent peer");
        assert_eq!(reactor.len(), 1);
        assert_eq!(slots.available_permits(), 0);
        assert_eq!(reactor.cancel(9), Some(probe_ref()));
        assert_eq!(reactor.cancel(9), None);
        assert!(reactor.is_empty());
        assert_eq!(slots.available_permits(), 1);
        assert_eq!(server.join().unwrap(), Err(io::ErrorKind::ConnectionReset));
    }

    #[test]
    fn only_plain_streams_run_here() {
        let addr: SocketAddr = "127.0.0.1:53".parse().unwrap();
        let icmp = ProbeSpec::Icmp {
            addr: addr.ip(),
            bind: None,
        };
        assert!(StreamProbe::from_spec(&icmp).is_none());
        assert!(StreamProbe::from_spec(&http(addr)).is_some());
    }
}
