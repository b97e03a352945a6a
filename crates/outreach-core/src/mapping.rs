//! Which CSV column means which prospect field.
//!
//! Exports from LinkedIn, Sales Navigator and SEO tools name the same thing many ways; the
//! detector folds a header to its letters and digits and looks it up in a table of known names,
//! so `Email Address`, `E-mail` and `email_address` all land on [`Field::Email`]. The user can
//! then correct any column before importing.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A prospect field a CSV column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Given name.
    FirstName,
    /// Family name.
    LastName,
    /// A whole name, split into first and last when those are not mapped.
    FullName,
    /// E-mail address.
    Email,
    /// Website or domain.
    Website,
    /// X (Twitter) handle or profile URL.
    XHandle,
    /// LinkedIn profile URL.
    LinkedinUrl,
    /// Instagram handle.
    Instagram,
    /// Company or account name.
    Company,
    /// Job title or position.
    Title,
    /// Country or location.
    Country,
    /// IANA time zone (`Europe/Berlin`) for the send window, overriding the country's.
    TimeZone,
    /// Follower count on the main social profile.
    Followers,
    /// Free-text notes.
    Notes,
    /// The date a LinkedIn connection was made.
    ConnectedOn,
    /// Kept as a custom field named after the column (`Last post` -> `last_post`), which
    /// templates can use for personalisation.
    Custom,
}

impl Field {
    /// Every field, in the order the mapping step lists them.
    pub const ALL: [Field; 16] = [
        Self::FirstName,
        Self::LastName,
        Self::FullName,
        Self::Email,
        Self::Website,
        Self::XHandle,
        Self::LinkedinUrl,
        Self::Instagram,
        Self::Company,
        Self::Title,
        Self::Country,
        Self::TimeZone,
        Self::Followers,
        Self::Notes,
        Self::ConnectedOn,
        Self::Custom,
    ];

    /// The name used on the command line (`--map "Email Address=email"`) and in the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::FullName => "full_name",
            Self::Email => "email",
            Self::Website => "website",
            Self::XHandle => "x_handle",
            Self::LinkedinUrl => "linkedin_url",
            Self::Instagram => "instagram",
            Self::Company => "company",
            Self::Title => "title",
            Self::Country => "country",
            Self::TimeZone => "time_zone",
            Self::Followers => "followers",
            Self::Notes => "notes",
            Self::ConnectedOn => "connected_on",
            Self::Custom => "custom",
        }
    }

    /// Parses a field name as written on the command line.
    pub fn parse(s: &str) -> Option<Self> {
        let key = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Self::ALL.into_iter().find(|f| f.as_str() == key)
    }

    /// Whether this field can identify a prospect on its own (and so de-duplicate it).
    pub fn is_identity(self) -> bool {
        matches!(self, Self::Email | Self::XHandle | Self::LinkedinUrl)
    }
}

/// Where a batch of prospects came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    /// LinkedIn's own "Connections.csv" export.
    LinkedinExport,
    /// A Sales Navigator style lead export.
    SalesNavigator,
    /// Any other CSV file.
    Csv,
    /// Entered by hand.
    Manual,
    /// The built-in demo data.
    Demo,
}

impl SourceType {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LinkedinExport => "linkedin_export",
            Self::SalesNavigator => "sales_navigator",
            Self::Csv => "csv",
            Self::Manual => "manual",
            Self::Demo => "demo",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::LinkedinExport,
            Self::SalesNavigator,
            Self::Csv,
            Self::Manual,
            Self::Demo,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// One CSV column and the field it fills, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ColumnMapping {
    /// Zero-based column position.
    pub index: u32,
    /// The header as written in the file.
    pub header: String,
    /// The field the column fills; `None` to skip the column.
    pub field: Option<Field>,
}

