//! rtnetlink (rtnetlink(7)) for the roles: interface look-ups, virtual
//! addresses, VMAC macvlans and link events.
//!
//! The netlink sockets belong to the network namespace of the thread that
//! creates them ([`Netlink::connect`], [`LinkEvents::subscribe`]); both need
//! a tokio runtime.
//!
//! * Virtual addresses: `RTM_NEWADDR` / `RTM_DELADDR`; IPv6 ones with
//!   `IFA_F_NODAD` as keepalived adds them (a VIP must answer at once).
//!   Adding one is on a new Master's takeover path, so it goes over a
//!   blocking socket and is acked in place (see [`Netlink::add_address`]).
//! * VMAC: a macvlan in private mode on the parent with the RFC 5798 §7.3
//!   virtual MAC, as keepalived `use_vmac`.
//! * Link events: `RTNLGRP_LINK` notifications reduced to admin state and
//!   carrier.

use std::io;
use std::net::IpAddr;

use futures::channel::mpsc::UnboundedReceiver;
use futures::{StreamExt as _, TryStreamExt as _};
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, MacVlanMode};
use rtnetlink::{Handle, LinkMacVlan, LinkUnspec, MulticastGroup};

/// The virtual router MAC (RFC 5798 §7.3): 00-00-5E-00-01-{VRID} for IPv4,
/// 00-00-5E-00-02-{VRID} for IPv6.
#[must_use]
pub fn virtual_mac(vrid: u8, ipv6: bool) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid]
}

/// `address/prefix_len` on `index` as `RTM_NEWADDR` / `RTM_DELADDR` carry
/// it (`IFA_LOCAL`, `IFA_ADDRESS`, IPv4 broadcast).
fn address_message(index: u32, address: IpAddr, prefix_len: u8) -> AddressMessage {
    match address {
        IpAddr::V4(a) => rtnetlink::AddressMessageBuilder::<std::net::Ipv4Addr>::new()
            .index(index)
            .address(a, prefix_len)
            .build(),
        IpAddr::V6(a) => rtnetlink::AddressMessageBuilder::<std::net::Ipv6Addr>::new()
            .index(index)
            .address(a, prefix_len)
            .build(),
    }
}

/// Longest wait for the kernel's ack on the blocking socket.
const ACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// The error kind the roles test for, from a netlink error's errno.
fn errno_kind(errno: Option<i32>) -> Option<io::ErrorKind> {
    match errno? {
        libc::EEXIST => Some(io::ErrorKind::AlreadyExists),
        libc::ENODEV | libc::EADDRNOTAVAIL | libc::ENOENT => Some(io::ErrorKind::NotFound),
        libc::EPERM | libc::EACCES => Some(io::ErrorKind::PermissionDenied),
        _ => None,
    }
}

/// An error of a request on the blocking socket, in [`nl_err`]'s terms.
fn io_err(what: &str, e: &io::Error) -> io::Error {
    let kind = errno_kind(e.raw_os_error()).unwrap_or_else(|| e.kind());
    io::Error::new(kind, format!("netlink {what}: {e}"))
}

fn nl_err(what: &str, e: rtnetlink::Error) -> io::Error {
    let errno = match &e {
        rtnetlink::Error::NetlinkError(m) => m.raw_code().checked_neg(),
        _ => None,
    };
    let kind = errno_kind(errno).unwrap_or(io::ErrorKind::Other);
    io::Error::new(kind, format!("netlink {what}: {e}"))
}

/// What the node needs to know about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Link-layer address (none for e.g. tunnels).
    pub mac: Option<[u8; 6]>,
    /// `IFF_UP`: administratively up.
    pub admin_up: bool,
    /// `IFF_LOWER_UP`: carrier.
    pub carrier: bool,
    /// MTU.
    pub mtu: Option<u32>,
}

impl LinkInfo {
    /// Usable: admin up with carrier (keepalived's FAULT test).
    #[must_use]
    pub fn is_up(&self) -> bool {
        self.admin_up && self.carrier
    }

    fn from_message(msg: &LinkMessage) -> Self {
        let mut info = Self {
            index: msg.header.index,
            name: String::new(),
            mac: None,
            admin_up: msg.header.flags.contains(LinkFlags::Up),
            carrier: msg.header.flags.contains(LinkFlags::LowerUp),
            mtu: None,
        };
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => info.name.clone_from(n),
                LinkAttribute::Address(a) => info.mac = <[u8; 6]>::try_from(a.as_slice()).ok(),
                LinkAttribute::Mtu(m) => info.mtu = Some(*m),
                _ => {}
            }
        }
        info
    }
}

