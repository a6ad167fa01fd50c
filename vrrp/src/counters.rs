//! Statistics in the shape of RFC 6527 `vrrpv3StatisticsTable` and
//! `vrrpv3RouterStatistics`, plus the VRRPv2 authentication counters of
//! RFC 2787 `vrrpRouterStatsTable`.

/// RFC 6527 `vrrpv3StatisticsNewMasterReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NewMasterReason {
    /// Never Master (`notMaster`).
    #[default]
    NotMaster,
    /// Address owner (`priority`).
    Priority,
    /// Took over from a lower-priority Master (`preempted`).
    Preempted,
    /// The Master went silent or sent priority 0 (`masterNoResponse`).
    MasterNoResponse,
}

/// Per virtual router counters (all saturating).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// `vrrpv3StatisticsMasterTransitions`.
    pub master_transitions: u64,
    /// `vrrpv3StatisticsNewMasterReason`.
    pub new_master_reason: NewMasterReason,
    /// `vrrpv3StatisticsRcvdAdvertisements`: valid adverts processed.
    pub rcvd_advertisements: u64,
    /// `vrrpv3StatisticsAdvIntervalErrors` (VRRPv2 interval mismatch, v3
    /// interval 0).
    pub adv_interval_errors: u64,
    /// `vrrpv3StatisticsIpTtlErrors`.
    pub ip_ttl_errors: u64,
    /// `vrrpv3StatisticsRcvdPriZeroPackets`.
    pub rcvd_pri_zero_packets: u64,
    /// `vrrpv3StatisticsSentPriZeroPackets`.
    pub sent_pri_zero_packets: u64,
    /// `vrrpv3StatisticsRcvdInvalidTypePackets`.
    pub rcvd_invalid_type_packets: u64,
    /// `vrrpv3StatisticsAddressListErrors`.
    pub address_list_errors: u64,
    /// `vrrpv3StatisticsPacketLengthErrors`.
    pub packet_length_errors: u64,
    /// Checksum errors (RFC 6527 counts them per router).
    pub checksum_errors: u64,
    /// Version errors (RFC 6527 counts them per router).
    pub version_errors: u64,
    /// VRID errors (RFC 6527 counts them per router).
    pub vrid_errors: u64,
    /// RFC 2787 `vrrpStatsAuthFailures`: password mismatch.
    pub auth_failures: u64,
    /// RFC 2787 `vrrpStatsInvalidAuthType`: type other than 0 or 1.
    pub invalid_auth_type: u64,
    /// RFC 2787 `vrrpStatsAuthTypeMismatch`: valid type, not ours.
    pub auth_type_mismatch: u64,
    /// Adverts from a source that is not a unicast peer.
    pub unknown_peer: u64,
    /// Adverts sent (one per peer in unicast mode).
    pub sent_advertisements: u64,
}

/// Per-[`crate::Router`] counters (RFC 6527 `vrrpv3RouterStatistics`),
/// for packets no instance claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RouterCounters {
    /// `vrrpv3RouterChecksumErrors` (packets no instance could check).
    pub checksum_errors: u64,
    /// `vrrpv3RouterVersionErrors`.
    pub version_errors: u64,
    /// `vrrpv3RouterVrIdErrors`: no instance with that VRID on the
    /// interface and family.
    pub vrid_errors: u64,
    /// Packets shorter than the header.
    pub packet_length_errors: u64,
}

pub(crate) fn bump(c: &mut u64) {
    *c = c.saturating_add(1);
}
