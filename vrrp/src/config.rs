//! Virtual router configuration and its validation (RFC 5798 §6.1
//! parameters, RFC 3768 §6.1, keepalived `vrrp_instance` extensions).

use std::net::IpAddr;
use std::time::Duration;

use arp::MacAddr;

use crate::checksum::{AcceptChecksum, V3Ipv4Checksum};
use crate::packet::{Auth, Family, Version};
use crate::timers::{CENTISECOND, DEFAULT_DOWN_TIMER_ADVERTS};
use crate::track::{TrackConfig, WEIGHT_MAX};

/// Longest `preempt_delay` keepalived accepts.
pub const MAX_PREEMPT_DELAY: Duration = Duration::from_secs(1000);
/// Largest VRRPv3 interval (4095 cs, keepalived PR #2424).
pub const MAX_V3_INTERVAL: Duration = Duration::from_millis(40_950);

/// Unicast mode (keepalived `unicast_peer`, `unicast_src_ip`): adverts go
/// to each peer instead of the group and are accepted only from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unicast {
    /// Peer addresses; one advert per peer per interval.
    pub peers: Vec<IpAddr>,
    /// Check the TTL of received adverts (keepalived does not in unicast
    /// mode; on by request, e.g. for a directly connected peer).
    pub check_ttl: bool,
}

/// One virtual router. [`Config::new`] fills the defaults; adjust fields
/// and pass to [`crate::Instance::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Interface index the router runs on (used to demultiplex and copied
    /// into outputs).
    pub ifindex: u32,
    /// VRID, 1–255.
    pub vrid: u8,
    /// Protocol version.
    pub version: Version,
    /// The router's own address on the interface: the source of adverts
    /// (IPv4 primary address or `unicast_src_ip`; IPv6 link-local, or in
    /// unicast mode `unicast_src_ip`) and the tie-breaker of equal
    /// priorities.
    pub primary_address: IpAddr,
    /// Virtual addresses (1–255, one family; for IPv6 the first is the
    /// link-local one, RFC 5798 §5.2.9).
    pub addresses: Vec<IpAddr>,
    /// Priority 1–255 (255 = address owner).
    pub priority: u8,
    /// Advertisement_Interval: VRRPv2 1–255 s, VRRPv3 10 ms–40.95 s in
    /// steps of 10 ms.
    pub advert_interval: Duration,
    /// Preempt_Mode (default on; keepalived `nopreempt` turns it off).
    pub preempt: bool,
    /// keepalived `preempt_delay`: after first hearing a lower-priority
    /// Master, keep treating its adverts as valid for this long before
    /// preempting (0–1000 s).
    pub preempt_delay: Duration,
    /// Accept_Mode (RFC 5798 §6.1): whether the Master accepts packets
    /// addressed to the virtual addresses it does not own.
    pub accept_mode: bool,
    /// Adverts missed before the Master is declared down (default 3).
    pub down_timer_adverts: u8,
    /// Checksum form sent for VRRPv3 over IPv4.
    pub checksum_send: V3Ipv4Checksum,
    /// Checksum forms accepted for VRRPv3 over IPv4.
    pub checksum_accept: AcceptChecksum,
    /// VRRPv2 authentication (RFC 3768 §5.3.6); must be `Auth::None` for v3.
    pub auth: Auth,
    /// Unicast mode; `None` = multicast.
    pub unicast: Option<Unicast>,
    /// On hearing a lower priority while Master, send an advert at once
    /// (keepalived default; `lower_prio_no_advert` turns it off).
    pub lower_prio_advert: bool,
    /// Tracked objects.
    pub tracks: Vec<TrackConfig>,
    /// Gratuitous ARP / NA policy; its `addresses` field is ignored (the
    /// virtual addresses are announced) and `source_mac` is the (V)MAC.
    pub announce: arp::announcer::Config,
}

