//! Cache configuration: our own addresses and Linux's `neigh/default/*`,
//! `arp_accept`, `accept_untracked_na` and `locktime` knobs
//! (Documentation/networking/ip-sysctl.rst).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::MacAddr;
use crate::wire::VlanTag;
use crate::wire::ethernet::MAX_VLAN_TAGS;

/// Most addresses of one family a cache accepts in its configuration.
pub const MAX_ADDRESSES: usize = 256;

/// Whether an unsolicited ARP / NA may *create* a cache entry: Linux
/// `arp_accept` (IPv4) and `accept_untracked_na` (IPv6), values 0, 1, 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AcceptPolicy {
    /// 0 (Linux default): never create entries; existing ones are still updated.
    #[default]
    Never,
    /// 1: create a STALE (NA) or STALE/REACHABLE (ARP) entry.
    Always,
    /// 2 (Linux ≥ 6.0, commit e68c5dcf0aac for ARP): create only when the
    /// sender's address is inside the prefix of one of our configured addresses.
    SameSubnet,
}

/// Configuration of a [`NeighborCache`](super::NeighborCache) for one interface.
///
/// Defaults are Linux's (`/proc/sys/net/ipv{4,6}/neigh/default/*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Our MAC: source of every frame we send; frames from it are ignored.
    pub mac: MacAddr,
    /// 802.1Q / 802.1ad tags (outer first) put on frames we send; received
    /// frames must carry the same VLAN IDs.
    pub vlans: Vec<VlanTag>,
    /// Our IPv4 addresses with their prefix length (0–32).
    pub ipv4: Vec<(Ipv4Addr, u8)>,
    /// Our IPv6 addresses with their prefix length (0–128).
    pub ipv6: Vec<(Ipv6Addr, u8)>,
    /// Seed of the reachable-time randomisation.
    pub seed: u64,
    /// `base_reachable_time`: 30 s. REACHABLE lasts a random time in
    /// `[0.5, 1.5) × base`, re-drawn when 300 s have passed since the last
    /// draw (Linux `neigh_periodic_work`), checked whenever an entry enters
    /// REACHABLE.
    pub base_reachable_time: Duration,
    /// `retrans_time`: 1 s between solicitations (RFC 4861 RetransTimer).
    pub retrans_time: Duration,
    /// `delay_first_probe_time`: 5 s in DELAY (RFC 4861 DELAY_FIRST_PROBE_TIME).
    pub delay_first_probe_time: Duration,
    /// `ucast_solicit`: 3 unicast probes in PROBE (MAX_UNICAST_SOLICIT).
    pub ucast_solicit: u32,
    /// `app_solicit`: 0 probes handed to a user-space daemon
    /// ([`Output::AppProbe`](super::Output::AppProbe)).
    pub app_solicit: u32,
    /// `mcast_solicit`: 3 broadcast / multicast solicitations in INCOMPLETE
    /// (MAX_MULTICAST_SOLICIT).
    pub mcast_solicit: u32,
    /// `mcast_resolicit`: 0 broadcast / multicast probes after the unicast
    /// ones in PROBE.
    pub mcast_resolicit: u32,
    /// `gc_stale_time`: 60 s; unused STALE entries older than this are
    /// removed by the periodic GC.
    pub gc_stale_time: Duration,
    /// `gc_thresh1`: 128; below this many dynamic entries the periodic GC
    /// does not run.
    pub gc_thresh1: usize,
    /// `gc_thresh2`: 512; above it a forced GC runs at most every 5 s.
    pub gc_thresh2: usize,
    /// `gc_thresh3`: 1024; hard limit of dynamic entries (also the limit of
    /// permanent entries, which Linux does not count).
    pub gc_thresh3: usize,
    /// `unres_qlen`: packets queued per INCOMPLETE entry. Linux derives 101
    /// from `unres_qlen_bytes`; we keep 101. The newest packet is always kept.
    pub unres_qlen: usize,
    /// `unres_qlen_bytes`: 212 992 (Linux `SK_WMEM_MAX`); here it counts
    /// payload bytes, not `skb->truesize`.
    pub unres_qlen_bytes: usize,
    /// `locktime` (ARP only): 1 s. A non-gratuitous ARP changing the MAC of
    /// a valid entry is ignored unless the entry's last update is more than
    /// this long ago (Linux `arp_process`).
    pub locktime: Duration,
    /// `net.ipv4.conf.*.arp_accept`.
    pub arp_accept: AcceptPolicy,
    /// `net.ipv6.conf.*.accept_untracked_na`; as in Linux it only applies
    /// when `forwarding` is on.
    pub accept_untracked_na: AcceptPolicy,
    /// `net.ipv6.conf.*.forwarding`: we are a router (R flag of our NAs).
    pub forwarding: bool,
}