/// Folds a header to lower-case letters and digits: `E-mail Address` -> `emailaddress`.
fn fold(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The variable name a custom column is stored and used under: lower-case ASCII letters, digits
/// and underscores (`Last Post` -> `last_post`, `Commission %` -> `commission`).
pub fn custom_key(header: &str) -> String {
    let mut key = String::new();
    for c in header.trim_start_matches('\u{feff}').chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    while key.ends_with('_') {
        key.pop();
    }
    if key.starts_with(|c: char| c.is_ascii_digit()) {
        key.insert(0, '_');
    }
    key
}

fn known_field(folded: &str, source: SourceType) -> Option<Field> {
    use Field::*;
    Some(match folded {
        "firstname" | "first" | "givenname" | "forename" | "prenom" | "vorname" => FirstName,
        "lastname" | "last" | "surname" | "familyname" | "nachname" => LastName,
        "name" | "fullname" | "contactname" | "leadname" | "contact" | "person" => FullName,
        "email" | "emailaddress" | "mail" | "workemail" | "businessemail" | "emailid"
        | "contactemail" | "primaryemail" => Email,
        // LinkedIn's Connections.csv calls the profile link plain "URL".
        "url" if source == SourceType::LinkedinExport => LinkedinUrl,
        "website" | "site" | "web" | "url" | "homepage" | "companywebsite" | "websiteurl"
        | "domain" | "companydomain" | "blog" => Website,
        "twitter" | "x" | "xhandle" | "twitterhandle" | "twitterusername" | "twitterurl"
        | "xprofile" | "twitterprofile" | "xurl" => XHandle,
        "linkedin" | "linkedinurl" | "linkedinprofile" | "profileurl" | "linkedinprofileurl"
        | "personlinkedinurl" | "salesnavigatorurl" | "leadurl" => LinkedinUrl,
        "instagram" | "instagramhandle" | "ig" => Instagram,
        "company" | "companyname" | "organization" | "organisation" | "accountname"
        | "employer" | "account" | "brand" => Company,
        "title" | "position" | "jobtitle" | "role" | "headline" | "currenttitle" => Title,
        "country" | "location" | "geography" | "countrycode" | "region" | "leadgeography" => {
            Country
        }
        "timezone" | "tz" | "localtimezone" | "ianatimezone" => TimeZone,
        "followers" | "followercount" | "followerscount" | "audience" | "twitterfollowers"
        | "audiencesize" | "subscribers" => Followers,
        "notes" | "note" | "comments" | "comment" | "description" => Notes,
        "connectedon" | "connectiondate" => ConnectedOn,
        _ => return None,
    })
}

/// Guesses the kind of export from its headers.
pub fn detect_source(headers: &[String]) -> SourceType {
    let folded: Vec<String> = headers.iter().map(|h| fold(h)).collect();
    let has = |name: &str| folded.iter().any(|h| h == name);
    if has("connectedon") && has("firstname") && has("url") {
        SourceType::LinkedinExport
    } else if has("accountname")
        || has("profileurl") && has("geography")
        || has("salesnavigatorurl")
        || has("leadgeography")
    {
        SourceType::SalesNavigator
    } else {
        SourceType::Csv
    }
}

/// Maps each header to a field. A field is given to the first column that claims it; later
/// columns that would claim it again are left unmapped for the user to decide.
pub fn auto_map(headers: &[String]) -> (SourceType, Vec<ColumnMapping>) {
    let source = detect_source(headers);
    let mut taken = Vec::new();
    let columns = headers
        .iter()
        .enumerate()
        .map(|(i, header)| {
            let field = match known_field(&fold(header), source) {
                Some(f) if taken.contains(&f) => None,
                Some(f) => {
                    taken.push(f);
                    Some(f)
                }
                // Other columns are kept for personalisation unless the user skips them.
                None if !custom_key(header).is_empty() => Some(Field::Custom),
                None => None,
            };
            ColumnMapping {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                header: header.trim_start_matches('\u{feff}').to_string(),
                field,
            }
        })
        .collect();
    (source, columns)
}

/// A mapping that cannot be imported, with the reason shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// Two columns fill the same field.
    #[error(
        "columns '{first}' and '{second}' are both mapped to {field}; map one of them to another field or skip it"
    )]
    FieldTwice {
        /// The field.
        field: &'static str,
        /// The first column's header.
        first: String,
        /// The second column's header.
        second: String,
    },
    /// Nothing identifies a prospect.
    #[error(
        "no column is mapped to email, x_handle or linkedin_url, so no row could identify a prospect (columns: {0})"
    )]
    NoIdentity(String),
    /// A header appears twice and at least one of the copies is mapped.
    #[error(
        "the header '{0}' appears more than once; rename the columns so each is unique, or skip the copies"
    )]
    DuplicateHeader(String),
}

