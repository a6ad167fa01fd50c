//! Raw IP sockets for VRRP (IP protocol 112): RFC 5798 §5.1.1 (IPv4) and
//! §5.1.2 (IPv6), RFC 3768 §5.1.
//!
//! One socket per interface and family, bound to the interface
//! (`SO_BINDTODEVICE`), member of the VRRP group (224.0.0.18 / ff02::12)
//! there, sending with TTL / hop limit 255 and (IPv4) TOS 0xc0 as
//! keepalived does. Received packets come with the source, destination
//! and TTL / hop limit the state machine checks (RFC 5798 §7.1); the VRRP
//! payload is passed through untouched (the `vrrp` codec computes and
//! checks the checksum, so `IPV6_CHECKSUM` stays off).

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, MultiHeaders, SockaddrIn, SockaddrIn6, SockaddrLike, recvmsg,
    sendmmsg, setsockopt, sockopt,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::sys::{async_socket, if_nametoindex};

/// IANA protocol number of VRRP.
pub const IPPROTO_VRRP: i32 = 112;
/// VRRP IPv4 multicast group (RFC 5798 §5.1.1.2).
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// VRRP IPv6 multicast group (RFC 5798 §5.1.2.2).
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit of every VRRP packet (RFC 5798 §5.1.1.3, §5.1.2.3).
pub const VRRP_TTL: u8 = 255;
/// IPv4 TOS keepalived sets (DSCP CS6, "network control").
pub const VRRP_TOS: u8 = 0xc0;
/// Largest datagram read (VRRP packets are far smaller than any MTU).
const RECV_BUF: usize = 65_536;

/// One received VRRP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address (the group, or ours in unicast mode).
    pub dst: IpAddr,
    /// IPv4 TTL / IPv6 hop limit as received.
    pub ttl: u8,
    /// The VRRP message (IP header removed).
    pub payload: Vec<u8>,
    /// When the kernel received it (`SO_TIMESTAMPNS`, `CLOCK_REALTIME`):
    /// the Master_Down_Timer restarts from the advert's arrival, not from
    /// when the role got round to reading it (RFC 5798 §6.4.2).
    pub timestamp: Option<SystemTime>,
}

/// Most messages one `sendmmsg` call carries.
const BATCH: usize = 64;

/// Sends `msgs` (destination, payload) on `fd` with as few `sendmmsg`
/// system calls as possible, in order. A message the kernel refuses is
/// reported through `failed` and skipped. Returns how many messages were
/// handled and whether the socket's buffer filled up (`EAGAIN`) before the
/// rest, so that the caller can wait for it and go on from there.
fn send_batch_on<S: SockaddrLike + Copy>(
    fd: std::os::fd::RawFd,
    msgs: &[(S, &[u8])],
    failed: &mut (dyn FnMut(usize, io::Error) + Send),
) -> (usize, bool) {
    let mut sent = 0;
    while let Some(rest) = msgs.get(sent..).filter(|r| !r.is_empty()) {
        let chunk = rest.get(..BATCH.min(rest.len())).unwrap_or(rest);
        let iovs: Vec<[IoSlice<'_>; 1]> = chunk.iter().map(|(_, p)| [IoSlice::new(p)]).collect();
        let addrs: Vec<Option<S>> = chunk.iter().map(|(a, _)| Some(*a)).collect();
        let mut headers = MultiHeaders::<S>::preallocate(chunk.len(), None);
        match sendmmsg(fd, &mut headers, &iovs, &addrs, [], MsgFlags::empty()) {
            Ok(r) => {
                // sendmmsg stops at the first message that fails; the next
                // call reports that message's error.
                let n = r.count().max(1).min(chunk.len());
                sent = sent.saturating_add(n);
            }
            Err(nix::errno::Errno::EAGAIN) => return (sent, true),
            Err(e) => {
                failed(sent, e.into());
                sent = sent.saturating_add(1);
            }
        }
    }
    (sent, false)
}

/// Enables `SO_TIMESTAMPNS` (kernel receive time of every datagram).
fn timestamps(socket: &Socket, ifname: &str) -> io::Result<()> {
    setsockopt(socket, sockopt::ReceiveTimestampns, &true)
        .map_err(|e| ctx("SO_TIMESTAMPNS", ifname, e.into()))
}

fn timestamp_of(ts: &nix::sys::time::TimeSpec) -> Option<SystemTime> {
    let secs = u64::try_from(ts.tv_sec()).ok()?;
    let nanos = u32::try_from(ts.tv_nsec()).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

fn ctx(what: &str, ifname: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("VRRP socket on {ifname:?}: {what}: {e}"))
}

fn common(domain: Domain, ifname: &str) -> io::Result<Socket> {
    let socket = Socket::new(domain, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))
        .map_err(|e| ctx("socket", ifname, e))?;
    socket
        .bind_device(Some(ifname.as_bytes()))
        .map_err(|e| ctx("SO_BINDTODEVICE", ifname, e))?;
    // Every Master on the interface shares this socket, and instances that
    // became Master together advertise together: the default send buffer
    // (about 400 small datagrams) would stall such a burst until the
    // kernel frees the first ones, and the tail would go out late.
    socket
        .set_send_buffer_size(SEND_BUFFER)
        .map_err(|e| ctx("SO_SNDBUF", ifname, e))?;
    Ok(socket)
}

