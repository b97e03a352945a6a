//! What is left of a day: when it ends in a time zone, and how many sends a campaign's pacing
//! lets through before then. The confirmation before a campaign starts ("up to N messages
//! today") is made of these, together with each step's due time and send window.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::ScheduleError;

/// The end of `now`'s day in `tz`: the first instant of the next local day (midnight, or the
/// first instant after it where a clock change skips midnight).
pub fn end_of_day(now: Timestamp, tz: &TimeZone) -> Result<Timestamp, ScheduleError> {
    let tomorrow = now
        .to_zoned(tz.clone())
        .date()
        .tomorrow()
        .map_err(|_| ScheduleError::OutOfRange)?;
    Ok(tomorrow
        .to_zoned(tz.clone())
        .map_err(|_| ScheduleError::OutOfRange)?
        .timestamp())
}

/// The most sends that a pacing leaves room for from `now` until `end`: one per minimum gap
/// between sends (the first needs no wait), and a per-minute or per-hour cap once for every
/// minute or hour begun. `u32::MAX` without any of them; 0 when `end` is not after `now`.
pub fn pacing_room(
    now: Timestamp,
    end: Timestamp,
    min_gap_seconds: u32,
    per_minute: Option<u32>,
    per_hour: Option<u32>,
) -> u32 {
    let until = now.duration_until(end);
    if !until.is_positive() {
        return 0;
    }
    // Whole seconds, a part of one counting as begun.
    let left = until.as_secs() + i64::from(until.subsec_nanos() > 0);
    let begun = |period: i64| u64::try_from((left + period - 1) / period).unwrap_or(0);
    let mut room = u64::from(u32::MAX);
    if min_gap_seconds > 0 {
        room = room.min(begun(i64::from(min_gap_seconds)));
    }
    if let Some(cap) = per_minute {
        room = room.min(begun(60).saturating_mul(u64::from(cap)));
    }
    if let Some(cap) = per_hour {
        room = room.min(begun(3600).saturating_mul(u64::from(cap)));
    }
    u32::try_from(room).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_day_ends_at_the_next_local_midnight() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        // 23:30 UTC is already the next day in Berlin (CET, +1).
        assert_eq!(
            end_of_day(at("2026-12-04T23:30:00Z"), &berlin).unwrap(),
            at("2026-12-05T23:00:00Z")
        );
        assert_eq!(
            end_of_day(at("2026-12-04T22:59:59Z"), &berlin).unwrap(),
            at("2026-12-04T23:00:00Z")
        );
        assert_eq!(
            end_of_day(at("2026-12-04T00:00:00Z"), &TimeZone::UTC).unwrap(),
            at("2026-12-05T00:00:00Z")
        );
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_ends_at_its_first_instant() {
        // Chile's clocks jumped from 00:00 to 01:00 on 2024-09-08: that day began at 01:00.
        let santiago = TimeZone::get("America/Santiago").unwrap();
        let end = end_of_day(at("2024-09-07T12:00:00Z"), &santiago).unwrap();
        assert_eq!(end, at("2024-09-08T04:00:00Z"));
        assert_eq!(end.to_zoned(santiago).hour(), 1);
    }

    #[test]
    fn the_last_day_the_calendar_has_does_not_end() {
        assert_eq!(
            end_of_day(at("9999-12-30T12:00:00Z"), &TimeZone::UTC),
            Err(ScheduleError::OutOfRange)
        );
    }

    #[test]
    fn pacing_counts_one_send_per_gap_and_each_cap_per_period_begun() {
        let now = at("2026-12-04T22:00:00Z");
        let end = at("2026-12-05T00:00:00Z");
        assert_eq!(pacing_room(now, end, 0, None, None), u32::MAX);
        // Two hours with a send at most every 10 minutes: 12.
        assert_eq!(pacing_room(now, end, 600, None, None), 12);
        // A gap longer than what is left still lets the first one go.
        assert_eq!(pacing_room(now, end, 86_400, None, None), 1);
        assert_eq!(pacing_room(now, end, 0, None, Some(20)), 40);
        assert_eq!(pacing_room(now, end, 0, Some(2), None), 240);
        // The tightest rule wins.
        assert_eq!(pacing_room(now, end, 600, Some(2), Some(5)), 10);
        // A part of a period begun counts whole: 90 minutes are two hours begun.
        assert_eq!(
            pacing_room(at("2026-12-04T22:30:00Z"), end, 0, None, Some(20)),
            40
        );
        assert_eq!(
            pacing_room(at("2026-12-04T23:59:59.500Z"), end, 0, None, Some(20)),
            20
        );
    }

    #[test]
    fn nothing_fits_once_the_day_is_over() {
        let end = at("2026-12-05T00:00:00Z");
        assert_eq!(pacing_room(end, end, 0, None, None), 0);
        assert_eq!(
            pacing_room(at("2026-12-05T00:00:01Z"), end, 60, None, Some(5)),
            0
        );
    }
}