impl Config {
    /// Linux defaults for `mac` and the given addresses, seed 0.
    pub fn new(mac: MacAddr, ipv4: Vec<(Ipv4Addr, u8)>, ipv6: Vec<(Ipv6Addr, u8)>) -> Self {
        Config {
            mac,
            ipv4,
            ipv6,
            ..Config::default()
        }
    }
}

impl Default for Config {
    /// Linux's defaults with MAC 02:00:00:00:00:01, no addresses, seed 0.
    fn default() -> Self {
        Config {
            mac: MacAddr([0x02, 0, 0, 0, 0, 0x01]),
            vlans: Vec::new(),
            ipv4: Vec::new(),
            ipv6: Vec::new(),
            seed: 0,
            base_reachable_time: Duration::from_secs(30),
            retrans_time: Duration::from_secs(1),
            delay_first_probe_time: Duration::from_secs(5),
            ucast_solicit: 3,
            app_solicit: 0,
            mcast_solicit: 3,
            mcast_resolicit: 0,
            gc_stale_time: Duration::from_secs(60),
            gc_thresh1: 128,
            gc_thresh2: 512,
            gc_thresh3: 1024,
            unres_qlen: 101,
            unres_qlen_bytes: 212_992,
            locktime: Duration::from_secs(1),
            arp_accept: AcceptPolicy::Never,
            accept_untracked_na: AcceptPolicy::Never,
            forwarding: false,
        }
    }
}