impl Config {
    /// VRRPv3 defaults: priority 100, 1 s adverts, preempt, no accept
    /// mode, 3 down-timer adverts, pseudo-header checksum sent, either form
    /// accepted, keepalived's GARP policy (5 at once, 5 after 5 s).
    pub fn new(
        ifindex: u32,
        vrid: u8,
        primary_address: IpAddr,
        addresses: Vec<IpAddr>,
        mac: MacAddr,
    ) -> Self {
        Config {
            ifindex,
            vrid,
            version: Version::V3,
            primary_address,
            addresses,
            priority: 100,
            advert_interval: Duration::from_secs(1),
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept_mode: false,
            down_timer_adverts: DEFAULT_DOWN_TIMER_ADVERTS,
            checksum_send: V3Ipv4Checksum::PseudoHeader,
            checksum_accept: AcceptChecksum::Either,
            auth: Auth::None,
            unicast: None,
            lower_prio_advert: true,
            tracks: Vec::new(),
            announce: arp::announcer::Config::keepalived(mac),
        }
    }

    /// The virtual MAC of this VRID: 00:00:5e:00:01:VRID (IPv4) or
    /// 00:00:5e:00:02:VRID (IPv6), RFC 5798 §7.3.
    pub fn virtual_mac(&self) -> MacAddr {
        let f = match Family::of(self.primary_address) {
            Family::Ipv4 => 1,
            Family::Ipv6 => 2,
        };
        MacAddr([0x00, 0x00, 0x5e, 0x00, f, self.vrid])
    }

    /// The family of the router.
    pub fn family(&self) -> Family {
        Family::of(self.primary_address)
    }

