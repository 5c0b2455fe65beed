//! Strict mode's records of what AWS is still doing (a table CREATING, a role not yet assumable, a
//! function updating): each matters until a known moment. They are keyed by client input, so each
//! map forgets what has passed and never holds more than its cap: when full, the record that
//! expires soonest goes first.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

/// The most records one map keeps.
pub(crate) const RECORD_CAP: usize = 10_000;

/// A record that stops mattering at a known moment.
pub(crate) trait Expires {
    /// When the record stops mattering; `None` keeps it until it is removed (or evicted).
    fn expires(&self) -> Option<Instant>;
}

impl Expires for Instant {
    fn expires(&self) -> Option<Instant> {
        Some(*self)
    }
}

impl<T> Expires for (Instant, T) {
    fn expires(&self) -> Option<Instant> {
        Some(self.0)
    }
}

/// Records by key, forgotten when they expire, at most `cap` of them.
pub(crate) struct Records<K, V> {
    map: HashMap<K, V>,
    cap: usize,
}

impl<K: Eq + Hash + Clone, V: Expires> Default for Records<K, V> {
    fn default() -> Self {
        Self::with_cap(RECORD_CAP)
    }
}

fn live_at<V: Expires>(value: &V, now: Instant) -> bool {
    value.expires().is_none_or(|t| t > now)
}

impl<K: Eq + Hash + Clone, V: Expires> Records<K, V> {
    /// An empty map that keeps at most `cap` records.
    pub(crate) fn with_cap(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            cap: cap.max(1),
        }
    }

    /// The record for `key`, while it still matters at `now`.
    pub(crate) fn live(&self, key: &K, now: Instant) -> Option<&V> {
        self.map.get(key).filter(|v| live_at(*v, now))
    }

    /// The record for `key`, mutable, while it still matters at `now`.
    pub(crate) fn live_mut(&mut self, key: &K, now: Instant) -> Option<&mut V> {
        self.map.get_mut(key).filter(|v| live_at(&**v, now))
    }

    /// Keeps `value` for `key`, making room first when `key` is new.
    pub(crate) fn insert(&mut self, key: K, value: V, now: Instant) {
        if !self.map.contains_key(&key) {
            self.make_room(now);
        }
        self.map.insert(key, value);
    }

    /// The record for `key`, a default one made (room first) when there is none.
    pub(crate) fn entry_or_default(&mut self, key: K, now: Instant) -> &mut V
    where
        V: Default,
    {
        if !self.map.contains_key(&key) {
            self.make_room(now);
        }
        self.map.entry(key).or_default()
    }

    /// Forgets the record for `key`.
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        self.map.remove(key)
    }

    /// Forgets every record that has expired by `now`.
    pub(crate) fn forget_past(&mut self, now: Instant) {
        self.map.retain(|_, v| live_at(v, now));
    }

    /// How many records are kept (expired ones not yet forgotten included).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }

    /// Forgets the past, then, while full, the record that expires soonest (one kept until
    /// removed goes last).
    fn make_room(&mut self, now: Instant) {
        self.forget_past(now);
        while self.map.len() >= self.cap {
            let soonest = self
                .map
                .iter()
                .min_by_key(|(_, v)| (v.expires().is_none(), v.expires()))
                .map(|(k, _)| k.clone());
            match soonest {
                Some(k) => self.map.remove(&k),
                None => break,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn records_expire_and_stay_within_their_cap() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut records: Records<String, Instant> = Records::with_cap(3);
        records.insert("a".into(), t0 + s(1), t0);
        assert!(records.live(&"a".into(), t0).is_some());
        assert!(records.live(&"a".into(), t0 + s(1)).is_none(), "expired");
        // A full map loses the record that expires soonest, never more than its cap.
        for (i, secs) in [10, 30, 20, 40].into_iter().enumerate() {
            records.insert(format!("k{i}"), t0 + s(secs), t0);
        }
        assert_eq!(records.len(), 3);
        assert!(records.live(&"a".into(), t0).is_none());
        assert!(
            records.live(&"k0".into(), t0).is_none(),
            "k0 expired soonest"
        );
        assert!(records.live(&"k3".into(), t0).is_some());
        // Inserting after the others expired forgets them all.
        records.insert("late".into(), t0 + s(100), t0 + s(50));
        assert_eq!(records.len(), 1);
    }

    #[test]
    fn records_without_an_expiry_go_last() {
        struct Kept(Option<Instant>);
        impl Expires for Kept {
            fn expires(&self) -> Option<Instant> {
                self.0
            }
        }
        let t0 = Instant::now();
        let mut records = Records::with_cap(2);
        records.insert(1, Kept(None), t0);
        records.insert(2, Kept(Some(t0 + Duration::from_secs(5))), t0);
        records.insert(3, Kept(None), t0);
        assert!(records.live(&1, t0 + Duration::from_secs(3600)).is_some());
        assert!(records.live(&2, t0).is_none());
    }
}
