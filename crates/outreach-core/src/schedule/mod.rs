//! When a message may go out: send windows in the recipient's time zone, business-day delays,
//! countries and their time zones, ramp-up and the rate governor's decision.
//!
//! Everything here is pure: the current time is always a parameter and randomness comes from a
//! caller's generator, so the engine can persist what it needs and tests can replay any moment.
//!
//! ```
//! use jiff::Timestamp;
//! use outreach_core::schedule::{next_send_time, resolve_time_zone, SendWindow};
//!
//! // A prospect in Germany with no time zone of their own, on a Saturday afternoon UTC.
//! let tz = resolve_time_zone(None, Some("Deutschland"), "UTC").unwrap();
//! let now: Timestamp = "2025-06-07T15:00:00Z".parse().unwrap();
//! let at = next_send_time(now, &SendWindow::default(), &tz).unwrap();
//! assert_eq!(at.to_string(), "2025-06-09T07:00:00Z"); // Monday 09:00 in Berlin
//! ```

pub mod business_days;
pub mod country;
pub mod day;
pub mod error;
pub mod governor;
pub mod window;
pub mod zone;

pub use business_days::add_business_days;
pub use country::{country_code, country_name, default_time_zone};
pub use day::{end_of_day, pacing_room};
pub use error::ScheduleError;
pub use governor::{
    Caps, Decision, RampUp, decide, ramp_recheck, ramped_daily_cap, random_gap, room,
};
pub use window::{SendWindow, Weekday, next_send_time};
pub use zone::resolve_time_zone;
