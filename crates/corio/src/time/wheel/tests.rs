//! Wheel tests with fake ticks.

use std::collections::{BTreeSet, HashMap};

use super::*;
use crate::test_util::CountingWaker;

/// Small xorshift64* generator: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn tick_of(wheel: &Wheel, key: Key) -> u64 {
    wheel.slab.tick(wheel.slab.index(key))
}

/// Fires everything due by `now`: (deadline, tick it fired at) in firing order.
fn fire(wheel: &mut Wheel, now: u64) -> Vec<(u64, u64)> {
    let mut fired = Vec::new();
    while let Some(key) = wheel.next_expired(now) {
        assert!(wheel.is_fired(key));
        fired.push((tick_of(wheel, key), wheel.elapsed()));
        wheel.remove(key);
    }
    fired
}

#[test]
fn fires_in_deadline_order_exactly_on_time() {
    let mut wheel = Wheel::new();
    let deadlines = [50, 3, 700, 64, 65, 1, 4095, 4096, 10_000, 63, 262_144, 1];
    for &d in &deadlines {
        wheel.insert(d, None).unwrap();
    }
    let fired = fire(&mut wheel, 1_000_000);
    let mut sorted = deadlines.to_vec();
    sorted.sort_unstable();
    assert_eq!(fired.iter().map(|f| f.0).collect::<Vec<_>>(), sorted);
    for (deadline, at) in fired {
        assert_eq!(deadline, at, "fired at the wrong tick");
    }
    assert_eq!(wheel.len(), 0);
    assert_eq!(wheel.next_expiration(), None);
    assert_eq!(wheel.elapsed(), 1_000_000);
}

#[test]
fn same_tick_entries_fire_together_and_no_earlier() {
    let mut wheel = Wheel::new();
    let (counter, waker) = CountingWaker::new();
    for _ in 0..100 {
        wheel.insert(77, Some(waker.clone())).unwrap();
    }
    wheel.insert(76, Some(waker.clone())).unwrap();
    wheel.insert(78, Some(waker.clone())).unwrap();
    while let Some(w) = wheel.poll(76) {
        w.wake();
    }
    assert_eq!(counter.wakes(), 1);
    while let Some(w) = wheel.poll(77) {
        w.wake();
    }
    assert_eq!(counter.wakes(), 101);
    assert_eq!(wheel.next_expiration(), Some(78));
    assert_eq!(wheel.len(), 102, "fired entries stay until removed");
}

#[test]
fn far_future_entries_cascade_through_every_level() {
    let mut deadlines: Vec<u64> = (0..6u32)
        .flat_map(|level| {
            let width = 64u64.pow(level);
            [width, 37 * width + 5, 64 * width - 1]
        })
        .collect();
    // Past the top level's range, and the clamped maximum.
    deadlines.extend([1 << 36, (1 << 36) + 123, (3 << 40) + 7, MAX_TICK]);
    for &d in &deadlines {
        // Alone, jumping from one expiration to the next: each step is a cascade or the
        // firing, and the entry fires exactly at its tick.
        let mut wheel = Wheel::new();
        wheel.insert(d, None).unwrap();
        let mut steps = 0;
        let mut fired = Vec::new();
        while let Some(t) = wheel.next_expiration() {
            assert!(t <= d, "next expiration {t} after deadline {d}");
            steps += 1;
            fired.extend(fire(&mut wheel, t));
        }
        assert_eq!(fired, vec![(d, d)]);
        let turns = d >> 36;
        assert!(steps <= LEVELS as u64 + turns + 1, "{steps} steps for {d}");
    }
    // All together, with one big jump.
    let mut wheel = Wheel::new();
    for &d in &deadlines {
        wheel.insert(d, None).unwrap();
    }
    let fired = fire(&mut wheel, MAX_TICK);
    deadlines.sort_unstable();
    assert_eq!(fired.iter().map(|f| f.0).collect::<Vec<_>>(), deadlines);
    assert!(fired.iter().all(|&(d, at)| d == at));
}