/// Send buffer of a VRRP socket: room for a burst of a few thousand
/// adverts (the kernel caps it at `net.core.wmem_max`).
const SEND_BUFFER: usize = 2 << 20;

/// What every IPv4 VRRP socket sends with (RFC 5798 §5.1.1.3): TTL 255
/// (unicast and multicast), no loopback of its own adverts, TOS.
fn send_options_v4(socket: &Socket, ifname: &str) -> io::Result<()> {
    let ttl = u32::from(VRRP_TTL);
    socket
        .set_ttl_v4(ttl)
        .map_err(|e| ctx("IP_TTL", ifname, e))?;
    socket
        .set_multicast_ttl_v4(ttl)
        .map_err(|e| ctx("IP_MULTICAST_TTL", ifname, e))?;
    socket
        .set_multicast_loop_v4(false)
        .map_err(|e| ctx("IP_MULTICAST_LOOP", ifname, e))?;
    socket
        .set_tos_v4(u32::from(VRRP_TOS))
        .map_err(|e| ctx("IP_TOS", ifname, e))
}

/// The IPv6 send options of every VRRP socket: hop limit 255 (RFC 5798
/// §5.1.2.3) for multicast and unicast, no loopback of our own adverts,
/// multicast out of `ifindex`.
fn send_options_v6(socket: &Socket, ifname: &str, ifindex: u32) -> io::Result<()> {
    let hops = u32::from(VRRP_TTL);
    socket
        .set_multicast_hops_v6(hops)
        .map_err(|e| ctx("IPV6_MULTICAST_HOPS", ifname, e))?;
    socket
        .set_unicast_hops_v6(hops)
        .map_err(|e| ctx("IPV6_UNICAST_HOPS", ifname, e))?;
    socket
        .set_multicast_loop_v6(false)
        .map_err(|e| ctx("IPV6_MULTICAST_LOOP", ifname, e))?;
    socket
        .set_multicast_if_v6(ifindex)
        .map_err(|e| ctx("IPV6_MULTICAST_IF", ifname, e))
}

