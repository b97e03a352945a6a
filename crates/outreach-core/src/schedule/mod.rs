//! When a message may go out: send windows in the recipient's time zone, business-day delays,
//! countries and their time zones, ramp-up and the rate governor's decision.
