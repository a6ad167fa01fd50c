//! System interfaces: raw Ethernet through AF_PACKET sockets (packet(7)),
//! tokio registration of raw fds (sockets, an epoll set of the node's
//! own), and dissolving a TCP connection to reuse its socket.
//!
//! The only module of dsas-node allowed `unsafe`: binding needs a
//! `sockaddr_ll`, the packet socket options have no safe wrapper, tokio's
//! `AsyncFd::register` is unsafe and an `AF_UNSPEC` address has no safe
//! constructor. Every `unsafe` block carries a `SAFETY:` comment.
//!
//! Network namespaces: a socket belongs to the namespace of the thread that
//! created it, and so do the interface look-ups here ([`if_nametoindex`] and
//! [`interface_mac`] go through ioctl/netlink, never `/sys`, which shows the
//! namespace of whoever mounted it).
#![allow(
    unsafe_code,
    reason = "AF_PACKET bind takes a sockaddr_ll, PACKET_* socket options have no safe wrapper, tokio's AsyncFd::register is unsafe, and an AF_UNSPEC SockAddr has no safe constructor"
)]

use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use nix::sys::socket::LinkAddr;
use socket2::{Domain, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// `ETH_P_ALL`: every protocol, including frames this host sends (`<linux/if_ether.h>`).
pub const ETH_P_ALL: u16 = 0x0003;
/// `ETH_P_IP`: IPv4.
pub const ETH_P_IP: u16 = 0x0800;
/// `ETH_P_ARP`: ARP (RFC 826).
pub const ETH_P_ARP: u16 = 0x0806;
/// `ETH_P_IPV6`: IPv6.
pub const ETH_P_IPV6: u16 = 0x86dd;

/// `sll_pkttype` of a received frame (packet(7), `<linux/if_packet.h>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `PACKET_HOST`: addressed to this host.
    Host,
    /// `PACKET_BROADCAST`: link-layer broadcast.
    Broadcast,
    /// `PACKET_MULTICAST`: link-layer multicast.
    Multicast,
    /// `PACKET_OTHERHOST`: addressed to another host (promiscuous mode).
    OtherHost,
    /// `PACKET_OUTGOING`: sent by this host (looped back to `ETH_P_ALL` sockets).
    Outgoing,
    /// Any other value (`PACKET_LOOPBACK`, `PACKET_USER`, ...).
    Other(u8),
}

impl PacketType {
    /// Decodes `sll_pkttype`.
    #[must_use]
    pub fn from_raw(raw: u8) -> Self {
        match raw {
            0 => Self::Host,
            1 => Self::Broadcast,
            2 => Self::Multicast,
            3 => Self::OtherHost,
            4 => Self::Outgoing,
            other => Self::Other(other),
        }
    }
}

/// Interface index of `ifname` in the calling thread's network namespace.
///
/// # Errors
/// `NotFound`-like OS error (`ENODEV`) when no such interface exists.
pub fn if_nametoindex(ifname: &str) -> io::Result<u32> {
    nix::net::if_::if_nametoindex(ifname).map_err(|errno| {
        io::Error::new(
            io::Error::from(errno).kind(),
            format!("interface {ifname:?}: {errno}"),
        )
    })
}

/// MAC address of `ifname` in the calling thread's network namespace.
///
/// Uses `getifaddrs(3)` (netlink), not `/sys/class/net`, so it is correct in
/// a thread that has `setns`'d into another namespace.
///
/// # Errors
/// `NotFound` when the interface does not exist or has no 6-byte address.
pub fn interface_mac(ifname: &str) -> io::Result<[u8; 6]> {
    let addrs = nix::ifaddrs::getifaddrs().map_err(io::Error::from)?;
    addrs
        .filter(|ifa| ifa.interface_name == ifname)
        .filter_map(|ifa| ifa.address)
        .find_map(|addr| {
            addr.as_link_addr()
                .filter(|ll| ll.halen() == 6)
                .and_then(LinkAddr::addr)
        })
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("interface {ifname:?}: no Ethernet address"),
            )
        })
}