/// Checks that a mapping can be imported: no field filled twice, no ambiguous header used,
/// and at least one identity column.
pub fn validate_mapping(columns: &[ColumnMapping]) -> Result<(), MappingError> {
    for (i, a) in columns.iter().enumerate() {
        for b in &columns[i + 1..] {
            let both_custom = a.field == Some(Field::Custom) && b.field == Some(Field::Custom);
            if both_custom && custom_key(&a.header) == custom_key(&b.header) {
                return Err(MappingError::DuplicateHeader(a.header.clone()));
            }
            if a.field.is_some() && a.field == b.field && !both_custom {
                return Err(MappingError::FieldTwice {
                    field: a.field.map(Field::as_str).unwrap_or_default(),
                    first: a.header.clone(),
                    second: b.header.clone(),
                });
            }
            if fold(&a.header) == fold(&b.header)
                && !a.header.trim().is_empty()
                && (a.field.is_some() || b.field.is_some())
            {
                return Err(MappingError::DuplicateHeader(a.header.clone()));
            }
        }
    }
    if !columns
        .iter()
        .any(|c| c.field.is_some_and(Field::is_identity))
    {
        let names: Vec<&str> = columns.iter().map(|c| c.header.as_str()).collect();
        return Err(MappingError::NoIdentity(names.join(", ")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn fields(cols: &[ColumnMapping]) -> Vec<Option<Field>> {
        cols.iter().map(|c| c.field).collect()
    }

    #[test]
    fn linkedin_connections_export_is_recognised() {
        let h = headers(&[
            "\u{feff}First Name",
            "Last Name",
            "URL",
            "Email Address",
            "Company",
            "Position",
            "Connected On",
        ]);
        let (source, cols) = auto_map(&h);
        assert_eq!(source, SourceType::LinkedinExport);
        use Field::*;
        assert_eq!(
            fields(&cols),
            vec![
                Some(FirstName),
                Some(LastName),
                Some(LinkedinUrl),
                Some(Email),
                Some(Company),
                Some(Title),
                Some(ConnectedOn)
            ]
        );
        assert_eq!(cols[0].header, "First Name");
        assert!(validate_mapping(&cols).is_ok());
    }

    #[test]
    fn sales_navigator_export_is_recognised() {
        let h = headers(&[
            "First Name",
            "Last Name",
            "Title",
            "Account Name",
            "Geography",
            "Profile URL",
            "Email",
        ]);
        let (source, cols) = auto_map(&h);
        assert_eq!(source, SourceType::SalesNavigator);
        assert_eq!(cols[3].field, Some(Field::Company));
        assert_eq!(cols[4].field, Some(Field::Country));
        assert_eq!(cols[5].field, Some(Field::LinkedinUrl));
    }

    #[test]
    fn generic_headers_and_plain_url_as_website() {
        let h = headers(&[
            "name",
            "e-mail",
            "URL",
            "twitter",
            "LinkedIn",
            "company",
            "title",
            "country",
            "followers",
            "mystery",
        ]);
        let (source, cols) = auto_map(&h);
        assert_eq!(source, SourceType::Csv);
        use Field::*;
        assert_eq!(
            fields(&cols),
            vec![
                Some(FullName),
                Some(Email),
                Some(Website),
                Some(XHandle),
                Some(LinkedinUrl),
                Some(Company),
                Some(Title),
                Some(Country),
                Some(Followers),
                Some(Custom)
            ]
        );
    }

    #[test]
    fn second_claim_on_a_field_is_left_for_the_user() {
        let (_, cols) = auto_map(&headers(&["Email", "Work Email"]));
        assert_eq!(fields(&cols), vec![Some(Field::Email), None]);
    }

    #[test]
    fn invalid_mappings_are_explained() {
        let (_, mut cols) = auto_map(&headers(&["Email", "Work Email"]));
        cols[1].field = Some(Field::Email);
        assert!(matches!(
            validate_mapping(&cols),
            Err(MappingError::FieldTwice { .. })
        ));

        let (_, cols) = auto_map(&headers(&["Email", "Email"]));
        assert_eq!(
            validate_mapping(&cols),
            Err(MappingError::DuplicateHeader("Email".into()))
        );

        let (_, cols) = auto_map(&headers(&["Name", "Company"]));
        let err = validate_mapping(&cols).unwrap_err();
        assert!(err.to_string().contains("Name, Company"), "{err}");
    }

    #[test]
    fn unknown_columns_are_kept_as_custom_fields_under_a_variable_name() {
        let (_, cols) = auto_map(&headers(&[
            "Email",
            "Last Post",
            "Commission %",
            "",
            "2nd tier",
        ]));
        let fields: Vec<_> = cols.iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            [
                Some(Field::Email),
                Some(Field::Custom),
                Some(Field::Custom),
                None,
                Some(Field::Custom)
            ]
        );
        assert_eq!(custom_key("Last Post"), "last_post");
        assert_eq!(custom_key("Commission %"), "commission");
        assert_eq!(custom_key("2nd tier"), "_2nd_tier");
        assert_eq!(custom_key("--"), "");
        assert_eq!(validate_mapping(&cols), Ok(()));

        let (_, cols) = auto_map(&headers(&["Email", "last post", "Last_Post"]));
        assert!(matches!(
            validate_mapping(&cols),
            Err(MappingError::DuplicateHeader(_))
        ));
    }

    #[test]
    fn field_names_parse_loosely() {
        assert_eq!(Field::parse("x-handle"), Some(Field::XHandle));
        assert_eq!(Field::parse("First Name"), Some(Field::FirstName));
        assert_eq!(Field::parse("nope"), None);
        for f in Field::ALL {
            assert_eq!(Field::parse(f.as_str()), Some(f));
        }
    }
}
