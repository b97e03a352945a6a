//! The rate governor's decision: may one more message go out now, and if not, when.
//!
//! The engine keeps the times of past attempts (in SQLite, per channel and sender account) and
//! asks [`decide`] before each send; this module only decides. Caps are sliding windows, not
//! calendar buckets: "50 per hour" means no 60-minute stretch ever holds more than 50 attempts,
//! so a burst at 10:59 cannot be followed by another at 11:00.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use rand::Rng;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Limits on attempts per sliding window. `None` means no limit; `Some(0)` means nothing may go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Caps {
    /// At most this many in any 60 seconds.
    pub per_minute: Option<u32>,
    /// At most this many in any 3,600 seconds.
    pub per_hour: Option<u32>,
    /// At most this many in any 86,400 seconds.
    pub per_day: Option<u32>,
}

impl Caps {
    /// Each cap with the length of its window.
    fn windows(&self) -> [(Option<u32>, SignedDuration); 3] {
        [
            (self.per_minute, SignedDuration::from_secs(60)),
            (self.per_hour, SignedDuration::from_secs(3_600)),
            (self.per_day, SignedDuration::from_secs(86_400)),
        ]
    }
}

/// What the governor allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", content = "until", rename_all = "snake_case")]
pub enum Decision {
    /// One more attempt may be made now.
    Go,
    /// Nothing may go before this instant; at it, one attempt may (if no other was made since).
    WaitUntil(Timestamp),
    /// A cap is zero: nothing may go until it is raised, however long one waits.
    Blocked,
}

/// Whether one more attempt may be made at `now`, given the times of earlier attempts.
///
/// Go only when, for every capped window of length `W`, fewer than its cap attempts were made in
/// `(now - W, now]`; otherwise the earliest instant at which every window has room. Attempts
/// recorded after `now` (the clock was set back) count as inside every window, so a clock change
/// cannot open room early. The order of `recent_attempts` does not matter, and attempts older
/// than a day may be left out.
///
/// A caller that sends only on [`Decision::Go`] and records each attempt's time never has more
/// than a cap's number of attempts in any window of that cap's length.
pub fn decide(now: Timestamp, caps: &Caps, recent_attempts: &[Timestamp]) -> Decision {
    let mut attempts = recent_attempts.to_vec();
    attempts.sort_unstable();
    let mut earliest = now;
    for (cap, window) in caps.windows() {
        let Some(cap) = cap else { continue };
        let Ok(cap) = usize::try_from(cap) else {
            continue; // a cap beyond memory's reach cannot be met by a slice
        };
        if cap == 0 {
            return Decision::Blocked;
        }
        let window_start = now.checked_sub(window).unwrap_or(Timestamp::MIN);
        let inside = attempts.len() - attempts.partition_point(|at| *at <= window_start);
        if inside < cap {
            continue;
        }
        // Room opens when the attempt `cap` places from the newest leaves the window, i.e. when
        // only `cap - 1` attempts remain in it.
        if let Some(must_leave) = attempts.get(attempts.len() - cap) {
            let room_at = must_leave.checked_add(window).unwrap_or(Timestamp::MAX);
            earliest = earliest.max(room_at);
        }
    }
    if earliest > now {
        Decision::WaitUntil(earliest)
    } else {
        Decision::Go
    }
}

/// How many attempts may be made at `now` at once: when [`decide`] says go, the least room left
/// in any capped window (`u32::MAX` without caps); otherwise zero.
///
/// A caller that makes at most this many attempts at `now`, and records their times, keeps the
/// same guarantee as one that asks [`decide`] before each: no window ever holds more than its cap.
pub fn room(now: Timestamp, caps: &Caps, recent_attempts: &[Timestamp]) -> u32 {
    if decide(now, caps, recent_attempts) != Decision::Go {
        return 0;
    }
    let mut room = u32::MAX;
    for (cap, window) in caps.windows() {
        let Some(cap) = cap else { continue };
        let window_start = now.checked_sub(window).unwrap_or(Timestamp::MIN);
        let inside = recent_attempts
            .iter()
            .filter(|at| **at > window_start)
            .count();
        let left = usize::try_from(cap)
            .unwrap_or(usize::MAX)
            .saturating_sub(inside);
        room = room.min(u32::try_from(left).unwrap_or(u32::MAX));
    }
    room
}

/// How a new sender account's daily cap grows: mailbox providers distrust a fresh account that
/// sends hundreds on day one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RampUp {
    /// The cap on the account's first day of sending.
    pub start_per_day: u32,
    /// How much the cap grows each following day.
    pub increase_per_day: u32,
}

