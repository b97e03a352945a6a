//! Send windows: the days and hours, in the recipient's time zone, when a message may go out,
//! and the next instant at which one may.
//!
//! A window is a set of weekdays and one range of local wall-clock time, `[start, end)` in
//! minutes since midnight. Windows across midnight (22:00 to 02:00) are not supported: they are
//! rejected by [`SendWindow::validate`] rather than silently read as empty, because business
//! outreach has no use for them and they make "which day does this opening belong to" ambiguous.
//!
//! Time zones are honoured through their daylight-saving transitions: an instant is inside the
//! window when the recipient's clock shows an allowed day and a time in the range at that instant.
//! So on a spring-forward day a window opening at 02:30 (a time the clock skips) opens at 03:00,
//! the first time the clock shows that is past the opening; and a window entirely inside the
//! skipped hour does not open that day.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::error::ScheduleError;

/// Minutes in a civil day; also the latest end of a window (24:00).
pub const MINUTES_PER_DAY: u16 = 24 * 60;

/// How many days ahead [`next_send_time`] looks: three weeks and a day, so that even a window
/// open on one weekday only, whose opening a clock change swallowed this week, is found.
const SEARCH_DAYS: i64 = 22;

/// A day of the week, written `"mon"` … `"sun"` in JSON and TypeScript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Weekday {
    /// Monday to Friday.
    pub const WORKDAYS: [Weekday; 5] = [Self::Mon, Self::Tue, Self::Wed, Self::Thu, Self::Fri];
}

impl From<jiff::civil::Weekday> for Weekday {
    fn from(day: jiff::civil::Weekday) -> Self {
        use jiff::civil::Weekday as J;
        match day {
            J::Monday => Self::Mon,
            J::Tuesday => Self::Tue,
            J::Wednesday => Self::Wed,
            J::Thursday => Self::Thu,
            J::Friday => Self::Fri,
            J::Saturday => Self::Sat,
            J::Sunday => Self::Sun,
        }
    }
}

/// When messages may go out, in the recipient's local time.
///
/// ```json
/// { "days": ["mon", "tue", "wed", "thu", "fri"], "start_minute": 540, "end_minute": 1020 }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SendWindow {
    /// The days on which the window opens. Order and repeats do not matter.
    pub days: Vec<Weekday>,
    /// Opening time in minutes since midnight (540 = 09:00), included.
    pub start_minute: u16,
    /// Closing time in minutes since midnight (1020 = 17:00), excluded; at most 1440 (24:00).
    pub end_minute: u16,
}

impl Default for SendWindow {
    /// Office hours: Monday to Friday, 09:00 to 17:00.
    fn default() -> Self {
        Self {
            days: Weekday::WORKDAYS.to_vec(),
            start_minute: 9 * 60,
            end_minute: 17 * 60,
        }
    }
}

impl SendWindow {
    /// Checks that the window can open: at least one day, times within a day, and an opening
    /// before the closing (so no window across midnight).
    pub fn validate(&self) -> Result<(), ScheduleError> {
        if self.days.is_empty() {
            return Err(ScheduleError::NoDays);
        }
        for minute in [self.start_minute, self.end_minute] {
            if minute > MINUTES_PER_DAY {
                return Err(ScheduleError::MinuteOutOfRange { minute });
            }
        }
        if self.start_minute >= self.end_minute {
            return Err(ScheduleError::StartNotBeforeEnd {
                start: hh_mm(self.start_minute),
                end: hh_mm(self.end_minute),
            });
        }
        Ok(())
    }

    /// Whether a message may go out at `at` for a recipient in `tz`.
    pub fn contains(&self, at: Timestamp, tz: &TimeZone) -> bool {
        self.contains_local(tz.to_datetime(at))
    }

    fn contains_local(&self, local: DateTime) -> bool {
        let minute = i32::from(local.hour()) * 60 + i32::from(local.minute());
        self.allows(local.date())
            && i32::from(self.start_minute) <= minute
            && minute < i32::from(self.end_minute)
    }

    fn allows(&self, date: Date) -> bool {
        self.days.contains(&Weekday::from(date.weekday()))
    }
}