/// A link change from `RTNLGRP_LINK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// `RTM_NEWLINK`: created or changed; the new state.
    Changed(LinkInfo),
    /// `RTM_DELLINK`: removed.
    Removed {
        /// Its index.
        index: u32,
        /// Its name.
        name: String,
    },
}

/// A request connection (`ip addr`, `ip link`).
#[derive(Debug, Clone)]
pub struct Netlink {
    handle: Handle,
    /// A blocking socket for the request on the takeover path (a VIP
    /// added), sent and acknowledged in place: the kernel handles
    /// `RTM_NEWADDR` inside `send`, so waiting for the ack costs tens of
    /// microseconds, where the rtnetlink driver task adds a scheduler
    /// round trip or two (hundreds on a busy host).
    now: std::sync::Arc<(netlink_sys::Socket, std::sync::atomic::AtomicU32)>,
}

impl Netlink {
    /// Opens a connection in the calling thread's namespace and spawns its
    /// driver on the current runtime.
    ///
    /// # Errors
    /// Socket errors.
    pub fn connect() -> io::Result<Self> {
        let (conn, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(conn);
        let mut now = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_ROUTE)?;
        now.bind_auto()?;
        now.connect(&netlink_sys::SocketAddr::new(0, 0))?;
        // Bounded even if another process holds the RTNL lock for long.
        socket2::SockRef::from(&now).set_read_timeout(Some(ACK_TIMEOUT))?;
        Ok(Self {
            handle,
            now: std::sync::Arc::new((now, std::sync::atomic::AtomicU32::new(1))),
        })
    }

