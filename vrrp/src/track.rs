//! Tracked objects and the effective priority (keepalived
//! `track_interface`, `track_script`, `track_file`; keepalived.conf(5)).
//!
//! The driver watches the objects and reports changes with
//! [`crate::Input::TrackChanged`]; this module turns the states into a
//! priority delta or a fault:
//!
//! * Interface / script, weight 0: down → Fault.
//! * Interface / script, weight > 0: up adds the weight.
//! * Interface / script, weight < 0: down adds the (negative) weight.
//! * File, weight 0: a non-zero value → Fault.
//! * File, weight w ≠ 0: adds `value · w`; a product below −253 → Fault.
//!
//! Effective priority = base + Σ deltas, clamped to 1..=254; an address
//! owner (base 255) stays at 255 (faults still apply).

/// Largest weight magnitude (keepalived: −253..=253).
pub const WEIGHT_MAX: i32 = 253;

/// What is tracked; decides how states map to weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// An interface's link state.
    Interface,
    /// A check script's result.
    Script,
    /// A number read from a file.
    File,
}

/// One tracked object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrackConfig {
    /// Identifier the driver uses in [`crate::Input::TrackChanged`].
    pub id: u32,
    /// Kind.
    pub kind: TrackKind,
    /// Weight, −253..=253; 0 = Fault on failure.
    pub weight: i32,
}

impl TrackConfig {
    /// A tracked interface.
    pub fn interface(id: u32, weight: i32) -> Self {
        TrackConfig {
            id,
            kind: TrackKind::Interface,
            weight,
        }
    }

    /// A tracked script.
    pub fn script(id: u32, weight: i32) -> Self {
        TrackConfig {
            id,
            kind: TrackKind::Script,
            weight,
        }
    }

    /// A tracked file.
    pub fn file(id: u32, weight: i32) -> Self {
        TrackConfig {
            id,
            kind: TrackKind::File,
            weight,
        }
    }
}

/// A tracked object's state. Interfaces and scripts use `Up` / `Down`
/// (a `Value` counts as up when 0, like an exit status); files use
/// `Value` (`Up` = 0, `Down` = 1). Objects start `Up`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackState {
    /// Up / succeeded.
    Up,
    /// Down / failed.
    Down,
    /// A number (file contents, script exit status).
    Value(i32),
}

/// Result of evaluating every tracked object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    /// First object whose state means Fault.
    pub fault: Option<u32>,
    /// Sum of the weights in effect.
    pub delta: i64,
}

fn contribution(cfg: &TrackConfig, state: TrackState) -> Result<i64, ()> {
    let w = i64::from(cfg.weight);
    match cfg.kind {
        TrackKind::Interface | TrackKind::Script => {
            let up = match state {
                TrackState::Up => true,
                TrackState::Down => false,
                TrackState::Value(v) => v == 0,
            };
            match (up, w) {
                (false, 0) => Err(()),
                (true, w) if w > 0 => Ok(w),
                (false, w) if w < 0 => Ok(w),
                _ => Ok(0),
            }
        }
        TrackKind::File => {
            let v = match state {
                TrackState::Up => 0,
                TrackState::Down => 1,
                TrackState::Value(v) => i64::from(v),
            };
            if w == 0 {
                return if v == 0 { Ok(0) } else { Err(()) };
            }
            let d = v.saturating_mul(w);
            if d < i64::from(-WEIGHT_MAX) {
                Err(())
            } else {
                Ok(d)
            }
        }
    }
}

/// The tracked objects of one virtual router with their current states.
#[derive(Debug, Clone)]
pub struct Tracks {
    entries: Vec<(TrackConfig, TrackState)>,
}

impl Tracks {
    /// Every object starts `Up`.
    pub fn new(cfg: &[TrackConfig]) -> Self {
        Tracks {
            entries: cfg.iter().map(|c| (*c, TrackState::Up)).collect(),
        }
    }

    /// Whether `id` is tracked.
    pub fn contains(&self, id: u32) -> bool {
        self.entries.iter().any(|(c, _)| c.id == id)
    }

    /// Records a state; false when `id` is not tracked.
    pub fn update(&mut self, id: u32, state: TrackState) -> bool {
        match self.entries.iter_mut().find(|(c, _)| c.id == id) {
            Some((_, s)) => {
                *s = state;
                true
            }
            None => false,
        }
    }

    /// The current state of `id`.
    pub fn state(&self, id: u32) -> Option<TrackState> {
        self.entries.iter().find(|(c, _)| c.id == id).map(|e| e.1)
    }

    /// Fault and delta over all objects.
    pub fn evaluate(&self) -> Evaluation {
        let mut ev = Evaluation {
            fault: None,
            delta: 0,
        };
        for (c, s) in &self.entries {
            match contribution(c, *s) {
                Ok(d) => ev.delta = ev.delta.saturating_add(d),
                Err(()) => {
                    if ev.fault.is_none() {
                        ev.fault = Some(c.id);
                    }
                }
            }
        }
        ev
    }
}

/// keepalived's effective priority: `base` 255 stays 255; otherwise
/// `base + delta` clamped to 1..=254.
pub fn effective_priority(base: u8, delta: i64) -> u8 {
    if base == u8::MAX {
        return base;
    }
    let p = i64::from(base).saturating_add(delta).clamp(1, 254);
    u8::try_from(p).unwrap_or(254)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_keepalived() {
        let mut t = Tracks::new(&[
            TrackConfig::interface(1, 0),
            TrackConfig::script(2, 10),
            TrackConfig::script(3, -30),
            TrackConfig::file(4, 5),
        ]);
        assert_eq!(
            t.evaluate(),
            Evaluation {
                fault: None,
                delta: 10
            }
        );
        t.update(2, TrackState::Down);
        t.update(3, TrackState::Down);
        assert_eq!(t.evaluate().delta, -30);
        t.update(4, TrackState::Value(-3));
        assert_eq!(t.evaluate().delta, -45);
        t.update(4, TrackState::Value(-51));
        assert_eq!(t.evaluate().fault, Some(4), "-255 < -253");
        t.update(4, TrackState::Value(0));
        t.update(1, TrackState::Down);
        assert_eq!(t.evaluate().fault, Some(1));
        assert!(!t.update(9, TrackState::Up));
        assert_eq!(t.state(3), Some(TrackState::Down));
    }

    #[test]
    fn file_weight_zero_faults_on_nonzero() {
        let mut t = Tracks::new(&[TrackConfig::file(7, 0)]);
        t.update(7, TrackState::Value(2));
        assert_eq!(t.evaluate().fault, Some(7));
        t.update(7, TrackState::Value(0));
        assert_eq!(t.evaluate().fault, None);
    }

    #[test]
    fn clamping() {
        assert_eq!(effective_priority(100, -500), 1);
        assert_eq!(effective_priority(100, 200), 254);
        assert_eq!(effective_priority(255, -100), 255);
        assert_eq!(effective_priority(100, 20), 120);
    }
}