/// An AF_PACKET `SOCK_RAW` socket bound to one interface and protocol.
///
/// Frames are sent and received whole, Ethernet header included. The kernel
/// pads short frames on real NICs only; veth/TAP carry them as given.
#[derive(Debug)]
pub struct PacketSocket {
    socket: Socket,
    ifindex: u32,
    protocol: u16,
}

impl PacketSocket {
    /// Opens a packet socket on `ifname` for `protocol` (an ethertype in host
    /// order, e.g. [`ETH_P_ARP`]; [`ETH_P_ALL`] for everything, `0` to only send).
    ///
    /// The socket is created with protocol 0 (receives nothing) and then
    /// bound, so no frame from another interface is ever queued.
    ///
    /// # Errors
    /// Unknown interface, missing `CAP_NET_RAW`, or any socket error.
    pub fn bind(ifname: &str, protocol: u16) -> io::Result<Self> {
        let ifindex = if_nametoindex(ifname)?;
        let socket = Socket::new(Domain::PACKET, Type::RAW, None)?;
        let addr = libc::sockaddr_ll {
            sll_family: u16::try_from(libc::AF_PACKET).map_err(io::Error::other)?,
            sll_protocol: protocol.to_be(),
            sll_ifindex: i32::try_from(ifindex).map_err(io::Error::other)?,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        let len =
            libc::socklen_t::try_from(size_of::<libc::sockaddr_ll>()).map_err(io::Error::other)?;
        // SAFETY: `addr` is a fully initialised `sockaddr_ll` that outlives the
        // call, and `len` is exactly its size; the fd is owned by `socket`.
        let rc = unsafe {
            libc::bind(
                socket.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                len,
            )
        };
        if rc != 0 {
            let err = io::Error::last_os_error();
            return Err(io::Error::new(
                err.kind(),
                format!("bind AF_PACKET to {ifname:?}: {err}"),
            ));
        }
        Ok(Self {
            socket,
            ifindex,
            protocol,
        })
    }

    /// Interface index the socket is bound to.
    #[must_use]
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Protocol (ethertype, host order) the socket is bound to.
    #[must_use]
    pub fn protocol(&self) -> u16 {
        self.protocol
    }

    /// Sends one complete Ethernet frame on the bound interface.
    ///
    /// # Errors
    /// `WouldBlock` when non-blocking and the queue is full; `EINVAL` for a
    /// frame shorter than an Ethernet header; `EMSGSIZE` above the MTU.
    pub fn send(&self, frame: &[u8]) -> io::Result<usize> {
        self.socket.send(frame)
    }

    /// Receives one frame, skipping frames this host sent (`PACKET_OUTGOING`).
    /// A frame longer than `buf` is truncated to `buf.len()`.
    ///
    /// # Errors
    /// `WouldBlock`/`TimedOut` per [`Self::set_nonblocking`] and
    /// [`Self::set_read_timeout`], or any socket error.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let (len, kind) = self.recv_from(buf)?;
            if kind != PacketType::Outgoing {
                return Ok(len);
            }
        }
    }

    /// Receives one frame, including frames this host sent, with its
    /// [`PacketType`]. A frame longer than `buf` is truncated.
    ///
    /// # Errors
    /// As [`Self::recv`].
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, PacketType)> {
        let (len, addr) = nix::sys::socket::recvfrom::<LinkAddr>(self.socket.as_raw_fd(), buf)
            .map_err(io::Error::from)?;
        let kind = addr.map_or(PacketType::Other(u8::MAX), |ll| {
            PacketType::from_raw(ll.pkttype())
        });
        Ok((len, kind))
    }

    /// Sets `SO_RCVTIMEO` (`None`: block forever).
    ///
    /// # Errors
    /// Any socket error (a zero duration is rejected).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_read_timeout(timeout)
    }

    /// Sets `O_NONBLOCK`.
    ///
    /// # Errors
    /// Any `fcntl` error.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking)
    }

    /// `PACKET_IGNORE_OUTGOING` (Linux 4.20): the kernel stops looping this
    /// host's own transmissions back to the socket.
    ///
    /// # Errors
    /// Any `setsockopt` error (`ENOPROTOOPT` on older kernels).
    pub fn set_ignore_outgoing(&self, ignore: bool) -> io::Result<()> {
        self.setsockopt_int(libc::PACKET_IGNORE_OUTGOING, i32::from(ignore))
    }

    /// Puts the interface into (or out of) promiscuous mode for as long as the
    /// socket lives (`PACKET_ADD_MEMBERSHIP`/`PACKET_DROP_MEMBERSHIP` with
    /// `PACKET_MR_PROMISC`; the kernel counts memberships).
    ///
    /// # Errors
    /// Any `setsockopt` error.
    pub fn set_promiscuous(&self, on: bool) -> io::Result<()> {
        self.membership(on, libc::PACKET_MR_PROMISC, None)
    }

    /// Joins (or leaves) a link-layer multicast group, e.g. the bridge group
    /// address `01:80:c2:00:00:00` (`PACKET_MR_MULTICAST`).
    ///
    /// # Errors
    /// Any `setsockopt` error.
    pub fn set_multicast_membership(&self, mac: [u8; 6], join: bool) -> io::Result<()> {
        self.membership(join, libc::PACKET_MR_MULTICAST, Some(mac))
    }

    fn membership(&self, add: bool, kind: libc::c_int, mac: Option<[u8; 6]>) -> io::Result<()> {
        let mut address = [0_u8; 8];
        if let (Some(dst), Some(src)) = (address.first_chunk_mut::<6>(), mac) {
            *dst = src;
        }
        let mreq = libc::packet_mreq {
            mr_ifindex: i32::try_from(self.ifindex).map_err(io::Error::other)?,
            mr_type: u16::try_from(kind).map_err(io::Error::other)?,
            mr_alen: if mac.is_some() { 6 } else { 0 },
            mr_address: address,
        };
        let opt = if add {
            libc::PACKET_ADD_MEMBERSHIP
        } else {
            libc::PACKET_DROP_MEMBERSHIP
        };
        self.setsockopt(opt, &mreq)
    }

    fn setsockopt_int(&self, opt: libc::c_int, value: libc::c_int) -> io::Result<()> {
        self.setsockopt(opt, &value)
    }

    /// `setsockopt(SOL_PACKET, opt, value)`; `T` must be the plain C type
    /// the option expects.
    fn setsockopt<T: Copy>(&self, opt: libc::c_int, value: &T) -> io::Result<()> {
        let len = libc::socklen_t::try_from(size_of::<T>()).map_err(io::Error::other)?;
        // SAFETY: `value` points to an initialised `T` of `len` bytes that
        // outlives the call; the kernel only reads it. The fd is owned by `self`.
        let rc = unsafe {
            libc::setsockopt(
                self.socket.as_raw_fd(),
                libc::SOL_PACKET,
                opt,
                std::ptr::from_ref(value).cast(),
                len,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// A [`PacketSocket`] driven by tokio (`AsyncFd`, non-blocking).
#[derive(Debug)]
pub struct AsyncPacketSocket {
    inner: AsyncFd<PacketSocket>,
}

impl AsyncPacketSocket {
    /// Wraps `socket`, switching it to non-blocking.
    ///
    /// # Errors
    /// `fcntl` or reactor registration errors.
    ///
    /// # Panics
    /// Outside a tokio runtime with I/O enabled (tokio's `AsyncFd::new`).
    pub fn new(socket: PacketSocket) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        // SAFETY: `PacketSocket` owns its fd (a `socket2::Socket`) and
        // `as_raw_fd` always returns that same open fd; nothing closes or
        // replaces it while the `AsyncFd` owns the socket.
        let inner = unsafe { AsyncFd::register(socket) }.map_err(io::Error::from)?;
        Ok(Self { inner })
    }

    /// [`PacketSocket::bind`] then [`Self::new`].
    ///
    /// # Errors
    /// As both.
    pub fn bind(ifname: &str, protocol: u16) -> io::Result<Self> {
        Self::new(PacketSocket::bind(ifname, protocol)?)
    }

    /// The underlying socket (for options and `ifindex`).
    #[must_use]
    pub fn get_ref(&self) -> &PacketSocket {
        self.inner.get_ref()
    }

    /// Sends one frame, waiting while the queue is full.
    ///
    /// # Errors
    /// As [`PacketSocket::send`], except `WouldBlock`.
    pub async fn send(&self, frame: &[u8]) -> io::Result<usize> {
        self.inner
            .async_io(Interest::WRITABLE, |s| s.send(frame))
            .await
    }

    /// Receives one frame not sent by this host (see [`PacketSocket::recv`]).
    ///
    /// # Errors
    /// As [`PacketSocket::recv`], except `WouldBlock`.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let (len, kind) = self.recv_from(buf).await?;
            if kind != PacketType::Outgoing {
                return Ok(len);
            }
        }
    }

    /// Receives one frame with its [`PacketType`].
    ///
    /// # Errors
    /// As [`PacketSocket::recv_from`], except `WouldBlock`.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, PacketType)> {
        self.inner
            .async_io(Interest::READABLE, |s| s.recv_from(buf))
            .await
    }
}