#[test]
fn entries_inserted_mid_turn_land_correctly() {
    // Start from a non-zero elapsed near level boundaries.
    for start in [
        63,
        64,
        4095,
        4097,
        (1 << 30) - 1,
        (1 << 36) - 1,
        (1 << 36) + 5,
    ] {
        let mut wheel = Wheel::new();
        assert!(fire(&mut wheel, start).is_empty());
        let deadlines: Vec<u64> = [1, 2, 63, 64, 65, 4096, 1 << 20, 1 << 35, 1 << 36, 1 << 37]
            .iter()
            .map(|d| start + d)
            .collect();
        for &d in deadlines.iter().rev() {
            wheel.insert(d, None).unwrap();
        }
        let mut fired = Vec::new();
        while let Some(t) = wheel.next_expiration() {
            assert!(t > wheel.elapsed());
            fired.extend(fire(&mut wheel, t));
        }
        assert_eq!(fired.iter().map(|f| f.0).collect::<Vec<_>>(), deadlines);
        assert!(fired.iter().all(|&(d, at)| d == at), "start {start}");
    }
}

#[test]
fn removed_entries_never_fire() {
    let mut wheel = Wheel::new();
    let (counter, waker) = CountingWaker::new();
    let a = wheel.insert(10, Some(waker.clone())).unwrap();
    let b = wheel.insert(10, Some(waker.clone())).unwrap();
    let c = wheel.insert(5000, Some(waker.clone())).unwrap();
    assert!(wheel.remove(a).is_some(), "remove hands back the waker");
    assert!(!wheel.is_fired(b));
    while let Some(w) = wheel.poll(10) {
        w.wake();
    }
    assert_eq!(counter.wakes(), 1);
    assert!(wheel.is_fired(b));
    wheel.remove(c);
    // The last pending entry's slot is empty again, so nothing is left to expire.
    assert_eq!(wheel.next_expiration(), None);
    assert!(wheel.poll(1 << 40).is_none());
    assert_eq!(counter.wakes(), 1);
    wheel.remove(b);
    assert_eq!(wheel.len(), 0);
}

#[test]
fn next_expiration_is_the_next_slot_due() {
    let mut wheel = Wheel::new();
    assert_eq!(wheel.next_expiration(), None);
    let five = wheel.insert(5, None).unwrap();
    assert_eq!(wheel.next_expiration(), Some(5));
    let hundred = wheel.insert(100, None).unwrap();
    assert_eq!(wheel.next_expiration(), Some(5));
    wheel.remove(five);
    // 100 sits in level 1's slot 1, which begins (and must be cascaded) at 64.
    assert_eq!(wheel.next_expiration(), Some(64));
    assert!(wheel.next_expired(64).is_none());
    assert_eq!(wheel.elapsed(), 64);
    assert_eq!(wheel.next_expiration(), Some(100));
    assert_eq!(wheel.next_expired(99), None);
    assert_eq!(wheel.next_expired(100), Some(hundred));
    assert_eq!(wheel.next_expiration(), None);
    // Past or current ticks are refused: the caller treats them as fired.
    assert_eq!(wheel.insert(100, None), None);
    assert_eq!(wheel.insert(3, None), None);
    assert!(wheel.insert(101, None).is_some());
}

#[test]
fn time_never_runs_backwards() {
    let mut wheel = Wheel::new();
    wheel.insert(500, None).unwrap();
    assert!(fire(&mut wheel, 200).is_empty());
    assert!(fire(&mut wheel, 100).is_empty());
    assert_eq!(wheel.elapsed(), 200);
    assert_eq!(fire(&mut wheel, 500), vec![(500, 500)]);
}

#[test]
fn reset_moves_pending_and_fired_entries() {
    let mut wheel = Wheel::new();
    let (counter, waker) = CountingWaker::new();
    let key = wheel.insert(10, Some(waker.clone())).unwrap();
    assert!(wheel.reset(key, 5000).is_none());
    assert!(wheel.poll(10).is_none());
    assert!(!wheel.is_fired(key));
    wheel.poll(5000).unwrap().wake();
    assert!(wheel.is_fired(key));
    // A fired entry becomes pending again; its waker was used up, so it fires silently.
    assert!(wheel.reset(key, 6000).is_none());
    assert!(!wheel.is_fired(key));
    assert_eq!(wheel.next_expiration().map(|t| t <= 6000), Some(true));
    assert!(wheel.poll(6000).is_none());
    assert!(wheel.is_fired(key));
    // Reset into the past fires at once and hands back the waker.
    wheel.register_waker(key, &waker);
    assert!(wheel.reset(key, 7000).is_none());
    wheel.reset(key, 1).expect("due at once").wake();
    assert!(wheel.is_fired(key));
    assert_eq!(wheel.next_expiration(), None);
    assert_eq!(counter.wakes(), 2);
}