    /// Sends `msg` as a request with `flags` (plus `NLM_F_REQUEST |
    /// NLM_F_ACK`) on the blocking socket and waits for its ack.
    fn request_now(&self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        let (sock, next) = &*self.now;
        let seq = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        req.header.sequence_number = seq;
        req.finalize();
        let mut buf = vec![0u8; req.buffer_len()];
        req.serialize(&mut buf);
        sock.send(&buf, 0)?;
        loop {
            let mut reply: Vec<u8> = Vec::with_capacity(8192);
            sock.recv(&mut reply, 0)?;
            let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&reply)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            // An ack left over from a request that timed out: skip it.
            if msg.header.sequence_number != seq {
                continue;
            }
            return match msg.payload {
                NetlinkPayload::Error(e) if e.code.is_some() => Err(e.to_io()),
                _ => Ok(()),
            };
        }
    }

    /// Looks a link up by name.
    ///
    /// # Errors
    /// `NotFound` when it does not exist; netlink errors.
    pub async fn link_by_name(&self, name: &str) -> io::Result<LinkInfo> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        match links.try_next().await {
            Ok(Some(msg)) => Ok(LinkInfo::from_message(&msg)),
            Ok(None) => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no interface {name:?}"),
            )),
            Err(e) => Err(nl_err(&format!("get link {name:?}"), e)),
        }
    }

    /// Looks a link up by index.
    ///
    /// # Errors
    /// As [`Self::link_by_name`].
    pub async fn link_by_index(&self, index: u32) -> io::Result<LinkInfo> {
        let mut links = self.handle.link().get().match_index(index).execute();
        match links.try_next().await {
            Ok(Some(msg)) => Ok(LinkInfo::from_message(&msg)),
            Ok(None) => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no interface with index {index}"),
            )),
            Err(e) => Err(nl_err(&format!("get link {index}"), e)),
        }
    }

    /// Every link.
    ///
    /// # Errors
    /// Netlink errors.
    pub async fn links(&self) -> io::Result<Vec<LinkInfo>> {
        self.handle
            .link()
            .get()
            .execute()
            .map_ok(|m| LinkInfo::from_message(&m))
            .try_collect()
            .await
            .map_err(|e| nl_err("dump links", e))
    }

    /// Adds `address/prefix_len` on `index` (`ip addr add`); IPv6 with
    /// `nodad`. An address already present is an `AlreadyExists` error.
    /// Sent on the blocking socket and acked before it returns (tens of
    /// microseconds, at most `ACK_TIMEOUT` (1 s) if the RTNL lock is held
    /// elsewhere), without a round trip through the rtnetlink driver task.
    ///
    /// # Errors
    /// Netlink errors.
    pub async fn add_address(&self, index: u32, address: IpAddr, prefix_len: u8) -> io::Result<()> {
        let mut msg = address_message(index, address, prefix_len);
        if address.is_ipv6() {
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        self.request_now(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map_err(|e| {
            io_err(
                &format!("add address {address}/{prefix_len} on {index}"),
                &e,
            )
        })
    }

    /// Removes `address/prefix_len` from `index` (`ip addr del`).
    ///
    /// # Errors
    /// `NotFound` when absent; netlink errors.
    pub async fn del_address(&self, index: u32, address: IpAddr, prefix_len: u8) -> io::Result<()> {
        let msg = address_message(index, address, prefix_len);
        self.handle.address().del(msg).execute().await.map_err(|e| {
            nl_err(
                &format!("delete address {address}/{prefix_len} on {index}"),
                e,
            )
        })
    }

    /// The addresses on `index` with their prefix lengths.
    ///
    /// # Errors
    /// Netlink errors.
    pub async fn addresses(&self, index: u32) -> io::Result<Vec<(IpAddr, u8)>> {
        let msgs: Vec<AddressMessage> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute()
            .try_collect()
            .await
            .map_err(|e| nl_err("dump addresses", e))?;
        Ok(msgs
            .iter()
            .filter(|m| m.header.index == index)
            .filter_map(|m| {
                m.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(ip) => Some((*ip, m.header.prefix_len)),
                    _ => None,
                })
            })
            .collect())
    }

    /// Creates a VMAC interface `name` (at most 15 bytes) on `parent`: a
    /// macvlan in private mode with `mac`, brought up.
    ///
    /// # Errors
    /// `InvalidInput` for a bad name; `AlreadyExists`; netlink errors.
    pub async fn create_vmac(&self, name: &str, parent: u32, mac: [u8; 6]) -> io::Result<LinkInfo> {
        if name.is_empty() || name.len() > crate::config::IFNAMSIZ_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("interface name {name:?} must be 1..=15 bytes"),
            ));
        }
        let msg = LinkMacVlan::new(name, parent, MacVlanMode::Private)
            .address(mac.to_vec())
            .up()
            .build();
        self.handle
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(|e| nl_err(&format!("create macvlan {name:?}"), e))?;
        self.link_by_name(name).await
    }

    /// Deletes link `index`.
    ///
    /// # Errors
    /// Netlink errors.
    pub async fn delete_link(&self, index: u32) -> io::Result<()> {
        self.handle
            .link()
            .del(index)
            .execute()
            .await
            .map_err(|e| nl_err(&format!("delete link {index}"), e))
    }

    /// Sets link `index` administratively up or down.
    ///
    /// # Errors
    /// Netlink errors.
    pub async fn set_link_up(&self, index: u32, up: bool) -> io::Result<()> {
        let b = LinkUnspec::new_with_index(index);
        let msg = if up { b.up() } else { b.down() }.build();
        self.handle
            .link()
            .set(msg)
            .execute()
            .await
            .map_err(|e| nl_err(&format!("set link {index} up={up}"), e))
    }
}

/// A subscription to `RTNLGRP_LINK`.
#[derive(Debug)]
pub struct LinkEvents {
    rx: UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, netlink_sys::SocketAddr)>,
    _handle: Handle,
}

impl LinkEvents {
    /// Subscribes in the calling thread's namespace (driver spawned on the
    /// current runtime).
    ///
    /// # Errors
    /// Socket errors.
    pub fn subscribe() -> io::Result<Self> {
        let (conn, handle, rx) = rtnetlink::new_multicast_connection(&[MulticastGroup::Link])?;
        tokio::spawn(conn);
        Ok(Self {
            rx,
            _handle: handle,
        })
    }

    /// The next link event; `None` when the connection ended.
    pub async fn next(&mut self) -> Option<LinkEvent> {
        loop {
            let (msg, _) = self.rx.next().await?;
            match msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)) => {
                    return Some(LinkEvent::Changed(LinkInfo::from_message(&m)));
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(m)) => {
                    let info = LinkInfo::from_message(&m);
                    return Some(LinkEvent::Removed {
                        index: info.index,
                        name: info.name,
                    });
                }
                _ => {}
            }
        }
    }

    /// As a stream.
    pub fn into_stream(self) -> impl futures::Stream<Item = LinkEvent> {
        futures::stream::unfold(self, |mut s| async move { s.next().await.map(|e| (e, s)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_macs_per_rfc5798_7_3() {
        assert_eq!(virtual_mac(51, false), [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(virtual_mac(255, true), [0, 0, 0x5e, 0, 2, 255]);
    }
}
