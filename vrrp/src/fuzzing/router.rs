//! Fuzz entry `router`: a configuration and a sequence of inputs and time
//! steps decoded from the bytes drive an [`Instance`].
//!
//! Invariants after every step: each `StateChanged.from` is the state the
//! previous change went to, and the last `to` is `state()`; addresses are
//! added only when entering Master and removed only when leaving it, so
//! the set is complete exactly while Master; every advert is a well-formed
//! VRRP message from the primary address with TTL 255, priority 0 only
//! after leaving Master and non-zero only while Master; frames only while
//! Master; `poll_timeout` is after `now` and `None` in Initialize / Fault;
//! Backup has a down timer, Master an advert timer; the effective priority
//! is 1..=255.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::Bytes;
use crate::checksum::{AcceptChecksum, V3Ipv4Checksum};
use crate::config::{Config, Unicast};
use crate::event::{Input, Output, State};
use crate::instance::Instance;
use crate::packet::{Auth, IPV4_GROUP, Version, VrrpRepr};
use crate::track::{TrackConfig, TrackState};

const MAX_STEPS: usize = 256;
const MAX_OUTPUTS_PER_STEP: usize = 4096;
const IF: u32 = 2;

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn config(b: &mut Bytes<'_>) -> Config {
    let mac = arp::MacAddr([0x02, 0, 0, 0, 0, 1]);
    let vips: Vec<IpAddr> = (0..(b.u8() % 3).saturating_add(1))
        .map(|i| v4(100u8.saturating_add(i)))
        .collect();
    let mut c = Config::new(IF, (b.u8() % 3).saturating_add(1), v4(1), vips, mac);
    if b.bool() {
        c.version = Version::V2;
        c.advert_interval = Duration::from_secs(u64::from((b.u8() % 3).saturating_add(1)));
        if b.bool() {
            c.auth = Auth::password(b"pw");
        }
    } else {
        c.advert_interval =
            Duration::from_millis(u64::from((b.u8() % 120).saturating_add(1)).saturating_mul(10));
    }
    c.priority = b.u8();
    c.preempt = b.bool();
    c.preempt_delay = Duration::from_millis(u64::from(b.u8() % 4).saturating_mul(700));
    c.accept_mode = b.bool();
    c.down_timer_adverts = b.u8() % 5;
    c.lower_prio_advert = b.bool();
    c.checksum_send = if b.bool() {
        V3Ipv4Checksum::Rfc9568
    } else {
        V3Ipv4Checksum::PseudoHeader
    };
    c.checksum_accept = match b.u8() % 3 {
        0 => AcceptChecksum::PseudoHeader,
        1 => AcceptChecksum::Rfc9568,
        _ => AcceptChecksum::Either,
    };
    if b.u8().is_multiple_of(4) {
        c.unicast = Some(Unicast {
            peers: vec![v4(2), v4(3)],
            check_ttl: b.bool(),
        });
    }
    c.tracks = vec![
        TrackConfig::interface(
            1,
            i32::from(b.u8() % 7).saturating_sub(3).saturating_mul(40),
        ),
        TrackConfig::script(2, 0),
        TrackConfig::file(3, i32::from(b.u8() % 5).saturating_sub(2)),
    ];
    c.announce.repeat = u32::from(b.u8() % 3);
    c.announce.second_burst_delay =
        Duration::from_millis(u64::from(b.u8() % 3).saturating_mul(500));
    c
}

fn advert(b: &mut Bytes<'_>, cfg: &Config, src: IpAddr, dst: IpAddr) -> Vec<u8> {
    let adver_int = match cfg.version {
        Version::V2 => u16::from(b.u8() % 4),
        Version::V3 => u16::from(b.u8() % 200),
    };
    let addresses = if b.u8().is_multiple_of(8) {
        vec![v4(200)]
    } else {
        cfg.addresses.clone()
    };
    let repr = VrrpRepr {
        version: cfg.version,
        vrid: cfg.vrid,
        priority: b.u8(),
        adver_int,
        addresses,
        auth: cfg.auth,
    };
    let form = if b.bool() {
        V3Ipv4Checksum::Rfc9568
    } else {
        V3Ipv4Checksum::PseudoHeader
    };
    repr.to_bytes(src, dst, form).unwrap_or_default()
}

struct Checker {
    state: State,
    added: BTreeSet<IpAddr>,
}