/// The daily cap in force `today`: the configured cap, lowered by the ramp-up while the account
/// is new.
///
/// Day 0 is the day of the account's first send (or today, when it has not sent yet) and allows
/// `start_per_day`; each later calendar day allows `increase_per_day` more, until the configured
/// cap is reached. With a ramp but no configured cap the ramp alone limits. Without a ramp the
/// configured cap is returned unchanged.
pub fn ramped_daily_cap(
    configured: Option<u32>,
    ramp: Option<&RampUp>,
    account_first_send: Option<Date>,
    today: Date,
) -> Option<u32> {
    let Some(ramp) = ramp else {
        return configured;
    };
    let days_sending = account_first_send
        .map_or(0, |first| today.duration_since(first).as_hours() / 24)
        .max(0);
    let days_sending = u32::try_from(days_sending).unwrap_or(u32::MAX);
    let ramped = ramp
        .start_per_day
        .saturating_add(ramp.increase_per_day.saturating_mul(days_sending));
    Some(configured.map_or(ramped, |cap| cap.min(ramped)))
}

/// When an account that [`decide`] holds until `until` should be asked again, given its
/// ramp-up: at the next midnight (UTC, where the ramp's days begin) if the ramp raises the
/// daily cap then, since the new day's room may open before today's attempts leave the
/// window; otherwise `until`.
pub fn ramp_recheck(
    until: Timestamp,
    configured: Option<u32>,
    ramp: &RampUp,
    account_first_send: Option<Date>,
    today: Date,
) -> Timestamp {
    let Ok(tomorrow) = today.tomorrow() else {
        return until;
    };
    let Ok(midnight) = tomorrow.to_zoned(jiff::tz::TimeZone::UTC) else {
        return until;
    };
    let cap_on = |day| ramped_daily_cap(configured, Some(ramp), account_first_send, day);
    if cap_on(tomorrow) > cap_on(today) {
        until.min(midnight.timestamp())
    } else {
        until
    }
}

