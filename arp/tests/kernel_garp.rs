//! The Linux kernel as the peer of our gratuitous ARP and unsolicited NA
//! frames (root only; skipped otherwise).
//!
//! Namespace A sends frames built by `arp::wire` from an AF_PACKET socket
//! over a veth; namespace B (10.0.0.2/24, fd00::2/64) is a stock kernel whose
//! neighbour table (`ip -j neigh`) is the observable.
//!
//! What Linux does, from `net/ipv4/arp.c` `arp_process()`:
//! * `sip == tip` and `drop_gratuitous_arp` set: dropped first.
//! * `n = __neigh_lookup(sip, create = 0)`; `arp_is_garp()` = `tip == sip`,
//!   for a reply also `tha == sha`, and `inet_addr_type_dev_table(sip) ==
//!   RTN_UNICAST`.
//! * A new entry is created only when `arp_accept(in_dev, sip)` (sysctl
//!   `arp_accept`: 0 never, 1 always, 2 only for a sender in a subnet of the
//!   interface) and the frame is a GARP or any reply from a unicast sender.
//! * An existing entry is updated with `override = locktime expired ||
//!   is_garp`, state REACHABLE only for a reply received as PACKET_HOST,
//!   STALE otherwise (requests, broadcast replies).
//!
//! And from `net/ipv6/ndisc.c` `ndisc_recv_na()`: an NA updates an existing
//! entry through `ndisc_update()` with `NEIGH_UPDATE_F_WEAK_OVERRIDE` plus
//! `NEIGH_UPDATE_F_OVERRIDE` when O=1; without O a different lladdr on a
//! REACHABLE entry only makes it STALE (RFC 4861 §7.2.5). An NA for an
//! absent entry is ignored unless `accept_untracked_na` (Linux 5.19,
//! RFC 9131) is set on an interface with `forwarding` on.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use arp::MacAddr;
use arp::wire::{ArpRepr, ETHERTYPE_ARP, EthernetRepr, Frame, NaFlags, Payload};
use dsas_node::sys::PacketSocket;
use testkit::netns::{Neighbor, format_mac};
use testkit::{Netns, Veth, require_root, require_tool, wait_for_value};

const A_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const A_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
const B_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// How long the kernel gets to process a frame.
const SETTLE: Duration = Duration::from_secs(3);

fn mac(last: u8) -> MacAddr {
    MacAddr([0x02, 0x00, 0x5e, 0x00, 0x0a, last])
}

/// The three gratuitous ARP shapes seen in the wild.
#[derive(Debug, Clone, Copy)]
enum Form {
    /// keepalived/FRR/`arping -U`: request, tha ff:ff:ff:ff:ff:ff.
    Request,
    /// `arping -A`: reply, tha = sha, broadcast.
    Reply,
    /// The kernel's own (`arp_notify`, bonding): request, tha 00:00:00:00:00:00.
    Kernel,
}

const FORMS: [Form; 3] = [Form::Request, Form::Reply, Form::Kernel];

fn garp(form: Form, sha: MacAddr, ip: Ipv4Addr) -> Frame {
    let frame = match form {
        Form::Request => Frame::gratuitous_arp(sha, ip),
        Form::Reply => Frame {
            eth: EthernetRepr::new(MacAddr::BROADCAST, sha, ETHERTYPE_ARP),
            payload: Payload::Arp(ArpRepr::gratuitous_reply(sha, ip)),
        },
        Form::Kernel => Frame {
            eth: EthernetRepr::new(MacAddr::BROADCAST, sha, ETHERTYPE_ARP),
            payload: Payload::Arp(ArpRepr::gratuitous_kernel(sha, ip)),
        },
    };
    let Payload::Arp(repr) = &frame.payload else {
        panic!("not ARP: {frame:?}")
    };
    assert!(
        repr.is_gratuitous(),
        "{form:?} must classify as gratuitous like arp_is_garp"
    );
    frame
}

/// A (sender, raw socket) and B (stock kernel) over one veth.
struct Lab {
    b: Netns,
    veth: Veth,
    tx: PacketSocket,
    mac_a: MacAddr,
    mac_b: MacAddr,
    barrier: AtomicU8,
}

