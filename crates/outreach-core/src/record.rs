//! Turning one CSV row into a validated, normalised candidate prospect.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::mapping::{ColumnMapping, Field, custom_key};
use crate::normalize::{
    clean_text, normalize_country, normalize_email, normalize_linkedin_url, normalize_time_zone,
    normalize_website, normalize_x_handle, parse_followers,
};

/// One problem with one cell of a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FieldError {
    /// The header of the offending column, or empty for a problem with the whole row.
    pub column: String,
    /// The value as found in the file.
    pub value: String,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

/// A prospect as read from a source, normalised and validated, before it meets the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProspectInput {
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Normalised e-mail address.
    pub email: Option<String>,
    /// The e-mail address as written in the source.
    pub email_original: Option<String>,
    /// The e-mail domain, or the website's host when there is no e-mail.
    pub domain: Option<String>,
    /// Normalised website.
    pub website: Option<String>,
    /// Normalised X handle, without `@`.
    pub x_handle: Option<String>,
    /// Normalised LinkedIn profile URL.
    pub linkedin_url: Option<String>,
    /// Instagram handle, without `@`.
    pub instagram: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// ISO 3166-1 alpha-2 code when the source named a country we recognise (`DE`), else the
    /// country or location as given.
    pub country: Option<String>,
    /// IANA time zone for the send window, overriding the country's.
    pub time_zone: Option<String>,
    /// Follower count.
    pub followers: Option<i64>,
    /// Notes.
    pub notes: Option<String>,
    /// When a LinkedIn connection was made, as given.
    pub connected_on: Option<String>,
    /// Columns kept as custom fields, by variable name (see [`crate::mapping::custom_key`]).
    pub custom: BTreeMap<String, String>,
}

impl ProspectInput {
    /// Reads one row through a mapping. Empty cells are absent values; every invalid cell is
    /// reported, not only the first, so the user can fix a row in one go.
    pub fn from_row(columns: &[ColumnMapping], cells: &[&str]) -> Result<Self, Vec<FieldError>> {
        let mut p = ProspectInput::default();
        let mut errors = Vec::new();
        let mut full_name = None;
        for col in columns {
            let Some(field) = col.field else { continue };
            let raw = cells.get(col.index as usize).copied().unwrap_or_default();
            if raw.trim().is_empty() {
                continue;
            }
            let mut fail = |message: String| {
                errors.push(FieldError {
                    column: col.header.clone(),
                    value: raw.to_string(),
                    message,
                })
            };
            match field {
                Field::Email => match normalize_email(raw) {
                    Ok(e) => {
                        p.email_original = clean_text(raw);
                        p.domain = Some(e.domain);
                        p.email = Some(e.address);
                    }
                    Err(e) => fail(e.to_string()),
                },
                Field::Website => match normalize_website(raw) {
                    Ok(w) => {
                        p.domain.get_or_insert(w.host);
                        p.website = Some(w.url);
                    }
                    Err(e) => fail(e.to_string()),
                },
                Field::XHandle => match normalize_x_handle(raw) {
                    Ok(h) => p.x_handle = Some(h),
                    Err(e) => fail(e.to_string()),
                },
                Field::LinkedinUrl => match normalize_linkedin_url(raw) {
                    Ok(u) => p.linkedin_url = Some(u),
                    Err(e) => fail(e.to_string()),
                },
                Field::Followers => match parse_followers(raw) {
                    Ok(n) => p.followers = Some(n),
                    Err(e) => fail(e.to_string()),
                },
                Field::Instagram => {
                    let h = raw.trim().trim_start_matches('@');
                    let h = h
                        .split_once("instagram.com/")
                        .map(|(_, rest)| rest.trim_matches('/'))
                        .unwrap_or(h)
                        .to_lowercase();
                    if !h.is_empty()
                        && h.len() <= 30
                        && h.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                    {
                        p.instagram = Some(h);
                    } else {
                        fail(format!("'{}' is not a valid Instagram handle", raw.trim()));
                    }
                }
                Field::FirstName => p.first_name = clean_text(raw),
                Field::LastName => p.last_name = clean_text(raw),
                Field::FullName => full_name = clean_text(raw),
                Field::Company => p.company = clean_text(raw),
                Field::Title => p.title = clean_text(raw),
                Field::Country => p.country = normalize_country(raw),
                Field::TimeZone => match normalize_time_zone(raw) {
                    Ok(z) => p.time_zone = z,
                    Err(e) => fail(e.to_string()),
                },
                Field::Notes => p.notes = clean_text(raw),
                Field::ConnectedOn => p.connected_on = clean_text(raw),
                Field::Custom => {
                    if let Some(v) = clean_text(raw) {
                        p.custom.insert(custom_key(&col.header), v);
                    }
                }
            }
        }
        if let Some(name) = full_name {
            // A separate first/last column wins over splitting a full name.
            let (first, last) = match name.rsplit_once(' ') {
                Some((f, l)) => (f.to_string(), Some(l.to_string())),
                None => (name, None),
            };
            if p.first_name.is_none() {
                p.first_name = Some(first);
            }
            if p.last_name.is_none() {
                p.last_name = last;
            }
        }
        if errors.is_empty()
            && p.email.is_none()
            && p.x_handle.is_none()
            && p.linkedin_url.is_none()
        {
            errors.push(FieldError {
                column: String::new(),
                value: String::new(),
                message: "the row has no e-mail, X handle or LinkedIn URL, so it cannot identify a prospect".into(),
            });
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(errors)
        }
    }