/// Parses the IPv4 header the kernel hands to raw sockets.
fn parse_ipv4(datagram: &[u8]) -> Option<Received> {
    let (fixed, _) = datagram.split_first_chunk::<20>()?;
    if fixed[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(fixed[0] & 0x0f).checked_mul(4)?;
    let payload = datagram.get(ihl..)?;
    let src = Ipv4Addr::new(fixed[12], fixed[13], fixed[14], fixed[15]);
    let dst = Ipv4Addr::new(fixed[16], fixed[17], fixed[18], fixed[19]);
    Some(Received {
        src: src.into(),
        dst: dst.into(),
        ttl: fixed[8],
        payload: payload.to_vec(),
        timestamp: None,
    })
}

/// IPv4 VRRP socket on one interface.
#[derive(Debug)]
pub struct VrrpSocketV4 {
    inner: AsyncFd<Socket>,
    ifindex: u32,
}

impl VrrpSocketV4 {
    /// Opens the socket on `ifname`, joined to 224.0.0.18; the kernel picks
    /// the interface's primary address as source.
    ///
    /// # Errors
    /// Unknown interface, missing `CAP_NET_RAW`, or any socket option error.
    pub fn open(ifname: &str) -> io::Result<Self> {
        Self::open_with_source(ifname, None)
    }

    /// As [`Self::open`], sending from `source` (keepalived `unicast_src_ip`).
    ///
    /// # Errors
    /// As [`Self::open`]; `source` not local (`EADDRNOTAVAIL`).
    pub fn open_with_source(ifname: &str, source: Option<Ipv4Addr>) -> io::Result<Self> {
        let ifindex = if_nametoindex(ifname)?;
        let socket = common(Domain::IPV4, ifname)?;
        send_options_v4(&socket, ifname)?;
        socket
            .join_multicast_v4_n(&VRRP_GROUP_V4, &InterfaceIndexOrAddress::Index(ifindex))
            .map_err(|e| ctx("IP_ADD_MEMBERSHIP 224.0.0.18", ifname, e))?;
        timestamps(&socket, ifname)?;
        if let Some(src) = source {
            socket
                .bind(&SocketAddrV4::new(src, 0).into())
                .map_err(|e| ctx(&format!("bind {src}"), ifname, e))?;
        }
        Ok(Self {
            inner: async_socket(socket)?,
            ifindex,
        })
    }

    /// A send-only socket on `ifname` (a VMAC macvlan, keepalived
    /// `use_vmac`): adverts leave from that interface, hence from its
    /// virtual MAC, with `source` (the parent's primary address) as the IP
    /// source. No group membership: the parent's socket receives.
    ///
    /// # Errors
    /// As [`Self::open_with_source`].
    pub fn open_sender(ifname: &str, source: Ipv4Addr) -> io::Result<Self> {
        let ifindex = if_nametoindex(ifname)?;
        let socket = common(Domain::IPV4, ifname)?;
        send_options_v4(&socket, ifname)?;
        // Bound to the source: the kernel would otherwise pick an address
        // of the VMAC, i.e. a VIP.
        socket
            .bind(&SocketAddrV4::new(source, 0).into())
            .map_err(|e| ctx(&format!("bind {source}"), ifname, e))?;
        Ok(Self {
            inner: async_socket(socket)?,
            ifindex,
        })
    }

    /// Interface index the socket is bound to.
    #[must_use]
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Receives one packet; datagrams that are not IPv4 are skipped.
    ///
    /// # Errors
    /// Socket errors.
    pub async fn recv(&self) -> io::Result<Received> {
        let mut buf = vec![0_u8; RECV_BUF];
        loop {
            let (len, timestamp) = self
                .inner
                .async_io(Interest::READABLE, |s| recv_v4(s.as_raw_fd(), &mut buf))
                .await?;
            if let Some(mut packet) = buf.get(..len).and_then(parse_ipv4) {
                packet.timestamp = timestamp;
                return Ok(packet);
            }
        }
    }

    /// Sends `payload` (a VRRP message) to `dst`: [`VRRP_GROUP_V4`] or a
    /// unicast peer. The kernel builds the IP header (TTL 255, TOS 0xc0).
    ///
    /// # Errors
    /// Socket errors (`ENETDOWN` while the link is down, ...).
    pub async fn send_to(&self, dst: Ipv4Addr, payload: &[u8]) -> io::Result<usize> {
        let addr = SockAddr::from(SocketAddrV4::new(dst, 0));
        self.inner
            .async_io(Interest::WRITABLE, |s| s.send_to(payload, &addr))
            .await
    }

    /// Sends every `(dst, payload)` as [`Self::send_to`] would, in order,
    /// batched into `sendmmsg` calls (a node with many instances sends
    /// many adverts per timer tick). `failed(i, error)` hears of each
    /// message that could not be sent.
    pub async fn send_batch(
        &self,
        msgs: &[(Ipv4Addr, &[u8])],
        failed: &mut (dyn FnMut(usize, io::Error) + Send),
    ) {
        let addrs: Vec<(SockaddrIn, &[u8])> = msgs
            .iter()
            .map(|(d, p)| (SockaddrIn::from(SocketAddrV4::new(*d, 0)), *p))
            .collect();
        send_all(&self.inner, &addrs, failed).await;
    }
}

/// Drives [`send_batch_on`] until every message is sent or refused,
/// waiting for the socket whenever its buffer is full.
async fn send_all<S: SockaddrLike + Copy>(
    fd: &AsyncFd<Socket>,
    msgs: &[(S, &[u8])],
    failed: &mut (dyn FnMut(usize, io::Error) + Send),
) {
    let mut done = 0;
    while done < msgs.len() {
        let Some(rest) = msgs.get(done..) else { break };
        let mut report = |i: usize, e: io::Error| failed(done.saturating_add(i), e);
        let (n, blocked) = send_batch_on(fd.as_raw_fd(), rest, &mut report);
        done = done.saturating_add(n);
        if blocked {
            match fd.writable().await {
                Ok(mut guard) => guard.clear_ready(),
                Err(e) => {
                    for i in done..msgs.len() {
                        failed(i, io::Error::new(e.kind(), e.to_string()));
                    }
                    return;
                }
            }
        }
    }
}

/// IPv6 VRRP socket on one interface, sending from its link-local address.
#[derive(Debug)]
pub struct VrrpSocketV6 {
    inner: AsyncFd<Socket>,
    ifindex: u32,
    source: Ipv6Addr,
}

/// The first link-local (fe80::/10) address of `ifname`, in the calling
/// thread's namespace.
///
/// # Errors
/// `NotFound` when the interface has none.
pub fn link_local_address(ifname: &str) -> io::Result<Ipv6Addr> {
    let addrs = nix::ifaddrs::getifaddrs().map_err(io::Error::from)?;
    addrs
        .filter(|ifa| ifa.interface_name == ifname)
        .filter_map(|ifa| ifa.address?.as_sockaddr_in6().map(|a| a.ip()))
        .find(Ipv6Addr::is_unicast_link_local)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("interface {ifname:?}: no IPv6 link-local address"),
            )
        })
}