/// The earliest instant at or after `after` at which `window` is open for a recipient in `tz`:
/// `after` itself when the window is open then, else the window's next opening.
///
/// Fails when the window is invalid (see [`SendWindow::validate`]) or the search runs past the
/// calendar's range.
pub fn next_send_time(
    after: Timestamp,
    window: &SendWindow,
    tz: &TimeZone,
) -> Result<Timestamp, ScheduleError> {
    window.validate()?;
    if window.contains(after, tz) {
        return Ok(after);
    }
    // The window's open/closed state only changes where the local clock reads the opening time
    // or where the clock itself jumps (a DST transition). So the next opening is the earliest of
    // those instants that lies inside the window.
    let first_day = tz.to_datetime(after).date();
    let horizon_day = first_day
        .checked_add(Span::new().days(SEARCH_DAYS))
        .map_err(|_| ScheduleError::OutOfRange)?;
    let horizon = tz
        .to_ambiguous_timestamp(horizon_day.to_datetime(Time::midnight()))
        .earlier()
        .map_err(|_| ScheduleError::OutOfRange)?;
    let opening = Time::new(
        (window.start_minute / 60) as i8,
        (window.start_minute % 60) as i8,
        0,
        0,
    )
    .map_err(|_| ScheduleError::MinuteOutOfRange {
        minute: window.start_minute,
    })?;
    let openings = first_day
        .series(Span::new().days(1))
        .take(SEARCH_DAYS as usize)
        .filter(|date| window.allows(*date))
        .flat_map(|date| instants_showing(tz, date.to_datetime(opening)));
    let clock_jumps = tz
        .following(after)
        .map(|transition| transition.timestamp())
        .take_while(|at| *at < horizon)
        .filter(|at| window.contains(*at, tz));
    openings
        .filter(|at| *at > after && *at < horizon)
        .chain(clock_jumps)
        .min()
        .ok_or_else(|| ScheduleError::NeverOpens {
            zone: tz.iana_name().unwrap_or("(unnamed)").to_string(),
        })
}

/// Every instant at which the clock in `tz` shows `local`: none in a gap (the clock skips it),
/// two in a fold (the clock shows it twice), one otherwise.
fn instants_showing(tz: &TimeZone, local: DateTime) -> impl Iterator<Item = Timestamp> {
    let (first, second) = match tz.to_ambiguous_timestamp(local).offset() {
        AmbiguousOffset::Unambiguous { offset } => (Some(offset), None),
        AmbiguousOffset::Gap { .. } => (None, None),
        AmbiguousOffset::Fold { before, after } => (Some(before), Some(after)),
    };
    [first, second]
        .into_iter()
        .flatten()
        .filter_map(move |offset| offset.to_timestamp(local).ok())
}

