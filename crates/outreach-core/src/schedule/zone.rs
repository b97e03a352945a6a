//! Which time zone a recipient's send window is read in.

use jiff::tz::TimeZone;

use super::country::{country_code, default_time_zone};
use super::error::ScheduleError;

/// The zone to schedule a recipient in: the prospect's own zone when one is set, else the
/// single zone of their country when it has one (see
/// [`default_time_zone`](super::country::default_time_zone)), else the workspace's default.
///
/// `country` may be an ISO code or a name as typed (`"Deutschland"`). A blank `explicit` counts
/// as unset; an unknown zone name, whether the prospect's or the workspace's, is an error naming
/// it rather than a silent fallback, so a typo cannot send at 3 a.m.
pub fn resolve_time_zone(
    explicit: Option<&str>,
    country: Option<&str>,
    workspace_default: &str,
) -> Result<TimeZone, ScheduleError> {
    let from_country = || country.and_then(country_code).and_then(default_time_zone);
    let name = explicit
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .or_else(from_country)
        .unwrap_or(workspace_default.trim());
    TimeZone::get(name).map_err(|_| ScheduleError::UnknownTimeZone {
        name: name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(zone: Result<TimeZone, ScheduleError>) -> String {
        zone.unwrap().iana_name().unwrap().to_string()
    }

    #[test]
    fn an_explicit_zone_wins() {
        let zone = resolve_time_zone(Some("America/Chicago"), Some("DE"), "Europe/Paris");
        assert_eq!(name(zone), "America/Chicago");
    }

    #[test]
    fn the_country_zone_comes_next() {
        assert_eq!(
            name(resolve_time_zone(None, Some("DE"), "Europe/Paris")),
            "Europe/Berlin"
        );
        assert_eq!(
            name(resolve_time_zone(
                Some("  "),
                Some("España"),
                "Europe/Paris"
            )),
            "Europe/Madrid"
        );
    }

    #[test]
    fn the_workspace_default_is_the_last_resort() {
        for country in [None, Some("US"), Some("Atlantis")] {
            assert_eq!(
                name(resolve_time_zone(None, country, "Europe/Paris")),
                "Europe/Paris"
            );
        }
    }

    #[test]
    fn unknown_names_are_errors_that_name_them() {
        let err = resolve_time_zone(Some("Europe/Berln"), Some("DE"), "UTC").unwrap_err();
        assert_eq!(
            err,
            ScheduleError::UnknownTimeZone {
                name: "Europe/Berln".into()
            }
        );
        assert!(err.to_string().contains("Europe/Berln"));
        let err = resolve_time_zone(None, None, "Mars/Olympus").unwrap_err();
        assert!(err.to_string().contains("Mars/Olympus"));
    }
}