    /// Checks every field but `announce` (which [`crate::Instance::new`]
    /// checks when it builds the announcer).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let family = self.family();
        if self.vrid == 0 {
            return Err(ConfigError::Vrid);
        }
        if self.priority == 0 {
            return Err(ConfigError::Priority);
        }
        if self.version == Version::V2 && family == Family::Ipv6 {
            return Err(ConfigError::V2OverIpv6);
        }
        let bad_unicast = |a: IpAddr| a.is_unspecified() || a.is_multicast() || a.is_loopback();
        if bad_unicast(self.primary_address) {
            return Err(ConfigError::PrimaryAddress(self.primary_address));
        }
        // RFC 5798 §5.1.2.1: multicast adverts leave from the link-local
        // address; in unicast mode (keepalived) any address of the link.
        if let IpAddr::V6(a) = self.primary_address
            && !a.is_unicast_link_local()
            && self.unicast.is_none()
        {
            return Err(ConfigError::PrimaryAddress(self.primary_address));
        }
        self.validate_addresses(family, bad_unicast)?;
        self.validate_interval()?;
        if self.preempt_delay > MAX_PREEMPT_DELAY {
            return Err(ConfigError::PreemptDelay(self.preempt_delay));
        }
        if self.down_timer_adverts == 0 {
            return Err(ConfigError::DownTimerAdverts);
        }
        if self.version == Version::V3 && self.auth != Auth::None {
            return Err(ConfigError::AuthWithV3);
        }
        if let Auth::Other { auth_type, .. } = self.auth {
            return Err(ConfigError::AuthType(auth_type));
        }
        if let Some(u) = &self.unicast {
            if u.peers.is_empty() {
                return Err(ConfigError::NoUnicastPeers);
            }
            for (i, &p) in u.peers.iter().enumerate() {
                if Family::of(p) != family
                    || bad_unicast(p)
                    || p == self.primary_address
                    || u.peers.iter().take(i).any(|q| *q == p)
                {
                    return Err(ConfigError::UnicastPeer(p));
                }
            }
        }
        for (i, t) in self.tracks.iter().enumerate() {
            if !(-WEIGHT_MAX..=WEIGHT_MAX).contains(&t.weight) {
                return Err(ConfigError::TrackWeight {
                    id: t.id,
                    weight: t.weight,
                });
            }
            if self.tracks.iter().take(i).any(|o| o.id == t.id) {
                return Err(ConfigError::DuplicateTrack(t.id));
            }
        }
        Ok(())
    }

    fn validate_addresses(
        &self,
        family: Family,
        bad: impl Fn(IpAddr) -> bool,
    ) -> Result<(), ConfigError> {
        if self.addresses.is_empty() {
            return Err(ConfigError::NoAddresses);
        }
        if self.addresses.len() > 255 {
            return Err(ConfigError::TooManyAddresses);
        }
        for (i, &a) in self.addresses.iter().enumerate() {
            if Family::of(a) != family {
                return Err(ConfigError::FamilyMismatch(a));
            }
            if bad(a) || self.addresses.iter().take(i).any(|b| *b == a) {
                return Err(ConfigError::Address(a));
            }
        }
        if let Some(IpAddr::V6(first)) = self.addresses.first()
            && !first.is_unicast_link_local()
        {
            return Err(ConfigError::FirstIpv6NotLinkLocal(IpAddr::V6(*first)));
        }
        Ok(())
    }

    fn validate_interval(&self) -> Result<(), ConfigError> {
        let i = self.advert_interval;
        let ok = match self.version {
            Version::V2 => i.subsec_nanos() == 0 && (1..=255).contains(&i.as_secs()),
            Version::V3 => {
                i >= CENTISECOND
                    && i <= MAX_V3_INTERVAL
                    && i.as_nanos().checked_rem(CENTISECOND.as_nanos()) == Some(0)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(ConfigError::AdvertInterval {
                version: self.version,
                interval: i,
            })
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// VRID 0.
    #[error("VRID must be 1-255")]
    Vrid,
    /// Priority 0 (reserved for the Master stopping, RFC 5798 §5.2.4).
    #[error("priority must be 1-255")]
    Priority,
    /// VRRPv2 is IPv4 only.
    #[error("VRRPv2 does not support IPv6")]
    V2OverIpv6,
    /// Unusable primary address (IPv6 multicast: must be link-local).
    #[error("primary address {0} unusable")]
    PrimaryAddress(IpAddr),
    /// No virtual address.
    #[error("no virtual address")]
    NoAddresses,
    /// More than 255 virtual addresses.
    #[error("more than 255 virtual addresses")]
    TooManyAddresses,
    /// A virtual address of the other family.
    #[error("{0} is not of the router's family")]
    FamilyMismatch(IpAddr),
    /// Unusable or duplicate virtual address.
    #[error("virtual address {0} unusable or duplicate")]
    Address(IpAddr),
    /// The first IPv6 virtual address must be link-local (RFC 5798 §5.2.9).
    #[error("first IPv6 virtual address {0} is not link-local")]
    FirstIpv6NotLinkLocal(IpAddr),
    /// Interval out of range for the version (v2 1–255 s, v3 10 ms–40.95 s
    /// in 10 ms steps).
    #[error("advert interval {interval:?} invalid for {version:?}")]
    AdvertInterval {
        /// The version.
        version: Version,
        /// The interval.
        interval: Duration,
    },
    /// `preempt_delay` above 1000 s.
    #[error("preempt delay {0:?} above 1000 s")]
    PreemptDelay(Duration),
    /// `down_timer_adverts` 0.
    #[error("down_timer_adverts must be at least 1")]
    DownTimerAdverts,
    /// Authentication configured with VRRPv3 (RFC 5798 removed it).
    #[error("authentication requires VRRPv2")]
    AuthWithV3,
    /// Unsupported authentication type (only 0 and 1).
    #[error("authentication type {0} unsupported")]
    AuthType(u8),
    /// Unicast mode without peers.
    #[error("unicast mode without peers")]
    NoUnicastPeers,
    /// Unusable, duplicate or other-family unicast peer.
    #[error("unicast peer {0} unusable")]
    UnicastPeer(IpAddr),
    /// Track weight outside −253..=253.
    #[error("track {id} weight {weight} outside -253..=253")]
    TrackWeight {
        /// Track id.
        id: u32,
        /// The weight.
        weight: i32,
    },
    /// Two tracks with one id.
    #[error("track {0} listed twice")]
    DuplicateTrack(u32),
    /// The GARP / NA policy was refused.
    #[error("announcer: {0}")]
    Announce(arp::announcer::ConfigError),
}