impl Lab {
    fn new() -> Self {
        let a = Netns::new("garp-a").unwrap();
        let b = Netns::new("garp-b").unwrap();
        let veth = Veth::new(&a, "veth0", &b, "veth0").unwrap();
        a.addr_add(veth.a(), &format!("{A_V4}/24")).unwrap();
        b.addr_add(veth.b(), &format!("{B_V4}/24")).unwrap();
        a.ip(&[
            "addr",
            "add",
            &format!("{A_V6}/64"),
            "dev",
            veth.a(),
            "nodad",
        ])
        .unwrap();
        b.ip(&[
            "addr",
            "add",
            &format!("{B_V6}/64"),
            "dev",
            veth.b(),
            "nodad",
        ])
        .unwrap();
        veth.up().unwrap();
        let tx = a
            .enter_thread(|| PacketSocket::bind(veth.a(), 0).unwrap())
            .unwrap();
        let mac_a = MacAddr(a.mac(veth.a()).unwrap());
        let mac_b = MacAddr(b.mac(veth.b()).unwrap());
        Self {
            b,
            veth,
            tx,
            mac_a,
            mac_b,
            barrier: AtomicU8::new(200),
        }
    }

    fn send(&self, frame: &Frame) {
        let bytes = frame.to_bytes();
        assert_eq!(self.tx.send(&bytes).unwrap(), bytes.len());
    }

    fn sysctl_b(&self, key: &str, value: &str) {
        self.b
            .sysctl(&key.replace("IF", self.veth.b()), value)
            .unwrap();
    }

    fn entry(&self, ip: impl Into<IpAddr>) -> Option<Neighbor> {
        self.b.neighbor(self.veth.b(), ip.into()).unwrap()
    }

    /// Waits until B's entry for `ip` has `lladdr`, returning it.
    fn wait_lladdr(&self, ip: impl Into<IpAddr> + Copy, lladdr: MacAddr) -> Neighbor {
        wait_for_value(
            || self.entry(ip).filter(|n| n.lladdr == Some(lladdr.0)),
            SETTLE,
        )
        .unwrap_or_else(|| {
            panic!(
                "B: entry for {} never got {lladdr}; now {:?}",
                ip.into(),
                self.entry(ip)
            )
        })
    }

    /// Returns once B has processed every frame sent so far: an ARP request
    /// for B's own address from a fresh sender always creates an entry
    /// (`neigh_event_ns`), whatever `arp_accept` says.
    fn barrier(&self) {
        let n = self.barrier.fetch_add(1, Ordering::Relaxed);
        let spa = Ipv4Addr::new(10, 0, 0, n);
        let sha = MacAddr([0x02, 0x00, 0x5e, 0x00, 0xbb, n]);
        self.send(&Frame::arp_request(sha, spa, B_V4));
        assert!(
            wait_for_value(|| self.entry(spa), SETTLE).is_some(),
            "barrier {spa} not processed by B"
        );
    }

    /// Creates B's entry for `ip` administratively (`nud stale`).
    fn add_stale(&self, ip: Ipv4Addr, lladdr: MacAddr) {
        let (ip, lladdr) = (ip.to_string(), format_mac(lladdr.0));
        self.b
            .ip(&[
                "neigh",
                "replace",
                &ip,
                "lladdr",
                &lladdr,
                "dev",
                self.veth.b(),
                "nud",
                "stale",
            ])
            .unwrap();
    }

