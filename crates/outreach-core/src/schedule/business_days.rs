//! Delays counted in business days (Monday to Friday) in the recipient's time zone, as
//! sequence steps express them ("3 business days after the first e-mail").
//!
//! Public holidays are not known here: they differ by country and region and change yearly,
//! and a follow-up landing on one is harmless.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

use super::error::ScheduleError;

/// `from` moved forward by `days` business days in `tz`, keeping the local time of day.
///
/// Zero days is `from` itself, even on a weekend. From a Saturday or Sunday, the first business
/// day is the Monday. When the local time does not exist on the target day (a clock change
/// skipped it) the instant is moved forward by the length of the gap; when it exists twice, the
/// first one is taken. Fails only past the calendar's range (year 9999).
pub fn add_business_days(
    from: Timestamp,
    days: u32,
    tz: &TimeZone,
) -> Result<Timestamp, ScheduleError> {
    if days == 0 {
        return Ok(from);
    }
    let local = tz.to_datetime(from);
    // Counting from the Friday before a weekend gives the same days (Monday is the first) and
    // lets whole weeks be added as seven calendar days.
    let back_to_friday = match local.date().weekday() {
        Weekday::Saturday => 1,
        Weekday::Sunday => 2,
        _ => 0,
    };
    let mut date = add_days(local.date(), -back_to_friday)?;
    date = add_days(date, i64::from(days / 5) * 7)?;
    for _ in 0..days % 5 {
        let step = match date.weekday() {
            Weekday::Friday => 3,
            Weekday::Saturday => 2,
            _ => 1,
        };
        date = add_days(date, step)?;
    }
    tz.to_ambiguous_timestamp(date.to_datetime(local.time()))
        .compatible()
        .map_err(|_| ScheduleError::OutOfRange)
}

fn add_days(date: Date, days: i64) -> Result<Date, ScheduleError> {
    Span::new()
        .try_days(days)
        .and_then(|span| date.checked_add(span))
        .map_err(|_| ScheduleError::OutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::DateTime;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn at(zone: &str, local: &str) -> Timestamp {
        let dt: DateTime = local.parse().unwrap();
        tz(zone).to_ambiguous_timestamp(dt).earlier().unwrap()
    }

    fn add(zone: &str, local: &str, days: u32) -> String {
        let result = add_business_days(at(zone, local), days, &tz(zone)).unwrap();
        result.to_zoned(tz(zone)).datetime().to_string()
    }

    #[test]
    fn zero_days_is_the_same_instant() {
        let saturday = at("Europe/Berlin", "2025-06-07T11:22:33");
        assert_eq!(
            add_business_days(saturday, 0, &tz("Europe/Berlin")).unwrap(),
            saturday
        );
    }

    #[test]
    fn weekdays_count_and_weekends_do_not() {
        let z = "Europe/Berlin";
        // 2025-06-02 is a Monday.
        assert_eq!(add(z, "2025-06-02T10:15", 1), "2025-06-03T10:15:00");
        assert_eq!(add(z, "2025-06-02T10:15", 4), "2025-06-06T10:15:00");
        assert_eq!(add(z, "2025-06-02T10:15", 5), "2025-06-09T10:15:00");
        assert_eq!(add(z, "2025-06-06T10:15", 1), "2025-06-09T10:15:00");
        assert_eq!(add(z, "2025-06-05T10:15", 3), "2025-06-10T10:15:00");
        assert_eq!(add(z, "2025-06-02T10:15", 10), "2025-06-16T10:15:00");
        assert_eq!(add(z, "2025-06-04T10:15", 12), "2025-06-20T10:15:00");
    }

    #[test]
    fn from_a_weekend_monday_is_the_first_business_day() {
        let z = "Europe/Berlin";
        assert_eq!(add(z, "2025-06-07T08:00", 1), "2025-06-09T08:00:00");
        assert_eq!(add(z, "2025-06-08T08:00", 1), "2025-06-09T08:00:00");
        assert_eq!(add(z, "2025-06-07T08:00", 5), "2025-06-13T08:00:00");
        assert_eq!(add(z, "2025-06-08T08:00", 6), "2025-06-16T08:00:00");
    }

    #[test]
    fn matches_counting_one_day_at_a_time() {
        let z = tz("America/New_York");
        let mut start = at("America/New_York", "2025-01-01T09:30");
        for _ in 0..60 {
            let mut stepped = start;
            for days in 0..25u32 {
                assert_eq!(add_business_days(start, days, &z).unwrap(), stepped);
                stepped = add_business_days(stepped, 1, &z).unwrap();
                let weekday = stepped.to_zoned(z.clone()).weekday();
                assert!(!matches!(weekday, Weekday::Saturday | Weekday::Sunday));
            }
            start = start.checked_add(Span::new().hours(29)).unwrap();
        }
    }

    #[test]
    fn local_time_is_kept_across_clock_changes() {
        // Berlin moves from +01:00 to +02:00 on 2025-03-30, so the UTC time shifts.
        let from = at("Europe/Berlin", "2025-03-28T09:00");
        let next = add_business_days(from, 1, &tz("Europe/Berlin")).unwrap();
        assert_eq!(from.to_string(), "2025-03-28T08:00:00Z");
        assert_eq!(next.to_string(), "2025-03-31T07:00:00Z");
        assert_eq!(
            add("America/New_York", "2025-10-31T16:00", 1),
            "2025-11-03T16:00:00"
        );
    }

    #[test]
    fn a_skipped_local_time_moves_forward_and_a_repeated_one_takes_the_first() {
        // Israel springs forward on Friday 2025-03-28 at 02:00 to 03:00.
        let z = "Asia/Jerusalem";
        let next = add_business_days(at(z, "2025-03-27T02:30"), 1, &tz(z)).unwrap();
        assert_eq!(
            next.to_zoned(tz(z)).to_string(),
            "2025-03-28T03:30:00+03:00[Asia/Jerusalem]"
        );
        // Egypt falls back at the end of Thursday 2025-10-30: 23:00-24:00 happens twice.
        let z = "Africa/Cairo";
        let next = add_business_days(at(z, "2025-10-29T23:30"), 1, &tz(z)).unwrap();
        assert_eq!(
            next.to_zoned(tz(z)).to_string(),
            "2025-10-30T23:30:00+03:00[Africa/Cairo]"
        );
    }

    #[test]
    fn absurd_delays_are_errors_not_panics() {
        let now = at("Europe/Berlin", "2025-06-02T10:00");
        assert_eq!(
            add_business_days(now, u32::MAX, &tz("Europe/Berlin")),
            Err(ScheduleError::OutOfRange)
        );
    }
}