#[test]
fn register_waker_replaces_only_a_different_waker() {
    let mut wheel = Wheel::new();
    let (a_count, a) = CountingWaker::new();
    let (b_count, b) = CountingWaker::new();
    let key = wheel.insert(10, None).unwrap();
    assert!(wheel.register_waker(key, &a).is_none());
    // A clone wakes the same task, so nothing is replaced. (Miri may give one vtable several
    // addresses, making `will_wake` answer either way there.)
    let replaced = wheel.register_waker(key, &a.clone()).is_some();
    if !cfg!(miri) {
        assert!(!replaced);
    }
    wheel.register_waker(key, &b).expect("replaced").wake();
    assert_eq!(a_count.wakes(), 1, "the old waker is handed back");
    wheel.poll(10).unwrap().wake();
    assert_eq!(b_count.wakes(), 1);
    assert_eq!(a_count.wakes(), 1);
}

#[test]
fn fire_any_takes_everything_regardless_of_deadline() {
    let mut wheel = Wheel::new();
    let (counter, waker) = CountingWaker::new();
    for d in [1, 70, 5000, 1 << 30, 1 << 40] {
        wheel.insert(d, Some(waker.clone())).unwrap();
    }
    wheel.insert(9, None).unwrap();
    while let Some(w) = wheel.fire_any() {
        w.wake();
    }
    assert_eq!(counter.wakes(), 5);
    assert_eq!(wheel.next_expiration(), None);
    assert_eq!(wheel.len(), 6);
}

#[test]
fn churn_does_not_grow_the_slab() {
    let mut wheel = Wheel::new();
    let mut rng = Rng(0x5eed);
    let mut live: Vec<Key> = Vec::new();
    let mut now = 0;
    const PEAK: usize = 64;
    let iterations = if cfg!(miri) { 3_000 } else { 100_000 };
    for i in 0..iterations {
        if live.len() == PEAK || (!live.is_empty() && rng.below(2) == 0) {
            let victim = live.swap_remove(rng.below(live.len() as u64) as usize);
            wheel.remove(victim);
        }
        if let Some(key) = wheel.insert(now + 1 + rng.below(10_000), None) {
            live.push(key);
        }
        if i % 16 == 0 {
            now += 1;
            // Fired entries stay allocated until their owner removes them, like a Sleep.
            while wheel.next_expired(now).is_some() {}
        }
        assert!(wheel.capacity() <= PEAK);
    }
    assert_eq!(wheel.len(), live.len());
    assert!(wheel.capacity() <= PEAK);
}

struct ModelEntry {
    key: Key,
    tick: u64,
    fired: bool,
    pos: usize,
}

/// Reference model: a map of live entries and an ordered set of pending deadlines.
#[derive(Default)]
struct Model {
    entries: HashMap<u32, ModelEntry>,
    pending: BTreeSet<(u64, u32)>,
    list: Vec<u32>,
}

impl Model {
    fn add(&mut self, key: Key, tick: u64) {
        let index = key.index;
        let entry = ModelEntry {
            key,
            tick,
            fired: false,
            pos: self.list.len(),
        };
        assert!(self.entries.insert(index, entry).is_none(), "index reused");
        self.list.push(index);
        self.pending.insert((tick, index));
    }

    fn pick(&self, rng: &mut Rng) -> Option<u32> {
        (!self.list.is_empty()).then(|| self.list[rng.below(self.list.len() as u64) as usize])
    }

    fn remove(&mut self, index: u32) -> ModelEntry {
        let entry = self.entries.remove(&index).unwrap();
        self.list.swap_remove(entry.pos);
        if let Some(&moved) = self.list.get(entry.pos) {
            self.entries.get_mut(&moved).unwrap().pos = entry.pos;
        }
        self.pending.remove(&(entry.tick, index));
        entry
    }
}

/// A random distance in ticks, spread over every level and past the top.
fn distance(rng: &mut Rng) -> u64 {
    match rng.below(8) {
        0 => rng.below(2),
        1 => rng.below(64),
        2 => rng.below(4096),
        3 => rng.below(1 << 18),
        4 => rng.below(1 << 24),
        5 => rng.below(1 << 30),
        6 => rng.below(1 << 37),
        _ => (1 << 40) + rng.below(1 << 40),
    }
}