/// Why [`NeighborCache::new`](super::NeighborCache::new) refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The MAC is a group address or all zeros.
    #[error("MAC {0} is not a unicast address")]
    MacNotUnicast(MacAddr),
    /// Unspecified, loopback, multicast or broadcast address.
    #[error("address {0} cannot be an interface address")]
    BadAddress(IpAddr),
    /// Prefix longer than the address.
    #[error("prefix length {1} too long for {0}")]
    BadPrefix(IpAddr, u8),
    /// More than [`MAX_ADDRESSES`] of one family.
    #[error("more than {MAX_ADDRESSES} addresses of one family")]
    TooManyAddresses,
    /// More than two VLAN tags.
    #[error("at most two VLAN tags")]
    TooManyVlans,
    /// A duration that must be positive is zero.
    #[error("{0} must not be zero")]
    ZeroDuration(&'static str),
    /// Not `0 < gc_thresh3` and `gc_thresh1 ≤ gc_thresh2 ≤ gc_thresh3`.
    #[error("gc thresholds must satisfy gc_thresh1 <= gc_thresh2 <= gc_thresh3, gc_thresh3 > 0")]
    GcThresholds,
}

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.mac.is_unicast() {
            return Err(ConfigError::MacNotUnicast(self.mac));
        }
        if self.vlans.len() > MAX_VLAN_TAGS {
            return Err(ConfigError::TooManyVlans);
        }
        if self.ipv4.len() > MAX_ADDRESSES || self.ipv6.len() > MAX_ADDRESSES {
            return Err(ConfigError::TooManyAddresses);
        }
        for &(a, len) in &self.ipv4 {
            if !usable_v4(a) {
                return Err(ConfigError::BadAddress(a.into()));
            }
            if len > 32 {
                return Err(ConfigError::BadPrefix(a.into(), len));
            }
        }
        for &(a, len) in &self.ipv6 {
            if a.is_unspecified() || a.is_loopback() || a.is_multicast() {
                return Err(ConfigError::BadAddress(a.into()));
            }
            if len > 128 {
                return Err(ConfigError::BadPrefix(a.into(), len));
            }
        }
        for (name, d) in [
            ("base_reachable_time", self.base_reachable_time),
            ("retrans_time", self.retrans_time),
        ] {
            if d.is_zero() {
                return Err(ConfigError::ZeroDuration(name));
            }
        }
        if self.gc_thresh3 == 0
            || self.gc_thresh1 > self.gc_thresh2
            || self.gc_thresh2 > self.gc_thresh3
        {
            return Err(ConfigError::GcThresholds);
        }
        Ok(())
    }

    /// One of our own addresses.
    pub(super) fn is_ours(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.ipv4.iter().any(|&(o, _)| o == a),
            IpAddr::V6(a) => self.ipv6.iter().any(|&(o, _)| o == a),
        }
    }

    /// Inside the prefix of one of our addresses (arp_accept / accept_untracked_na = 2).
    pub(super) fn on_link(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self
                .ipv4
                .iter()
                .any(|&(o, l)| same_prefix(o.into(), a.into(), l)),
            IpAddr::V6(a) => self
                .ipv6
                .iter()
                .any(|&(o, l)| same_prefix(o.into(), a.into(), l)),
        }
    }

    /// A subnet-directed broadcast address of one of our IPv4 prefixes (/0–/30).
    pub(super) fn is_subnet_broadcast(&self, a: Ipv4Addr) -> bool {
        self.ipv4.iter().any(|&(o, l)| {
            let host = u32::MAX.checked_shr(u32::from(l)).unwrap_or(0);
            l <= 30 && same_prefix(o.into(), a.into(), l) && u32::from(a) & host == host
        })
    }

    /// Whether `policy` lets an unsolicited message from `sender` create an entry.
    pub(super) fn accepts(&self, policy: AcceptPolicy, sender: IpAddr) -> bool {
        match policy {
            AcceptPolicy::Never => false,
            AcceptPolicy::Always => true,
            AcceptPolicy::SameSubnet => self.on_link(sender),
        }
    }

    /// Source address of an ARP request for `target` (Linux `arp_solicit`
    /// with `arp_announce` 0): `hint` (the queued packet's source) if it is
    /// ours, else an address whose prefix holds `target`, else the first.
    pub(super) fn ipv4_source(&self, target: Ipv4Addr, hint: Option<IpAddr>) -> Option<Ipv4Addr> {
        if let Some(IpAddr::V4(h)) = hint
            && self.is_ours(h.into())
        {
            return Some(h);
        }
        self.ipv4
            .iter()
            .find(|&&(o, l)| same_prefix(o.into(), target.into(), l))
            .or(self.ipv4.first())
            .map(|&(o, _)| o)
    }

    /// Source address of an NS for `target` (Linux `ndisc_solicit`): `hint`
    /// if ours, else a link-local address for a link-local target, else an
    /// address whose prefix holds `target`, else the first.
    pub(super) fn ipv6_source(&self, target: Ipv6Addr, hint: Option<IpAddr>) -> Option<Ipv6Addr> {
        if let Some(IpAddr::V6(h)) = hint
            && self.is_ours(h.into())
        {
            return Some(h);
        }
        let link_local = |a: &Ipv6Addr| a.is_unicast_link_local();
        let by_scope = link_local(&target)
            .then(|| self.ipv6.iter().find(|(o, _)| link_local(o)))
            .flatten();
        by_scope
            .or_else(|| {
                self.ipv6
                    .iter()
                    .find(|&&(o, l)| same_prefix(o.into(), target.into(), l))
            })
            .or(self.ipv6.first())
            .map(|&(o, _)| o)
    }
}