impl Checker {
    fn drain(&mut self, vr: &mut Instance, now: Instant) -> Result<(), String> {
        let cfg = vr.config().clone();
        let mut n = 0usize;
        while let Some(o) = vr.poll_output() {
            n = n.saturating_add(1);
            if n > MAX_OUTPUTS_PER_STEP {
                return Err("unbounded outputs".into());
            }
            match o {
                Output::StateChanged { from, to, .. } => {
                    if from != self.state {
                        return Err(format!("change from {from:?} while in {:?}", self.state));
                    }
                    if from == to {
                        return Err(format!("change to the same state {to:?}"));
                    }
                    self.state = to;
                }
                Output::AddAddress { address, .. } => {
                    if self.state != State::Master || !cfg.addresses.contains(&address) {
                        return Err(format!("add {address} in {:?}", self.state));
                    }
                    if !self.added.insert(address) {
                        return Err(format!("{address} added twice"));
                    }
                }
                Output::RemoveAddress { address, .. } => {
                    if self.state == State::Master || !self.added.remove(&address) {
                        return Err(format!("bad remove of {address}"));
                    }
                }
                Output::Transmit {
                    src,
                    dst,
                    ttl,
                    bytes,
                    ..
                } => {
                    if ttl != 255 || src != cfg.primary_address {
                        return Err("advert with bad TTL or source".into());
                    }
                    let p =
                        VrrpRepr::parse(&bytes, src, dst, AcceptChecksum::only(cfg.checksum_send))
                            .map_err(|e| format!("own advert does not parse: {e}"))?;
                    let ok = if p.repr.priority == 0 {
                        matches!(self.state, State::Fault | State::Initialize)
                    } else {
                        self.state == State::Master
                    };
                    if !ok || p.repr.vrid != cfg.vrid {
                        return Err(format!(
                            "advert priority {} in {:?}",
                            p.repr.priority, self.state
                        ));
                    }
                }
                Output::TransmitFrame { .. } => {
                    if self.state != State::Master {
                        return Err(format!("frame in {:?}", self.state));
                    }
                }
                Output::Dropped { .. } => {}
            }
        }
        if self.state != vr.state() {
            return Err(format!(
                "outputs say {:?}, state() {:?}",
                self.state,
                vr.state()
            ));
        }
        let complete = self.added.len() == cfg.addresses.len();
        match vr.state() {
            State::Master if !complete => return Err("Master without its addresses".into()),
            State::Master if vr.adver_timer().is_none() => {
                return Err("Master without timer".into());
            }
            State::Backup if vr.master_down_timer().is_none() => {
                return Err("Backup without down timer".into());
            }
            State::Initialize | State::Fault if vr.poll_timeout().is_some() => {
                return Err("timer while idle".into());
            }
            State::Master => {}
            _ if !self.added.is_empty() => return Err("addresses outside Master".into()),
            _ => {}
        }
        if vr.poll_timeout().is_some_and(|t| t <= now) {
            return Err("poll_timeout not after now".into());
        }
        if vr.priority() == 0 {
            return Err("priority 0".into());
        }
        Ok(())
    }
}

/// Drives an instance with arbitrary input; `Err` names a violated
/// invariant.
pub fn router(data: &[u8]) -> Result<(), String> {
    let mut b = Bytes::new(data);
    let cfg = config(&mut b);
    #[allow(
        clippy::disallowed_methods,
        reason = "fuzz harness: only a base instant"
    )]
    let mut now = Instant::now();
    let Ok(mut vr) = Instance::new(cfg.clone(), now) else {
        return Ok(());
    };
    let mut chk = Checker {
        state: State::Initialize,
        added: BTreeSet::new(),
    };
    let group = IpAddr::V4(IPV4_GROUP);
    let mut steps = 0;
    while !b.is_empty() && steps < MAX_STEPS {
        steps = steps.saturating_add(1);
        match b.u8() % 10 {
            0 | 1 => {
                let until = now
                    .checked_add(Duration::from_millis(u64::from(b.u16() % 4000)))
                    .unwrap_or(now);
                let mut guard = 0u32;
                while let Some(t) = vr.poll_timeout().filter(|t| *t <= until) {
                    guard = guard.saturating_add(1);
                    if guard > 100_000 {
                        return Err("timer does not advance".into());
                    }
                    now = t.max(now);
                    vr.handle_timeout(now);
                    chk.drain(&mut vr, now)?;
                }
                now = until.max(now);
                vr.handle_timeout(now); // spurious: must be a no-op
                chk.drain(&mut vr, now)?;
            }
            2 | 3 => {
                let src = v4((b.u8() % 4).saturating_add(1));
                let dst = if b.bool() { group } else { v4(1) };
                let bytes = advert(&mut b, &cfg, src, dst);
                let ttl = if b.u8().is_multiple_of(8) {
                    b.u8()
                } else {
                    255
                };
                vr.handle(
                    now,
                    Input::Packet {
                        ifindex: IF,
                        src,
                        dst,
                        ttl,
                        bytes: &bytes,
                    },
                );
            }
            4 => {
                let src = v4(2);
                let mut bytes = advert(&mut b, &cfg, src, group);
                let i = usize::from(b.u8());
                let len = bytes.len().max(1);
                if let Some(x) = bytes.get_mut(i.checked_rem(len).unwrap_or(0)) {
                    *x ^= b.u8();
                }
                let raw = b.slice(32);
                if b.bool() {
                    bytes = raw.to_vec();
                }
                vr.handle(
                    now,
                    Input::Packet {
                        ifindex: IF,
                        src,
                        dst: group,
                        ttl: 255,
                        bytes: &bytes,
                    },
                );
            }
            5 => vr.handle(
                now,
                Input::Link {
                    ifindex: IF,
                    up: b.bool(),
                },
            ),
            6 => {
                let id = u32::from(b.u8() % 4).saturating_add(1);
                let state = match b.u8() % 3 {
                    0 => TrackState::Up,
                    1 => TrackState::Down,
                    _ => TrackState::Value(i32::from(b.u8() as i8)),
                };
                vr.handle(now, Input::TrackChanged { id, state });
            }
            7 => vr.handle(now, Input::Startup),
            8 => vr.handle(now, Input::Shutdown),
            _ => {
                let input = match b.u8() % 4 {
                    0 => Input::GroupFault(true),
                    1 => Input::GroupFault(false),
                    2 => Input::GroupMaster,
                    _ => Input::GroupBackup,
                };
                vr.handle(now, input);
            }
        }
        chk.drain(&mut vr, now)?;
    }
    Ok(())
}