/// A random pause between two sends, uniform between `min_secs` and `max_secs` (inclusive, in
/// milliseconds' steps), so that sends do not follow a machine's rhythm. The bounds may be given
/// in either order.
pub fn random_gap(min_secs: u32, max_secs: u32, rng: &mut impl Rng) -> SignedDuration {
    let (low, high) = if min_secs <= max_secs {
        (min_secs, max_secs)
    } else {
        (max_secs, min_secs)
    };
    let millis = rng.random_range(i64::from(low) * 1_000..=i64::from(high) * 1_000);
    SignedDuration::from_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_ramp_that_grows_tomorrow_is_asked_again_at_midnight() {
        let today = date(2026, 12, 5);
        let until = t("2026-12-06T09:30:00Z");
        let growing = RampUp {
            start_per_day: 2,
            increase_per_day: 3,
        };
        assert_eq!(
            ramp_recheck(until, None, &growing, Some(today), today),
            t("2026-12-06T00:00:00Z")
        );
        // A ramp that no longer grows, or has reached the configured cap, waits the day out.
        let flat = RampUp {
            start_per_day: 2,
            increase_per_day: 0,
        };
        assert_eq!(ramp_recheck(until, None, &flat, Some(today), today), until);
        assert_eq!(
            ramp_recheck(until, Some(2), &growing, Some(today), today),
            until
        );
        // A wait that ends before midnight stays as it is.
        let soon = t("2026-12-05T18:00:00Z");
        assert_eq!(ramp_recheck(soon, None, &growing, Some(today), today), soon);
    }

    fn secs(n: i64) -> SignedDuration {
        SignedDuration::from_secs(n)
    }

    #[test]
    fn no_caps_always_go() {
        let now = t("2025-06-02T10:00:00Z");
        let attempts = vec![now; 1000];
        assert_eq!(decide(now, &Caps::default(), &attempts), Decision::Go);
    }

    #[test]
    fn a_zero_cap_blocks_outright() {
        let caps = Caps {
            per_day: Some(0),
            ..Caps::default()
        };
        assert_eq!(
            decide(t("2025-06-02T10:00:00Z"), &caps, &[]),
            Decision::Blocked
        );
    }

    #[test]
    fn under_the_cap_goes_and_at_the_cap_waits_for_the_oldest_to_leave() {
        let caps = Caps {
            per_minute: Some(3),
            ..Caps::default()
        };
        let now = t("2025-06-02T10:01:00Z");
        let a = [
            t("2025-06-02T10:00:10Z"),
            t("2025-06-02T10:00:30Z"),
            t("2025-06-02T10:00:50Z"),
        ];
        assert_eq!(decide(now, &caps, &a[1..]), Decision::Go);
        assert_eq!(
            decide(now, &caps, &a),
            Decision::WaitUntil(t("2025-06-02T10:01:10Z"))
        );
        // The window is (now - 60 s, now]: an attempt exactly 60 s ago has left it.
        assert_eq!(decide(t("2025-06-02T10:01:10Z"), &caps, &a), Decision::Go);
        // Input order does not matter.
        let shuffled = [a[2], a[0], a[1]];
        assert_eq!(decide(now, &caps, &shuffled), decide(now, &caps, &a));
    }

    #[test]
    fn the_strictest_window_sets_the_wait() {
        let caps = Caps {
            per_minute: Some(10),
            per_hour: Some(2),
            per_day: Some(100),
        };
        let a = [t("2025-06-02T09:30:00Z"), t("2025-06-02T09:45:00Z")];
        assert_eq!(
            decide(t("2025-06-02T10:00:00Z"), &caps, &a),
            Decision::WaitUntil(t("2025-06-02T10:30:00Z"))
        );
    }

    #[test]
    fn attempts_after_now_count_when_the_clock_went_back() {
        let caps = Caps {
            per_hour: Some(1),
            ..Caps::default()
        };
        let later = t("2025-06-02T10:30:00Z");
        assert_eq!(
            decide(t("2025-06-02T10:00:00Z"), &caps, &[later]),
            Decision::WaitUntil(t("2025-06-02T11:30:00Z"))
        );
    }

    #[test]
    fn decision_serialises_with_a_tag() {
        let json = serde_json::to_value(Decision::WaitUntil(t("2025-06-02T10:00:00Z"))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"decision": "wait_until", "until": "2025-06-02T10:00:00Z"})
        );
        assert_eq!(
            serde_json::to_value(Decision::Go).unwrap(),
            serde_json::json!({"decision": "go"})
        );
    }

    /// Counts, for a window length, the most attempts any half-open window `(x - W, x]` holds.
    fn busiest_window(sorted: &[Timestamp], window: SignedDuration) -> usize {
        let mut first = 0;
        let mut most = 0;
        for (last, at) in sorted.iter().enumerate() {
            while sorted[first] <= *at - window {
                first += 1;
            }
            most = most.max(last + 1 - first);
        }
        most
    }

    fn random_cap(rng: &mut StdRng, low: u32, high: u32) -> Option<u32> {
        rng.random_bool(0.75).then(|| rng.random_range(low..=high))
    }

    #[test]
    fn a_caller_that_obeys_never_exceeds_any_cap_and_never_waits_too_long() {
        for seed in 0..24 {
            let mut rng = StdRng::seed_from_u64(seed);
            let caps = Caps {
                per_minute: random_cap(&mut rng, 1, 6),
                per_hour: random_cap(&mut rng, 4, 60),
                per_day: random_cap(&mut rng, 20, 300),
            };
            let mut now = t("2025-06-02T00:00:00Z");
            let mut attempts: Vec<Timestamp> = Vec::new();
            for _ in 0..3_000 {
                // The engine passes the last day's attempts only.
                let day_ago = now - secs(86_400);
                let recent: Vec<Timestamp> =
                    attempts.iter().copied().filter(|a| *a > day_ago).collect();
                match decide(now, &caps, &recent) {
                    Decision::Go => {
                        attempts.push(now);
                        // Bursts (several sends at one instant) as well as pauses.
                        let pause = match rng.random_range(0..4) {
                            0 => 0,
                            1 => rng.random_range(0..2_000),
                            2 => rng.random_range(0..120_000),
                            _ => rng.random_range(0..3_600_000),
                        };
                        now += SignedDuration::from_millis(pause);
                    }
                    Decision::WaitUntil(until) => {
                        assert!(until > now);
                        // The wait is exactly long enough: a nanosecond earlier is still too soon.
                        assert_eq!(decide(until, &caps, &recent), Decision::Go);
                        let just_before = until - SignedDuration::from_nanos(1);
                        assert_ne!(decide(just_before, &caps, &recent), Decision::Go);
                        now = until + SignedDuration::from_millis(rng.random_range(0..=1_000));
                    }
                    Decision::Blocked => unreachable!("no cap is zero"),
                }
            }
            assert!(attempts.len() > 100, "seed {seed}: the simulation sent");
            for (cap, window) in caps.windows() {
                if let Some(cap) = cap {
                    let busiest = busiest_window(&attempts, window);
                    assert!(busiest <= cap as usize, "seed {seed}: {busiest} > {cap}");
                }
            }
        }
    }

    #[test]
    fn a_caller_taking_whole_batches_of_room_never_exceeds_any_cap() {
        for seed in 0..24 {
            let mut rng = StdRng::seed_from_u64(seed);
            let caps = Caps {
                per_minute: random_cap(&mut rng, 1, 40),
                per_hour: random_cap(&mut rng, 4, 400),
                per_day: random_cap(&mut rng, 20, 3_000),
            };
            let mut now = t("2025-06-02T00:00:00Z");
            let mut attempts: Vec<Timestamp> = Vec::new();
            for _ in 0..2_000 {
                let day_ago = now - secs(86_400);
                let recent: Vec<Timestamp> =
                    attempts.iter().copied().filter(|a| *a > day_ago).collect();
                let n = room(now, &caps, &recent);
                match decide(now, &caps, &recent) {
                    Decision::Go => assert!(n >= 1, "seed {seed}: go means room for one"),
                    _ => assert_eq!(n, 0),
                }
                // A batch of up to 32, as the engine claims, all at this instant.
                let take = n.min(rng.random_range(1..=32));
                attempts.extend(std::iter::repeat_n(now, take as usize));
                now += SignedDuration::from_millis(rng.random_range(0..90_000));
            }
            assert!(attempts.len() > 100, "seed {seed}: the simulation sent");
            for (cap, window) in caps.windows() {
                if let Some(cap) = cap {
                    let busiest = busiest_window(&attempts, window);
                    assert!(busiest <= cap as usize, "seed {seed}: {busiest} > {cap}");
                }
            }
        }
        let none = Caps::default();
        assert_eq!(room(t("2025-06-02T00:00:00Z"), &none, &[]), u32::MAX);
    }

    #[test]
    fn without_ramp_the_configured_cap_stands() {
        let today = date(2025, 6, 2);
        assert_eq!(ramped_daily_cap(Some(200), None, None, today), Some(200));
        assert_eq!(ramped_daily_cap(None, None, Some(today), today), None);
    }

    #[test]
    fn a_new_account_starts_low_and_grows_daily_up_to_the_cap() {
        let ramp = RampUp {
            start_per_day: 20,
            increase_per_day: 15,
        };
        let first = date(2025, 6, 2);
        let cap_on = |day: i8| {
            let today = first.checked_add(jiff::Span::new().days(day)).unwrap();
            ramped_daily_cap(Some(100), Some(&ramp), Some(first), today)
        };
        assert_eq!(cap_on(0), Some(20));
        assert_eq!(cap_on(1), Some(35));
        assert_eq!(cap_on(5), Some(95));
        assert_eq!(cap_on(6), Some(100));
        assert_eq!(cap_on(60), Some(100));
        // A first send recorded "tomorrow" (clock trouble) is treated as day 0.
        assert_eq!(cap_on(-3), Some(20));
        // An account that never sent is on day 0.
        assert_eq!(
            ramped_daily_cap(Some(100), Some(&ramp), None, first),
            Some(20)
        );
        // With no configured cap, the ramp alone limits.
        assert_eq!(
            ramped_daily_cap(None, Some(&ramp), Some(first), date(2025, 6, 12)),
            Some(170)
        );
        let huge = RampUp {
            start_per_day: u32::MAX,
            increase_per_day: u32::MAX,
        };
        assert_eq!(
            ramped_daily_cap(None, Some(&huge), Some(first), date(2030, 1, 1)),
            Some(u32::MAX)
        );
    }

    #[test]
    fn random_gaps_stay_in_bounds_and_spread_evenly() {
        let mut rng = StdRng::seed_from_u64(7);
        let gaps: Vec<SignedDuration> = (0..10_000).map(|_| random_gap(30, 90, &mut rng)).collect();
        assert!(gaps.iter().all(|g| (secs(30)..=secs(90)).contains(g)));
        let below_half = gaps.iter().filter(|g| **g < secs(60)).count();
        assert!((4_500..5_500).contains(&below_half), "{below_half}");
        assert!(gaps.iter().any(|g| *g < secs(33)) && gaps.iter().any(|g| *g > secs(87)));
    }

    #[test]
    fn random_gap_accepts_bounds_in_either_order_and_equal_ones() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..1_000 {
            let g = random_gap(90, 30, &mut rng);
            assert!((secs(30)..=secs(90)).contains(&g));
        }
        assert_eq!(random_gap(45, 45, &mut rng), secs(45));
        assert_eq!(random_gap(0, 0, &mut rng), SignedDuration::ZERO);
    }
}