    fn ping_from_b(&self, dst: IpAddr) {
        let out = self
            .b
            .exec_unchecked(&["ping", "-c", "1", "-W", "2", &dst.to_string()])
            .unwrap();
        assert!(
            out.status.success(),
            "B cannot ping {dst}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn gratuitous_arp_is_not_dropped_by_default() {
    require_root!();
    let lab = Lab::new();
    for scope in ["all", "default", lab.veth.b()] {
        for key in ["drop_gratuitous_arp", "arp_accept"] {
            assert_eq!(
                lab.b
                    .sysctl_get(&format!("net.ipv4.conf.{scope}.{key}"))
                    .unwrap(),
                "0",
                "{scope}.{key}"
            );
        }
    }
    // With drop_gratuitous_arp=1 even an existing entry is left alone.
    lab.sysctl_b("net.ipv4.conf.IF.drop_gratuitous_arp", "1");
    let ip = Ipv4Addr::new(10, 0, 0, 70);
    lab.add_stale(ip, mac(0x70));
    lab.send(&garp(Form::Request, mac(0x71), ip));
    lab.barrier();
    assert_eq!(lab.entry(ip).unwrap().lladdr, Some(mac(0x70).0));
    lab.sysctl_b("net.ipv4.conf.IF.drop_gratuitous_arp", "0");
    lab.send(&garp(Form::Request, mac(0x71), ip));
    lab.wait_lladdr(ip, mac(0x71));
}

#[test]
fn arp_accept_0_ignores_garp_for_unknown_address() {
    require_root!();
    let lab = Lab::new();
    for (i, form) in (0_u8..).zip(FORMS) {
        let ip = Ipv4Addr::new(10, 0, 0, 50 + i);
        lab.send(&garp(form, mac(0x50 + i), ip));
        lab.barrier();
        assert_eq!(
            lab.entry(ip),
            None,
            "{form:?} created an entry with arp_accept=0"
        );
    }
    // Nor does an unsolicited, non-gratuitous unicast reply.
    let ip = Ipv4Addr::new(10, 0, 0, 60);
    lab.send(&Frame::arp_reply(mac(0x60), ip, lab.mac_b, B_V4));
    lab.barrier();
    assert_eq!(lab.entry(ip), None);
}

#[test]
fn arp_accept_0_garp_updates_existing_entry_in_every_form() {
    require_root!();
    let lab = Lab::new();
    for (i, form) in (0_u8..).zip(FORMS) {
        let ip = Ipv4Addr::new(10, 0, 0, 80 + i);
        lab.add_stale(ip, mac(0x80 + i));
        lab.send(&garp(form, mac(0x90 + i), ip));
        let entry = lab.wait_lladdr(ip, mac(0x90 + i));
        // Requests and broadcast replies do not confirm reachability.
        assert!(entry.is("STALE"), "{form:?}: {entry:?}");
    }
}

#[test]
fn garp_overrides_reachable_entry_within_locktime_but_plain_reply_does_not() {
    require_root!();
    require_tool!("ping");
    let lab = Lab::new();
    // Make "within locktime" hold for the whole test (locktime is in USER_HZ).
    lab.sysctl_b("net.ipv4.neigh.IF.locktime", "100000");
    lab.ping_from_b(A_V4.into());
    let entry = lab.entry(A_V4).unwrap();
    assert_eq!(entry.lladdr, Some(lab.mac_a.0));
    assert!(entry.is("REACHABLE"), "{entry:?}");

    // A takeover: the address moves to another MAC, announced by GARP.
    lab.send(&garp(Form::Request, mac(0xa1), A_V4));
    assert!(lab.wait_lladdr(A_V4, mac(0xa1)).is("STALE"));

    // A later, non-gratuitous reply with yet another MAC inside locktime:
    // not a GARP, so no override ("use the FIRST one").
    let plain = Frame::arp_reply(mac(0xa2), A_V4, lab.mac_b, B_V4);
    let Payload::Arp(repr) = &plain.payload else {
        panic!("not ARP")
    };
    assert!(!repr.is_gratuitous());
    lab.send(&plain);
    lab.barrier();
    assert_eq!(lab.entry(A_V4).unwrap().lladdr, Some(mac(0xa1).0));

    // The gratuitous reply form (arping -A) does override.
    lab.send(&garp(Form::Reply, mac(0xa3), A_V4));
    lab.wait_lladdr(A_V4, mac(0xa3));
}

#[test]
fn arp_accept_1_garp_creates_entry_in_every_form() {
    require_root!();
    let lab = Lab::new();
    lab.sysctl_b("net.ipv4.conf.IF.arp_accept", "1");
    for (i, form) in (0_u8..).zip(FORMS) {
        let ip = Ipv4Addr::new(10, 0, 0, 110 + i);
        lab.send(&garp(form, mac(0xb0 + i), ip));
        let entry = lab.wait_lladdr(ip, mac(0xb0 + i));
        assert!(entry.is("STALE"), "{form:?}: {entry:?}");
    }
    // Any reply from a unicast sender creates one too; unicast to B
    // (PACKET_HOST) it is REACHABLE.
    let ip = Ipv4Addr::new(10, 0, 0, 120);
    lab.send(&Frame::arp_reply(mac(0xc0), ip, lab.mac_b, B_V4));
    assert!(lab.wait_lladdr(ip, mac(0xc0)).is("REACHABLE"));
}

#[test]
fn arp_accept_2_creates_entries_only_for_senders_in_subnet() {
    require_root!();
    let lab = Lab::new();
    if lab
        .b
        .sysctl(&format!("net.ipv4.conf.{}.arp_accept", lab.veth.b()), "2")
        .is_err()
    {
        testkit::print_skip("kernel without arp_accept=2 (Linux 6.0)");
        return;
    }
    let outside = Ipv4Addr::new(192, 168, 77, 7);
    lab.send(&garp(Form::Request, mac(0xd0), outside));
    let inside = Ipv4Addr::new(10, 0, 0, 130);
    lab.send(&garp(Form::Request, mac(0xd1), inside));
    lab.wait_lladdr(inside, mac(0xd1));
    lab.barrier();
    assert_eq!(lab.entry(outside), None);
}

#[test]
fn unsolicited_na_updates_existing_ipv6_entry() {
    require_root!();
    require_tool!("ping");
    let lab = Lab::new();
    lab.ping_from_b(A_V6.into());
    let entry = lab.entry(A_V6).unwrap();
    assert_eq!(entry.lladdr, Some(lab.mac_a.0));
    assert!(entry.is("REACHABLE"), "{entry:?}");

    // keepalived/FRR form: to ff02::1, O=1, S=0, Target LLA.
    lab.send(&Frame::unsolicited_na(mac(0xe1), A_V6, false));
    let entry = lab.wait_lladdr(A_V6, mac(0xe1));
    assert!(entry.is("STALE"), "{entry:?}");
    assert!(!entry.router);

    // R=1 marks the neighbour as a router.
    lab.send(&Frame::unsolicited_na(mac(0xe2), A_V6, true));
    let entry = lab.wait_lladdr(A_V6, mac(0xe2));
    assert!(entry.router, "{entry:?}");
}

#[test]
fn na_without_override_only_demotes_reachable_entry() {
    require_root!();
    require_tool!("ping");
    let lab = Lab::new();
    lab.ping_from_b(A_V6.into());
    assert!(lab.entry(A_V6).unwrap().is("REACHABLE"));

    let flags = NaFlags {
        router: false,
        solicited: false,
        override_: false,
    };
    let na = |sha| {
        Frame::neighbor_advert(
            sha,
            A_V6,
            MacAddr::ipv6_multicast(ALL_NODES),
            ALL_NODES,
            A_V6,
            flags,
        )
    };
    // REACHABLE + different lladdr + O=0: keep the lladdr, go STALE.
    lab.send(&na(mac(0xf1)));
    let entry = wait_for_value(|| lab.entry(A_V6).filter(|n| n.is("STALE")), SETTLE).unwrap();
    assert_eq!(entry.lladdr, Some(lab.mac_a.0));
    // STALE + different lladdr + O=0: ignored.
    lab.send(&na(mac(0xf2)));
    lab.barrier();
    let entry = lab.entry(A_V6).unwrap();
    assert_eq!(entry.lladdr, Some(lab.mac_a.0));
    assert!(entry.is("STALE"), "{entry:?}");
}

#[test]
fn unsolicited_na_for_untracked_address_needs_accept_untracked_na() {
    require_root!();
    let lab = Lab::new();
    let ip = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x33);
    lab.send(&Frame::unsolicited_na(mac(0x33), ip, false));
    lab.barrier();
    assert_eq!(lab.entry(ip), None, "an NA created an entry by default");

    let knob = format!("net.ipv6.conf.{}.accept_untracked_na", lab.veth.b());
    if lab.b.sysctl_get(&knob).is_err() {
        testkit::print_skip("kernel without accept_untracked_na (Linux 5.19)");
        return;
    }
    // The RFC 9131 knob is router-side: without forwarding it does nothing.
    lab.sysctl_b("net.ipv6.conf.IF.accept_untracked_na", "1");
    lab.send(&Frame::unsolicited_na(mac(0x34), ip, false));
    lab.barrier();
    assert_eq!(lab.entry(ip), None, "accept_untracked_na acted on a host");

    lab.sysctl_b("net.ipv6.conf.IF.forwarding", "1");
    lab.send(&Frame::unsolicited_na(mac(0x35), ip, false));
    assert!(lab.wait_lladdr(ip, mac(0x35)).is("STALE"));
}