/// `HH:MM` for a number of minutes since midnight, as the UI shows it.
fn hh_mm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    /// The instant at which the clock in `zone` shows `local`, taking the first one in a fold.
    fn at(zone: &str, local: &str) -> Timestamp {
        let dt: DateTime = local.parse().unwrap();
        tz(zone).to_ambiguous_timestamp(dt).earlier().unwrap()
    }

    fn local(zone: &str, ts: Timestamp) -> String {
        ts.to_zoned(tz(zone)).to_string()
    }

    fn window(days: &[Weekday], start: &str, end: &str) -> SendWindow {
        let minutes = |s: &str| {
            let t: Time = s.parse().unwrap();
            t.hour() as u16 * 60 + t.minute() as u16
        };
        SendWindow {
            days: days.to_vec(),
            start_minute: minutes(start),
            end_minute: if end == "24:00" { 1440 } else { minutes(end) },
        }
    }

    fn all_days() -> Vec<Weekday> {
        use Weekday::*;
        vec![Mon, Tue, Wed, Thu, Fri, Sat, Sun]
    }

    #[test]
    fn serialises_to_what_the_ui_edits() {
        let json = serde_json::to_value(SendWindow::default()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "start_minute": 540,
                "end_minute": 1020,
            })
        );
        let back: SendWindow = serde_json::from_value(json).unwrap();
        assert_eq!(back, SendWindow::default());
        assert!(Weekday::decl().contains("\"mon\""));
    }

    #[test]
    fn validation_names_the_problem() {
        let mut w = SendWindow::default();
        assert_eq!(w.validate(), Ok(()));
        w.days.clear();
        assert_eq!(w.validate(), Err(ScheduleError::NoDays));
        let w = window(&Weekday::WORKDAYS, "17:00", "09:00");
        let err = w.validate().unwrap_err();
        assert_eq!(
            err,
            ScheduleError::StartNotBeforeEnd {
                start: "17:00".into(),
                end: "09:00".into()
            }
        );
        assert!(err.to_string().contains("across midnight"));
        let w = window(&Weekday::WORKDAYS, "09:00", "09:00");
        assert!(matches!(
            w.validate(),
            Err(ScheduleError::StartNotBeforeEnd { .. })
        ));
        let w = SendWindow {
            end_minute: 1441,
            ..SendWindow::default()
        };
        assert_eq!(
            w.validate(),
            Err(ScheduleError::MinuteOutOfRange { minute: 1441 })
        );
        assert!(
            window(&Weekday::WORKDAYS, "00:00", "24:00")
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn an_invalid_window_is_an_error_not_a_time() {
        let w = window(&Weekday::WORKDAYS, "18:00", "08:00");
        let now = at("Europe/Berlin", "2025-06-02T12:00");
        assert!(next_send_time(now, &w, &tz("Europe/Berlin")).is_err());
    }

    #[test]
    fn inside_the_window_is_now() {
        let w = SendWindow::default();
        // Monday 2025-06-02.
        for t in ["09:00", "12:34:56", "16:59:59.999"] {
            let now = at("Europe/Berlin", &format!("2025-06-02T{t}"));
            assert_eq!(next_send_time(now, &w, &tz("Europe/Berlin")).unwrap(), now);
        }
    }

    #[test]
    fn before_opening_waits_for_the_same_day_and_after_closing_for_the_next() {
        let w = SendWindow::default();
        let berlin = tz("Europe/Berlin");
        let next = next_send_time(at("Europe/Berlin", "2025-06-02T06:15"), &w, &berlin);
        assert_eq!(
            local("Europe/Berlin", next.unwrap()),
            "2025-06-02T09:00:00+02:00[Europe/Berlin]"
        );
        // 17:00 itself is closed: the end is excluded.
        let next = next_send_time(at("Europe/Berlin", "2025-06-02T17:00"), &w, &berlin);
        assert_eq!(
            local("Europe/Berlin", next.unwrap()),
            "2025-06-03T09:00:00+02:00[Europe/Berlin]"
        );
    }

    #[test]
    fn weekends_are_skipped() {
        let w = SendWindow::default();
        let berlin = tz("Europe/Berlin");
        for from in [
            "2025-06-06T17:30", // Friday evening
            "2025-06-07T10:00", // Saturday inside office hours
            "2025-06-08T23:59", // Sunday night
            "2025-06-09T08:59", // Monday before opening
        ] {
            let next = next_send_time(at("Europe/Berlin", from), &w, &berlin).unwrap();
            assert_eq!(
                local("Europe/Berlin", next),
                "2025-06-09T09:00:00+02:00[Europe/Berlin]",
                "{from}"
            );
        }
    }

    #[test]
    fn the_window_is_read_in_the_recipients_zone() {
        let w = SendWindow::default();
        // 10:00 in Berlin on a Monday is 04:00 in New York: wait for 09:00 there.
        let now = at("Europe/Berlin", "2025-06-02T10:00");
        let next = next_send_time(now, &w, &tz("America/New_York")).unwrap();
        assert_eq!(
            local("America/New_York", next),
            "2025-06-02T09:00:00-04:00[America/New_York]"
        );
        assert_eq!(next.to_string(), "2025-06-02T13:00:00Z");
    }

    #[test]
    fn an_opening_in_the_skipped_hour_opens_when_the_clock_resumes() {
        // Europe/Berlin springs forward on Sunday 2025-03-30 from 02:00 to 03:00.
        let w = window(&all_days(), "02:30", "05:00");
        let berlin = tz("Europe/Berlin");
        let next = next_send_time(at("Europe/Berlin", "2025-03-30T00:10"), &w, &berlin).unwrap();
        assert_eq!(
            local("Europe/Berlin", next),
            "2025-03-30T03:00:00+02:00[Europe/Berlin]"
        );
        // The day before and after, the opening is the ordinary 02:30.
        let next = next_send_time(at("Europe/Berlin", "2025-03-29T00:10"), &w, &berlin).unwrap();
        assert_eq!(
            local("Europe/Berlin", next),
            "2025-03-29T02:30:00+01:00[Europe/Berlin]"
        );
        let next = next_send_time(at("Europe/Berlin", "2025-03-30T05:00"), &w, &berlin).unwrap();
        assert_eq!(
            local("Europe/Berlin", next),
            "2025-03-31T02:30:00+02:00[Europe/Berlin]"
        );
    }

    #[test]
    fn a_window_inside_the_skipped_hour_does_not_open_that_day() {
        // America/New_York springs forward on Sunday 2025-03-09 from 02:00 to 03:00.
        let w = window(&all_days(), "02:10", "02:50");
        let ny = tz("America/New_York");
        let next = next_send_time(at("America/New_York", "2025-03-09T00:00"), &w, &ny).unwrap();
        assert_eq!(
            local("America/New_York", next),
            "2025-03-10T02:10:00-04:00[America/New_York]"
        );
        // Open only on Sundays: the next one is a week later.
        let sundays = window(&[Weekday::Sun], "02:10", "02:50");
        let next = next_send_time(at("America/New_York", "2025-03-09T00:00"), &sundays, &ny);
        assert_eq!(
            local("America/New_York", next.unwrap()),
            "2025-03-16T02:10:00-04:00[America/New_York]"
        );
    }

    #[test]
    fn a_repeated_hour_opens_the_window_again() {
        // America/New_York falls back on Sunday 2025-11-02: 01:00-02:00 happens twice.
        let w = window(&all_days(), "01:30", "01:45");
        let ny = tz("America/New_York");
        let first = next_send_time(at("America/New_York", "2025-11-02T00:00"), &w, &ny).unwrap();
        assert_eq!(
            local("America/New_York", first),
            "2025-11-02T01:30:00-04:00[America/New_York]"
        );
        // Just after the first 01:45 the clock will read 01:30 again, an hour after the first.
        let after_first = first.checked_add(Span::new().minutes(20)).unwrap();
        let second = next_send_time(after_first, &w, &ny).unwrap();
        assert_eq!(
            local("America/New_York", second),
            "2025-11-02T01:30:00-05:00[America/New_York]"
        );
        assert_eq!(second.duration_since(first).as_hours(), 1);
    }

    #[test]
    fn the_clock_falling_back_into_the_window_opens_it() {
        // Europe/Berlin falls back on Sunday 2025-10-26 from 03:00 to 02:00.
        let w = window(&all_days(), "02:15", "02:45");
        let berlin = tz("Europe/Berlin");
        let after_first_pass = at("Europe/Berlin", "2025-10-26T02:50");
        let next = next_send_time(after_first_pass, &w, &berlin).unwrap();
        assert_eq!(
            local("Europe/Berlin", next),
            "2025-10-26T02:15:00+01:00[Europe/Berlin]"
        );
        // A window that the jump lands in directly opens at the jump.
        let w = window(&all_days(), "02:00", "02:30");
        let next = next_send_time(after_first_pass, &w, &berlin).unwrap();
        assert_eq!(
            local("Europe/Berlin", next),
            "2025-10-26T02:00:00+01:00[Europe/Berlin]"
        );
        assert_eq!(next.to_string(), "2025-10-26T01:00:00Z");
    }

    #[test]
    fn an_ordinary_day_after_a_transition_uses_the_new_offset() {
        let w = SendWindow::default();
        let berlin = tz("Europe/Berlin");
        // Friday before the spring change (+01:00), then Monday after it (+02:00).
        let next = next_send_time(at("Europe/Berlin", "2025-03-28T18:00"), &w, &berlin).unwrap();
        assert_eq!(next.to_string(), "2025-03-31T07:00:00Z");
    }

    #[test]
    fn the_result_is_always_inside_the_window_and_nothing_earlier_is() {
        // Every 37 minutes over a year in both zones: the answer is open, and the minute before
        // it (when later than `after`) is closed.
        let w = window(&Weekday::WORKDAYS, "08:30", "18:15");
        for zone in ["Europe/Berlin", "America/New_York"] {
            let tz = tz(zone);
            let mut now = at(zone, "2025-01-01T00:00");
            let end = at(zone, "2026-01-01T00:00");
            while now < end {
                let next = next_send_time(now, &w, &tz).unwrap();
                assert!(next >= now && w.contains(next, &tz), "{zone} {now}");
                let before = next.checked_sub(Span::new().minutes(1)).unwrap();
                if before > now {
                    assert!(!w.contains(before, &tz), "{zone} {now} -> {next}");
                }
                now = now.checked_add(Span::new().minutes(37)).unwrap();
            }
        }
    }

    #[test]
    fn fixed_offset_zones_work_too() {
        let w = SendWindow::default();
        let next =
            next_send_time("2025-06-07T12:00:00Z".parse().unwrap(), &w, &TimeZone::UTC).unwrap();
        // Saturday noon UTC: Monday 09:00 UTC.
        assert_eq!(next.to_string(), "2025-06-09T09:00:00Z");
    }
}
