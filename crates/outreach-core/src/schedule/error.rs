//! Why a schedule could not be computed. The messages are shown to users as they are.

use thiserror::Error;

/// A send window, time zone or date that scheduling cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScheduleError {
    /// The window allows no day of the week.
    #[error("the send window allows no day of the week; pick at least one")]
    NoDays,
    /// A time of day past the end of the day.
    #[error("{minute} minutes after midnight is not a time of day (the most is 1440, 24:00)")]
    MinuteOutOfRange {
        /// The offending value, in minutes since midnight.
        minute: u16,
    },
    /// The window closes before (or when) it opens.
    #[error(
        "the send window must open before it closes ({start} is not before {end}); \
         windows across midnight are not supported"
    )]
    StartNotBeforeEnd {
        /// The opening time, `HH:MM`.
        start: String,
        /// The closing time, `HH:MM`.
        end: String,
    },
    /// A time zone name the bundled time zone database does not know.
    #[error("'{name}' is not a known time zone (expected an IANA name such as Europe/Berlin)")]
    UnknownTimeZone {
        /// The name as given.
        name: String,
    },
    /// No opening of the window was found in the weeks searched; only possible in a zone whose
    /// clock skips the whole window on every allowed day, which no real zone does.
    #[error("the send window never opens in time zone {zone}")]
    NeverOpens {
        /// The zone's name.
        zone: String,
    },
    /// The result would fall outside the dates the calendar supports (years -9999 to 9999).
    #[error("the date is outside the supported range")]
    OutOfRange,
}