impl AsRawFd for AsyncPacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get_ref().as_raw_fd()
    }
}

impl AsFd for AsyncPacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get_ref().as_fd()
    }
}

/// Registers any `socket2` socket (raw IP, netlink, ...) with tokio's
/// reactor, switching it to non-blocking.
///
/// # Errors
/// `fcntl` or reactor registration errors.
///
/// # Panics
/// Outside a tokio runtime with I/O enabled (tokio's `AsyncFd::register`).
pub fn async_socket(socket: Socket) -> io::Result<AsyncFd<Socket>> {
    socket.set_nonblocking(true)?;
    // SAFETY: a `socket2::Socket` owns its fd: `as_raw_fd` returns the same
    // open fd for the socket's whole life and only its drop closes it, which
    // happens after the `AsyncFd` deregisters it.
    unsafe { AsyncFd::register(socket) }.map_err(io::Error::from)
}

/// An epoll instance of the node's own (`epoll(7)`), for a role that runs
/// many short-lived sockets without a tokio registration each (see
/// [`crate::health_role::reactor`]). Its fd is itself registered with
/// tokio ([`async_epoll`]): it turns readable when any socket in its set
/// has an event.
#[derive(Debug)]
pub struct EpollFd(pub nix::sys::epoll::Epoll);

impl AsRawFd for EpollFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.0.as_raw_fd()
    }
}