impl VrrpSocketV6 {
    /// Opens the socket on `ifname`, joined to ff02::12, bound to the
    /// interface's link-local address (RFC 5798 §5.1.2.1). The address must
    /// have finished DAD.
    ///
    /// # Errors
    /// Unknown interface, no link-local address, missing `CAP_NET_RAW`,
    /// or any socket option error.
    pub fn open(ifname: &str) -> io::Result<Self> {
        let source = link_local_address(ifname)?;
        Self::open_with_source(ifname, source)
    }

    /// As [`Self::open`] with an explicit source address.
    ///
    /// # Errors
    /// As [`Self::open`]; `source` not local or tentative (`EADDRNOTAVAIL`).
    pub fn open_with_source(ifname: &str, source: Ipv6Addr) -> io::Result<Self> {
        let ifindex = if_nametoindex(ifname)?;
        let socket = common(Domain::IPV6, ifname)?;
        send_options_v6(&socket, ifname, ifindex)?;
        socket
            .join_multicast_v6(&VRRP_GROUP_V6, ifindex)
            .map_err(|e| ctx("IPV6_ADD_MEMBERSHIP ff02::12", ifname, e))?;
        setsockopt(&socket, sockopt::Ipv6RecvHopLimit, &true)
            .map_err(|e| ctx("IPV6_RECVHOPLIMIT", ifname, e.into()))?;
        setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true)
            .map_err(|e| ctx("IPV6_RECVPKTINFO", ifname, e.into()))?;
        timestamps(&socket, ifname)?;
        let scope = if source.is_unicast_link_local() {
            ifindex
        } else {
            0
        };
        socket
            .bind(&SocketAddrV6::new(source, 0, 0, scope).into())
            .map_err(|e| ctx(&format!("bind {source}"), ifname, e))?;
        Ok(Self {
            inner: async_socket(socket)?,
            ifindex,
            source,
        })
    }

    /// A send-only socket on `ifname` (a VMAC macvlan, keepalived
    /// `use_vmac`): adverts leave from the virtual MAC with `source`, the
    /// parent's link-local address, which must also be on `ifname`
    /// (keepalived copies it there). No group membership.
    ///
    /// # Errors
    /// As [`Self::open_with_source`].
    pub fn open_sender(ifname: &str, source: Ipv6Addr) -> io::Result<Self> {
        let ifindex = if_nametoindex(ifname)?;
        let socket = common(Domain::IPV6, ifname)?;
        send_options_v6(&socket, ifname, ifindex)?;
        socket
            .bind(&SocketAddrV6::new(source, 0, 0, ifindex).into())
            .map_err(|e| ctx(&format!("bind {source}"), ifname, e))?;
        Ok(Self {
            inner: async_socket(socket)?,
            ifindex,
            source,
        })
    }

    /// Interface index the socket is bound to.
    #[must_use]
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The source address of sent packets.
    #[must_use]
    pub fn source(&self) -> Ipv6Addr {
        self.source
    }

    /// Receives one packet with its hop limit (`IPV6_HOPLIMIT`) and
    /// destination (`IPV6_PKTINFO`).
    ///
    /// # Errors
    /// Socket errors; `InvalidData` when the kernel omits the hop limit.
    pub async fn recv(&self) -> io::Result<Received> {
        let mut buf = vec![0_u8; RECV_BUF];
        self.inner
            .async_io(Interest::READABLE, |s| recv_v6(s.as_raw_fd(), &mut buf))
            .await
    }

    /// Sends `payload` to `dst` ([`VRRP_GROUP_V6`] or a unicast peer) with
    /// hop limit 255 from [`Self::source`].
    ///
    /// # Errors
    /// Socket errors.
    pub async fn send_to(&self, dst: Ipv6Addr, payload: &[u8]) -> io::Result<usize> {
        let scope = self.scope_of(dst);
        let addr = SockAddr::from(SocketAddrV6::new(dst, 0, 0, scope));
        self.inner
            .async_io(Interest::WRITABLE, |s| s.send_to(payload, &addr))
            .await
    }

    /// As [`VrrpSocketV4::send_batch`], for IPv6.
    pub async fn send_batch(
        &self,
        msgs: &[(Ipv6Addr, &[u8])],
        failed: &mut (dyn FnMut(usize, io::Error) + Send),
    ) {
        let addrs: Vec<(SockaddrIn6, &[u8])> = msgs
            .iter()
            .map(|(d, p)| {
                (
                    SockaddrIn6::from(SocketAddrV6::new(*d, 0, 0, self.scope_of(*d))),
                    *p,
                )
            })
            .collect();
        send_all(&self.inner, &addrs, failed).await;
    }

    /// The scope of a destination: the interface for link-scoped ones.
    fn scope_of(&self, dst: Ipv6Addr) -> u32 {
        if dst.is_multicast() || dst.is_unicast_link_local() {
            self.ifindex
        } else {
            0
        }
    }
}