/// How far to advance: mostly a little, occasionally a lot.
fn step(rng: &mut Rng) -> u64 {
    match rng.below(1000) {
        0..=599 => rng.below(8),
        600..=849 => rng.below(200),
        850..=949 => rng.below(5000),
        950..=997 => rng.below(1 << 20),
        _ => rng.below(1 << 37),
    }
}

#[test]
fn matches_a_btreemap_model() {
    let (seeds, iterations) = if cfg!(miri) { (2, 1_500) } else { (24, 12_000) };
    for seed in 1..=seeds as u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut wheel = Wheel::new();
        let mut model = Model::default();
        let mut now = 0u64;
        let mut peak = 0;
        for _ in 0..iterations {
            match rng.below(100) {
                0..=39 => {
                    let when = now.saturating_add(distance(&mut rng)).min(MAX_TICK);
                    match wheel.insert(when, None) {
                        Some(key) => {
                            assert!(when > now);
                            model.add(key, when);
                        }
                        None => assert!(when <= now),
                    }
                }
                40..=59 => {
                    if let Some(index) = model.pick(&mut rng) {
                        let entry = model.remove(index);
                        assert_eq!(wheel.is_fired(entry.key), entry.fired);
                        wheel.remove(entry.key);
                    }
                }
                60..=69 => {
                    if let Some(index) = model.pick(&mut rng) {
                        let when = now.saturating_add(distance(&mut rng)).min(MAX_TICK);
                        let mut entry = model.remove(index);
                        assert!(wheel.reset(entry.key, when).is_none(), "no wakers here");
                        entry.tick = when;
                        entry.fired = when <= now;
                        let key = entry.key;
                        model.add(key, when);
                        if entry.fired {
                            model.pending.remove(&(when, index));
                            model.entries.get_mut(&index).unwrap().fired = true;
                        }
                        assert_eq!(wheel.is_fired(key), entry.fired);
                    }
                }
                70..=71 => {
                    // Going backwards is a no-op.
                    let back = now.saturating_sub(rng.below(100));
                    assert_eq!(wheel.next_expired(back), None);
                    assert_eq!(wheel.elapsed(), now);
                }
                _ => {
                    now = now.saturating_add(step(&mut rng)).min(MAX_TICK);
                    while let Some(key) = wheel.next_expired(now) {
                        let entry = model.entries.get_mut(&key.index).expect("unknown key");
                        assert_eq!(entry.key, key);
                        assert!(!entry.fired, "fired twice");
                        assert_eq!(entry.tick, wheel.elapsed(), "fired off its tick");
                        assert!(entry.tick <= now);
                        let first = model.pending.pop_first().unwrap();
                        assert_eq!(first.0, entry.tick, "fired out of order");
                        if first.1 != key.index {
                            // Same tick, other order: put the other one back.
                            assert!(model.pending.remove(&(entry.tick, key.index)));
                            model.pending.insert(first);
                        }
                        entry.fired = true;
                    }
                    assert_eq!(wheel.elapsed(), now);
                    assert!(model.pending.first().is_none_or(|&(t, _)| t > now));
                }
            }
            // Invariants after every operation.
            assert_eq!(wheel.len(), model.entries.len());
            match (wheel.next_expiration(), model.pending.first()) {
                (None, None) => {}
                (Some(t), Some(&(earliest, _))) => {
                    assert!(t > wheel.elapsed());
                    assert!(
                        t <= earliest,
                        "next expiration {t} after deadline {earliest}"
                    );
                }
                other => panic!("next_expiration disagrees with the model: {other:?}"),
            }
            peak = peak.max(model.entries.len());
            assert!(
                wheel.capacity() <= peak,
                "slab grew past the peak live count"
            );
        }
        // Drain: everything still pending fires, in order.
        let expected: Vec<u64> = model.pending.iter().map(|&(t, _)| t).collect();
        let fired: Vec<u64> = fire(&mut wheel, MAX_TICK)
            .into_iter()
            .map(|(d, at)| {
                assert_eq!(d, at);
                d
            })
            .collect();
        assert_eq!(fired, expected);
    }
}