    /// Fills this record's missing values from `other`. Values already present are kept: a
    /// second import must never silently overwrite what a person has edited.
    pub fn fill_from(&mut self, other: &ProspectInput) {
        fn fill<T: Clone>(a: &mut Option<T>, b: &Option<T>) {
            if a.is_none() {
                a.clone_from(b);
            }
        }
        fill(&mut self.first_name, &other.first_name);
        fill(&mut self.last_name, &other.last_name);
        if self.email.is_none() {
            self.email.clone_from(&other.email);
            self.email_original.clone_from(&other.email_original);
            if other.email.is_some() {
                self.domain.clone_from(&other.domain);
            }
        }
        fill(&mut self.domain, &other.domain);
        fill(&mut self.website, &other.website);
        fill(&mut self.x_handle, &other.x_handle);
        fill(&mut self.linkedin_url, &other.linkedin_url);
        fill(&mut self.instagram, &other.instagram);
        fill(&mut self.company, &other.company);
        fill(&mut self.title, &other.title);
        fill(&mut self.country, &other.country);
        fill(&mut self.time_zone, &other.time_zone);
        fill(&mut self.followers, &other.followers);
        fill(&mut self.notes, &other.notes);
        fill(&mut self.connected_on, &other.connected_on);
        for (k, v) in &other.custom {
            self.custom.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::auto_map;

    fn map(headers: &[&str]) -> Vec<ColumnMapping> {
        auto_map(&headers.iter().map(|s| s.to_string()).collect::<Vec<_>>()).1
    }

    #[test]
    fn a_good_row_is_normalised() {
        let cols = map(&[
            "Name",
            "Email",
            "Website",
            "Twitter",
            "Followers",
            "Company",
        ]);
        let p = ProspectInput::from_row(
            &cols,
            &[
                " Ada  Lovelace ",
                "Ada@Engines.example ",
                "https://engines.example/",
                "@AdaL",
                "12.5k",
                "Analytical\nEngines",
            ],
        )
        .unwrap();
        assert_eq!(p.first_name.as_deref(), Some("Ada"));
        assert_eq!(p.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(p.email.as_deref(), Some("ada@engines.example"));
        assert_eq!(p.email_original.as_deref(), Some("Ada@Engines.example"));
        assert_eq!(p.domain.as_deref(), Some("engines.example"));
        assert_eq!(p.website.as_deref(), Some("https://engines.example"));
        assert_eq!(p.x_handle.as_deref(), Some("adal"));
        assert_eq!(p.followers, Some(12_500));
        assert_eq!(p.company.as_deref(), Some("Analytical Engines"));
    }

    #[test]
    fn every_bad_cell_is_reported() {
        let cols = map(&["Email", "Twitter", "Followers"]);
        let errs = ProspectInput::from_row(&cols, &["not-an-email", "@x y", "lots"]).unwrap_err();
        let columns: Vec<&str> = errs.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(columns, vec!["Email", "Twitter", "Followers"]);
        assert!(errs[0].message.contains("not-an-email"));
    }

    #[test]
    fn a_row_without_identity_is_rejected() {
        let cols = map(&["Email", "Company"]);
        let errs = ProspectInput::from_row(&cols, &["", "Acme"]).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.contains("cannot identify"));
    }

    #[test]
    fn short_rows_read_missing_cells_as_empty() {
        let cols = map(&["Email", "Company", "Country"]);
        let p = ProspectInput::from_row(&cols, &["a@b.example"]).unwrap();
        assert_eq!(p.company, None);
    }

    #[test]
    fn a_recognised_country_is_stored_as_its_code() {
        let cols = map(&["Email", "Country"]);
        for (typed, stored) in [
            ("Germany", "DE"),
            ("Deutschland", "DE"),
            ("DEU", "DE"),
            ("uk", "GB"),
            ("España", "ES"),
        ] {
            let p = ProspectInput::from_row(&cols, &["a@b.example", typed]).unwrap();
            assert_eq!(p.country.as_deref(), Some(stored), "{typed}");
        }
    }

    #[test]
    fn a_time_zone_column_is_checked_and_stored_as_the_database_spells_it() {
        let cols = map(&["Email", "Time Zone"]);
        assert_eq!(cols[1].field, Some(Field::TimeZone));
        let p = ProspectInput::from_row(&cols, &["a@b.example", " america/new_york "]).unwrap();
        assert_eq!(p.time_zone.as_deref(), Some("America/New_York"));
        let blank = ProspectInput::from_row(&cols, &["a@b.example", "  "]).unwrap();
        assert_eq!(blank.time_zone, None);
        // A typo must not silently fall back to another zone: the row is refused, with why.
        let errs = ProspectInput::from_row(&cols, &["a@b.example", "Europe/Berln"]).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].column, "Time Zone");
        assert!(errs[0].message.contains("IANA"), "{}", errs[0].message);
    }

    #[test]
    fn an_unrecognised_location_is_kept_and_the_row_accepted() {
        let cols = map(&["Email", "Location"]);
        assert_eq!(cols[1].field, Some(Field::Country));
        let p = ProspectInput::from_row(&cols, &["a@b.example", " Greater  Munich Area "]).unwrap();
        assert_eq!(p.country.as_deref(), Some("Greater Munich Area"));
    }

    #[test]
    fn fill_from_keeps_existing_values() {
        let mut a = ProspectInput {
            email: Some("a@b.example".into()),
            company: Some("Kept".into()),
            ..Default::default()
        };
        let b = ProspectInput {
            email: Some("other@c.example".into()),
            company: Some("Ignored".into()),
            title: Some("Filled".into()),
            ..Default::default()
        };
        a.fill_from(&b);
        assert_eq!(a.email.as_deref(), Some("a@b.example"));
        assert_eq!(a.company.as_deref(), Some("Kept"));
        assert_eq!(a.title.as_deref(), Some("Filled"));
    }
}