fn recv_v4(fd: std::os::fd::RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<SystemTime>)> {
    let mut cmsg = nix::cmsg_space!(libc::timespec);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrIn>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty())
        .map_err(io::Error::from)?;
    let mut timestamp = None;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmTimestampns(ts) = c {
            timestamp = timestamp_of(&ts);
        }
    }
    Ok((msg.bytes, timestamp))
}

fn recv_v6(fd: std::os::fd::RawFd, buf: &mut [u8]) -> io::Result<Received> {
    let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int, libc::timespec);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrIn6>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty())
        .map_err(io::Error::from)?;
    let len = msg.bytes;
    let src = msg.address.map(|a| a.ip());
    let mut ttl = None;
    let mut dst = None;
    let mut timestamp = None;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        match c {
            ControlMessageOwned::ScmTimestampns(ts) => timestamp = timestamp_of(&ts),
            ControlMessageOwned::Ipv6HopLimit(h) => ttl = u8::try_from(h).ok(),
            ControlMessageOwned::Ipv6PacketInfo(info) => {
                dst = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
            }
            _ => {}
        }
    }
    let (Some(src), Some(dst), Some(ttl)) = (src, dst, ttl) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "IPv6 VRRP packet without source, IPV6_PKTINFO or IPV6_HOPLIMIT",
        ));
    };
    let payload = iov
        .first()
        .and_then(|b| b.get(..len))
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    Ok(Received {
        src: src.into(),
        dst: dst.into(),
        ttl,
        payload,
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ipv4_header() {
        let mut d = vec![
            0x45, 0xc0, 0, 28, 0, 0, 0, 0, 255, 112, 0, 0, 10, 0, 0, 1, 224, 0, 0, 18,
        ];
        d.extend_from_slice(&[0x31, 51, 100, 1, 0, 100, 0xab, 0xcd]);
        let r = parse_ipv4(&d).unwrap();
        assert_eq!(r.src, IpAddr::from([10, 0, 0, 1]));
        assert_eq!(r.dst, IpAddr::from(VRRP_GROUP_V4));
        assert_eq!(r.ttl, 255);
        assert_eq!(r.payload, [0x31, 51, 100, 1, 0, 100, 0xab, 0xcd]);
        // Options (IHL 6) are skipped.
        let mut o = d.clone();
        o[0] = 0x46;
        o.splice(20..20, [1, 1, 1, 1]);
        assert_eq!(parse_ipv4(&o).unwrap().payload, r.payload);
        assert!(parse_ipv4(&d[..19]).is_none());
        let mut v6 = d;
        v6[0] = 0x65;
        assert!(parse_ipv4(&v6).is_none());
    }
}