/// A new close-on-exec [`EpollFd`] registered with tokio's reactor (read
/// interest).
///
/// # Errors
/// `epoll_create1` or reactor registration errors.
///
/// # Panics
/// Outside a tokio runtime with I/O enabled (tokio's `AsyncFd::register`).
pub fn async_epoll() -> io::Result<AsyncFd<EpollFd>> {
    use nix::sys::epoll::{Epoll, EpollCreateFlags};
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(io::Error::from)?;
    // SAFETY: `EpollFd` owns its fd (an `OwnedFd`, never replaced):
    // `as_raw_fd` returns the same open fd for its whole life and only its
    // drop closes it, which happens after the `AsyncFd` deregisters it.
    unsafe { AsyncFd::register_with_interest(EpollFd(epoll), Interest::READABLE) }
        .map_err(io::Error::from)
}

/// Dissolves a TCP socket's connection so that the socket can connect
/// again: connect(2) to an `AF_UNSPEC` address ("some protocol sockets
/// (e.g., TCP sockets ...) may dissolve the association by connecting to
/// an address with the `sa_family` member of sockaddr set to
/// `AF_UNSPEC`"). An established connection is reset (RST, as a close
/// with `SO_LINGER` 0 would) and its local port released; socket-level
/// options stay, the TCP delayed-ACK mode (`TCP_QUICKACK`) does not.
///
/// # Errors
/// connect(2) errors.
pub fn disconnect(sock: &Socket) -> io::Result<()> {
    let storage = socket2::SockAddrStorage::zeroed();
    let len = storage.size_of();
    // SAFETY: an all-zero `sockaddr_storage` is an address of family
    // AF_UNSPEC (0), and the storage's whole length is a valid length for
    // it (the kernel reads only `sa_family` for AF_UNSPEC).
    let unspec = unsafe { socket2::SockAddr::new(storage, len) };
    sock.connect(&unspec)
}