/// An IPv4 address that can be ours or a neighbour's: not 0.0.0.0/8,
/// loopback, multicast, limited broadcast or class E.
pub(super) fn usable_v4(a: Ipv4Addr) -> bool {
    let first = a.octets().first().copied().unwrap_or(0);
    first != 0 && !a.is_loopback() && !a.is_multicast() && first < 240
}

/// Whether `a` and `b` (same family) share the first `len` bits.
fn same_prefix(a: IpAddr, b: IpAddr, len: u8) -> bool {
    let (x, y, bits) = match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) => (u128::from(u32::from(x)), u128::from(u32::from(y)), 32),
        (IpAddr::V6(x), IpAddr::V6(y)) => (u128::from(x), u128::from(y), 128),
        _ => return false,
    };
    let align = 128u32.saturating_sub(bits);
    let (x, y) = (
        x.checked_shl(align).unwrap_or(0),
        y.checked_shl(align).unwrap_or(0),
    );
    let keep = u32::from(len).min(bits);
    let mask = u128::MAX
        .checked_shl(128u32.saturating_sub(keep))
        .unwrap_or(0);
    x & mask == y & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let c = Config::new(
            MacAddr([2, 0, 0, 0, 0, 1]),
            vec![(Ipv4Addr::new(192, 0, 2, 1), 24)],
            vec![
                ("2001:db8::1".parse().unwrap(), 64),
                ("fe80::1".parse().unwrap(), 64),
            ],
        );
        assert!(c.on_link(Ipv4Addr::new(192, 0, 2, 200).into()));
        assert!(!c.on_link(Ipv4Addr::new(192, 0, 3, 1).into()));
        assert!(c.on_link("2001:db8::ffff".parse::<IpAddr>().unwrap()));
        assert!(!c.on_link("2001:db9::1".parse::<IpAddr>().unwrap()));
        assert!(c.is_subnet_broadcast(Ipv4Addr::new(192, 0, 2, 255)));
        assert!(!c.is_subnet_broadcast(Ipv4Addr::new(192, 0, 2, 254)));
        assert_eq!(
            c.ipv6_source("fe80::9".parse().unwrap(), None),
            Some("fe80::1".parse().unwrap())
        );
        assert_eq!(
            c.ipv6_source("2001:db8::9".parse().unwrap(), None),
            Some("2001:db8::1".parse().unwrap())
        );
        assert!(same_prefix(
            Ipv4Addr::new(1, 2, 3, 4).into(),
            Ipv4Addr::new(9, 9, 9, 9).into(),
            0
        ));
        assert!(!same_prefix(
            Ipv4Addr::new(1, 2, 3, 4).into(),
            Ipv4Addr::new(1, 2, 3, 5).into(),
            32
        ));
        assert!(same_prefix(
            Ipv4Addr::new(1, 2, 3, 4).into(),
            Ipv4Addr::new(1, 2, 3, 5).into(),
            31
        ));
    }

    #[test]
    fn validation() {
        assert_eq!(Config::default().validate(), Ok(()));
        let bad = Config {
            mac: MacAddr::BROADCAST,
            ..Config::default()
        };
        assert_eq!(
            bad.validate(),
            Err(ConfigError::MacNotUnicast(MacAddr::BROADCAST))
        );
        let bad = Config {
            retrans_time: Duration::ZERO,
            ..Config::default()
        };
        assert_eq!(
            bad.validate(),
            Err(ConfigError::ZeroDuration("retrans_time"))
        );
        let bad = Config {
            gc_thresh1: 600,
            ..Config::default()
        };
        assert_eq!(bad.validate(), Err(ConfigError::GcThresholds));
        let bad = Config {
            ipv4: vec![(Ipv4Addr::new(10, 0, 0, 1), 33)],
            ..Config::default()
        };
        assert!(matches!(bad.validate(), Err(ConfigError::BadPrefix(_, 33))));
    }
}
