//! Countries as people type them, turned into ISO 3166-1 alpha-2 codes, and the time zone a
//! country implies when it has only one.
//!
//! The ISO table (codes and English short names) comes from `rust_iso3166`; what ISO does not
//! list is added here: the names people actually write in CSV files (`UK`, `USA`, `Holland`),
//! native names (`Deutschland`, `España`, `Österreich`) and the short forms of ISO's formal names
//! (`Bolivia` for "Bolivia (Plurinational State of)"). Matching ignores case, accents,
//! punctuation and a leading "the", so `u.s.a.`, `ÖSTERREICH` and `the Netherlands` all match.

use std::collections::HashMap;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Names and abbreviations that are not in the ISO table, with the country they mean.
///
/// Only unambiguous ones: "Korea" is here because in business lists it means the Republic of
/// Korea, "Georgia" is not needed (ISO already has it) and "Congo" stays with ISO's meaning.
const ALIASES: &[(&str, &str)] = &[
    ("America", "US"),
    ("Estados Unidos", "US"),
    ("États-Unis", "US"),
    ("U.S.", "US"),
    ("U.S.A.", "US"),
    ("United States", "US"),
    ("USA", "US"),
    ("Vereinigte Staaten", "US"),
    ("Britain", "GB"),
    ("England", "GB"),
    ("Great Britain", "GB"),
    ("Großbritannien", "GB"),
    ("Northern Ireland", "GB"),
    ("Regno Unito", "GB"),
    ("Reino Unido", "GB"),
    ("Royaume-Uni", "GB"),
    ("Scotland", "GB"),
    ("U.K.", "GB"),
    ("UK", "GB"),
    ("United Kingdom", "GB"),
    ("Vereinigtes Königreich", "GB"),
    ("Wales", "GB"),
    ("Alemania", "DE"),
    ("Allemagne", "DE"),
    ("BRD", "DE"),
    ("Bundesrepublik Deutschland", "DE"),
    ("Deutschland", "DE"),
    ("Duitsland", "DE"),
    ("Federal Republic of Germany", "DE"),
    ("Germania", "DE"),
    ("Niemcy", "DE"),
    ("Tyskland", "DE"),
    ("Autriche", "AT"),
    ("Oesterreich", "AT"),
    ("Österreich", "AT"),
    ("Confoederatio Helvetica", "CH"),
    ("Helvetia", "CH"),
    ("Schweiz", "CH"),
    ("Suisse", "CH"),
    ("Svizra", "CH"),
    ("Svizzera", "CH"),
    ("Holland", "NL"),
    ("Nederland", "NL"),
    ("Niederlande", "NL"),
    ("Países Bajos", "NL"),
    ("Pays-Bas", "NL"),
    ("Belgien", "BE"),
    ("Belgio", "BE"),
    ("Belgique", "BE"),
    ("België", "BE"),
    ("Lëtzebuerg", "LU"),
    ("Luxemburg", "LU"),
    ("Francia", "FR"),
    ("Frankreich", "FR"),
    ("Espagne", "ES"),
    ("España", "ES"),
    ("Spagna", "ES"),
    ("Spanien", "ES"),
    ("Italia", "IT"),
    ("Italie", "IT"),
    ("Italien", "IT"),
    ("Pologne", "PL"),
    ("Polen", "PL"),
    ("Polska", "PL"),
    ("Česká republika", "CZ"),
    ("Česko", "CZ"),
    ("Czech Republic", "CZ"),
    ("République tchèque", "CZ"),
    ("Tschechien", "CZ"),
    ("Slovak Republic", "SK"),
    ("Slovensko", "SK"),
    ("Slowakei", "SK"),
    ("Slovenija", "SI"),
    ("Slowenien", "SI"),
    ("Hrvatska", "HR"),
    ("Kroatien", "HR"),
    ("Magyarország", "HU"),
    ("Ungarn", "HU"),
    ("România", "RO"),
    ("Rumänien", "RO"),
    ("Bulgarien", "BG"),
    ("България", "BG"),
    // The European Union writes Greece as EL; it is not an ISO code, so it cannot clash.
    ("EL", "GR"),
    ("Griechenland", "GR"),
    ("Grèce", "GR"),
    ("Hellas", "GR"),
    ("Ελλάδα", "GR"),
    ("Zypern", "CY"),
    ("Κύπρος", "CY"),
    ("Danmark", "DK"),
    ("Dänemark", "DK"),
    ("Schweden", "SE"),
    ("Suède", "SE"),
    ("Sverige", "SE"),
    ("Norge", "NO"),
    ("Noreg", "NO"),
    ("Norwegen", "NO"),
    ("Finnland", "FI"),
    ("Suomi", "FI"),
    ("Ísland", "IS"),
    ("Eesti", "EE"),
    ("Estland", "EE"),
    ("Latvija", "LV"),
    ("Lettland", "LV"),
    ("Lietuva", "LT"),
    ("Litauen", "LT"),
    ("Éire", "IE"),
    ("Irland", "IE"),
    ("Republic of Ireland", "IE"),
    ("Turkey", "TR"),
    ("Türkei", "TR"),
    ("Turquie", "TR"),
    ("Russia", "RU"),
    ("Russland", "RU"),
    ("Россия", "RU"),
    ("Ukraina", "UA"),
    ("Україна", "UA"),
    ("Macedonia", "MK"),
    ("Bosnia", "BA"),
    ("Bosnia-Herzegovina", "BA"),
    ("Vatican", "VA"),
    ("Vatican City", "VA"),
    ("Korea", "KR"),
    ("Republic of Korea", "KR"),
    ("South Korea", "KR"),
    ("North Korea", "KP"),
    ("People's Republic of China", "CN"),
    ("PRC", "CN"),
    ("中国", "CN"),
    ("Nippon", "JP"),
    ("日本", "JP"),
    ("Vietnam", "VN"),
    ("Laos", "LA"),
    ("Syria", "SY"),
    ("Brunei", "BN"),
    ("Burma", "MM"),
    ("East Timor", "TL"),
    ("Macau", "MO"),
    ("Emirates", "AE"),
    ("U.A.E.", "AE"),
    ("UAE", "AE"),
    ("KSA", "SA"),
    ("Bharat", "IN"),
    ("Aotearoa", "NZ"),
    ("Kanada", "CA"),
    ("Mexiko", "MX"),
    ("México", "MX"),
    ("Brasil", "BR"),
    ("Brasilien", "BR"),
    ("Cape Verde", "CV"),
    ("Congo-Brazzaville", "CG"),
    ("Republic of the Congo", "CG"),
    ("Congo-Kinshasa", "CD"),
    ("Democratic Republic of the Congo", "CD"),
    ("DR Congo", "CD"),
    ("DRC", "CD"),
    ("Ivory Coast", "CI"),
    ("Swaziland", "SZ"),
    ("Trinidad", "TT"),
    ("St Kitts and Nevis", "KN"),
    ("St Lucia", "LC"),
    ("St Vincent and the Grenadines", "VC"),
    ("British Virgin Islands", "VG"),
    ("BVI", "VG"),
    ("US Virgin Islands", "VI"),
    ("USVI", "VI"),
];

/// Display names for the codes whose ISO short name is a formal one nobody writes in a UI, or
/// whose parenthesised qualifier cannot simply be dropped (two Koreas, two Congos).
const DISPLAY_NAMES: &[(&str, &str)] = &[
    ("BN", "Brunei"),
    ("CD", "DR Congo"),
    ("GB", "United Kingdom"),
    ("KP", "North Korea"),
    ("KR", "South Korea"),
    ("LA", "Laos"),
    ("RU", "Russia"),
    ("SY", "Syria"),
    ("US", "United States"),
    ("VG", "British Virgin Islands"),
    ("VI", "U.S. Virgin Islands"),
    ("VN", "Vietnam"),
];

/// The IANA zone of each country that has one UTC offset (and one daylight-saving rule) for
/// practically all of its population, as of the bundled time zone database.
///
/// The rule: a country is listed when every part of it where people live keeps the same civil
/// time, ignoring small outlying islands (Spain's Canaries, Portugal's Azores, New Zealand's
/// Chathams) and territories that have ISO codes of their own (France's overseas departments,
/// Greenland, Svalbard). Countries whose mainland spans offsets (US, CA, MX, BR, AU, RU, ID, KZ,
/// CL, MN, ...) are not listed: guessing a zone for them would send at night for part of the
/// list, so the caller falls back to the workspace's zone instead.
const SINGLE_ZONE: &[(&str, &str)] = &[
    ("AD", "Europe/Andorra"),
    ("AE", "Asia/Dubai"),
    ("AL", "Europe/Tirane"),
    ("AM", "Asia/Yerevan"),
    ("AR", "America/Argentina/Buenos_Aires"),
    ("AT", "Europe/Vienna"),
    ("AZ", "Asia/Baku"),
    ("BA", "Europe/Sarajevo"),
    ("BD", "Asia/Dhaka"),
    ("BE", "Europe/Brussels"),
    ("BG", "Europe/Sofia"),
    ("BH", "Asia/Bahrain"),
    ("BO", "America/La_Paz"),
    ("BY", "Europe/Minsk"),
    ("CH", "Europe/Zurich"),
    ("CN", "Asia/Shanghai"),
    ("CO", "America/Bogota"),
    ("CR", "America/Costa_Rica"),
    ("CU", "America/Havana"),
    ("CY", "Asia/Nicosia"),
    ("CZ", "Europe/Prague"),
    ("DE", "Europe/Berlin"),
    ("DK", "Europe/Copenhagen"),
    ("DO", "America/Santo_Domingo"),
    ("DZ", "Africa/Algiers"),
    ("EE", "Europe/Tallinn"),
    ("EG", "Africa/Cairo"),
    ("ES", "Europe/Madrid"),
    ("FI", "Europe/Helsinki"),
    ("FO", "Atlantic/Faroe"),
    ("FR", "Europe/Paris"),
    ("GB", "Europe/London"),
    ("GE", "Asia/Tbilisi"),
    ("GG", "Europe/Guernsey"),
    ("GH", "Africa/Accra"),
    ("GI", "Europe/Gibraltar"),
    ("GR", "Europe/Athens"),
    ("GT", "America/Guatemala"),
    ("HK", "Asia/Hong_Kong"),
    ("HN", "America/Tegucigalpa"),
    ("HR", "Europe/Zagreb"),
    ("HU", "Europe/Budapest"),
    ("IE", "Europe/Dublin"),
    ("IL", "Asia/Jerusalem"),
    ("IM", "Europe/Isle_of_Man"),
    ("IN", "Asia/Kolkata"),
    ("IQ", "Asia/Baghdad"),
    ("IR", "Asia/Tehran"),
    ("IS", "Atlantic/Reykjavik"),
    ("IT", "Europe/Rome"),
    ("JE", "Europe/Jersey"),
    ("JM", "America/Jamaica"),
    ("JO", "Asia/Amman"),
    ("JP", "Asia/Tokyo"),
    ("KE", "Africa/Nairobi"),
    ("KR", "Asia/Seoul"),
    ("KW", "Asia/Kuwait"),
    ("LB", "Asia/Beirut"),
    ("LI", "Europe/Vaduz"),
    ("LK", "Asia/Colombo"),
    ("LT", "Europe/Vilnius"),
    ("LU", "Europe/Luxembourg"),
    ("LV", "Europe/Riga"),
    ("MA", "Africa/Casablanca"),
    ("MC", "Europe/Monaco"),
    ("MD", "Europe/Chisinau"),
    ("ME", "Europe/Podgorica"),
    ("MK", "Europe/Skopje"),
    ("MT", "Europe/Malta"),
    ("MY", "Asia/Kuala_Lumpur"),
    ("NG", "Africa/Lagos"),
    ("NI", "America/Managua"),
    ("NL", "Europe/Amsterdam"),
    ("NO", "Europe/Oslo"),
    ("NP", "Asia/Kathmandu"),
    ("NZ", "Pacific/Auckland"),
    ("OM", "Asia/Muscat"),
    ("PA", "America/Panama"),
    ("PE", "America/Lima"),
    ("PH", "Asia/Manila"),
    ("PK", "Asia/Karachi"),
    ("PL", "Europe/Warsaw"),
    ("PR", "America/Puerto_Rico"),
    ("PT", "Europe/Lisbon"),
    ("PY", "America/Asuncion"),
    ("QA", "Asia/Qatar"),
    ("RO", "Europe/Bucharest"),
    ("RS", "Europe/Belgrade"),
    ("SA", "Asia/Riyadh"),
    ("SE", "Europe/Stockholm"),
    ("SG", "Asia/Singapore"),
    ("SI", "Europe/Ljubljana"),
    ("SK", "Europe/Bratislava"),
    ("SM", "Europe/San_Marino"),
    ("SV", "America/El_Salvador"),
    ("TH", "Asia/Bangkok"),
    ("TN", "Africa/Tunis"),
    ("TR", "Europe/Istanbul"),
    ("TW", "Asia/Taipei"),
    ("UA", "Europe/Kyiv"),
    ("UY", "America/Montevideo"),
    ("VA", "Europe/Vatican"),
    ("VE", "America/Caracas"),
    ("VN", "Asia/Ho_Chi_Minh"),
    ("ZA", "Africa/Johannesburg"),
];

/// Every spelling we recognise, folded, mapped to its alpha-2 code. Built once: imports call
/// [`country_code`] for every row.
static LOOKUP: LazyLock<HashMap<String, &'static str>> = LazyLock::new(build_lookup);

fn build_lookup() -> HashMap<String, &'static str> {
    let mut map = HashMap::new();
    for c in rust_iso3166::ALL {
        map.insert(fold(c.alpha2), c.alpha2);
        map.insert(fold(c.alpha3), c.alpha2);
        map.insert(fold(c.name), c.alpha2);
    }
    // ISO's "Bolivia (Plurinational State of)" is written "Bolivia"; but "Korea (…)" and
    // "Virgin Islands (…)" name two countries each, so a short form that two codes share is
    // left out rather than given to either.
    let mut short: HashMap<String, Option<&'static str>> = HashMap::new();
    for c in rust_iso3166::ALL {
        let head = without_qualifier(c.name);
        if head != c.name {
            short
                .entry(fold(head))
                .and_modify(|code| *code = None)
                .or_insert(Some(c.alpha2));
        }
    }
    for (key, code) in short {
        if let Some(code) = code {
            map.entry(key).or_insert(code);
        }
    }
    for &(alias, code) in ALIASES {
        map.insert(fold(alias), code);
    }
    map
}

/// Reduces a name to the form we compare: no accents, lower case, no dots or apostrophes
/// (`U.S.` = `US`, `Côte d'Ivoire` = `cote divoire`), other punctuation as single spaces, and
/// no leading "the".
fn fold(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    for c in raw.nfd().filter(|c| !is_combining_mark(*c)) {
        let replacement: Option<&str> = match c {
            'ß' => Some("ss"),
            'æ' | 'Æ' => Some("ae"),
            'œ' | 'Œ' => Some("oe"),
            'ø' | 'Ø' => Some("o"),
            '&' => Some("and"),
            _ => None,
        };
        if c == '.' || c == '\'' || c == '’' {
            continue;
        }
        if replacement.is_none() && !c.is_alphanumeric() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        match replacement {
            Some(text) => out.push_str(text),
            None => out.extend(c.to_lowercase()),
        }
    }
    match out.strip_prefix("the ") {
        Some(rest) => rest.to_string(),
        None => out,
    }
}

/// The ISO 3166-1 alpha-2 code (upper case) of a country given as an alpha-2 or alpha-3 code, an
/// English name or a common native or alternate name; `None` when the text is not one we know.
///
/// ```
/// use outreach_core::schedule::country::country_code;
/// assert_eq!(country_code("Deutschland"), Some("DE"));
/// assert_eq!(country_code("u.s.a."), Some("US"));
/// assert_eq!(country_code("Atlantis"), None);
/// ```
pub fn country_code(input: &str) -> Option<&'static str> {
    let key = fold(input);
    if key.is_empty() {
        return None;
    }
    LOOKUP.get(&key).copied()
}

/// The English name of a country for display (`DE` -> `Germany`, `GB` -> `United Kingdom`), or
/// `None` for a code that is not an assigned ISO 3166-1 alpha-2 code.
pub fn country_name(code: &str) -> Option<&'static str> {
    let country = rust_iso3166::from_alpha2(&code.trim().to_ascii_uppercase())?;
    if let Some(&(_, name)) = DISPLAY_NAMES.iter().find(|(c, _)| *c == country.alpha2) {
        return Some(name);
    }
    // The ambiguous qualified names (two Koreas, two Congos) are in DISPLAY_NAMES.
    Some(without_qualifier(country.name))
}

/// ISO's name without a trailing qualifier: "Iran (Islamic Republic of)" -> "Iran", while
/// "Cocos (Keeling) Islands" stays whole because the bracket is part of the name.
fn without_qualifier(name: &'static str) -> &'static str {
    name.strip_suffix(')')
        .and_then(|open| open.rsplit_once(" ("))
        .map_or(name, |(head, _)| head)
}

/// The IANA time zone of a country that keeps a single civil time (`DE` -> `Europe/Berlin`),
/// or `None` when the country spans several offsets or is not in the table, in which case the
/// caller uses the workspace's zone. See [`SINGLE_ZONE`] for the rule.
pub fn default_time_zone(code: &str) -> Option<&'static str> {
    let code = code.trim();
    SINGLE_ZONE
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|&(_, zone)| zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_and_alternate_names_resolve() {
        let cases = [
            ("DE", "DE"),
            ("de", "DE"),
            ("DEU", "DE"),
            ("Germany", "DE"),
            ("Deutschland", "DE"),
            ("  GERMANY ", "DE"),
            ("United States", "US"),
            ("USA", "US"),
            ("U.S.", "US"),
            ("u.s.a.", "US"),
            ("United States of America", "US"),
            ("UK", "GB"),
            ("United Kingdom", "GB"),
            ("Great Britain", "GB"),
            ("GBR", "GB"),
            ("España", "ES"),
            ("Espana", "ES"),
            ("ESPAÑA", "ES"),
            ("Österreich", "AT"),
            ("Oesterreich", "AT"),
            ("osterreich", "AT"),
            ("Schweiz", "CH"),
            ("Suisse", "CH"),
            ("Nederland", "NL"),
            ("Holland", "NL"),
            ("The Netherlands", "NL"),
            ("Netherlands", "NL"),
            ("Italia", "IT"),
            ("Polska", "PL"),
            ("Czech Republic", "CZ"),
            ("Czechia", "CZ"),
            ("Česko", "CZ"),
            ("Côte d'Ivoire", "CI"),
            ("Cote dIvoire", "CI"),
            ("Ivory Coast", "CI"),
            ("Bolivia", "BO"),
            ("Iran", "IR"),
            ("Türkiye", "TR"),
            ("Turkey", "TR"),
            ("Bosnia & Herzegovina", "BA"),
            ("Guinea-Bissau", "GW"),
            ("Ελλάδα", "GR"),
            ("Curacao", "CW"),
            ("Korea", "KR"),
        ];
        for (input, code) in cases {
            assert_eq!(country_code(input), Some(code), "{input}");
        }
    }

    #[test]
    fn unknown_or_ambiguous_text_is_not_guessed() {
        for input in [
            "",
            "   ",
            "Atlantis",
            "Berlin",
            "XX",
            "Virgin Islands",
            "Germany, Berlin",
            "EU",
        ] {
            assert_eq!(country_code(input), None, "{input:?}");
        }
    }

    #[test]
    fn every_iso_country_round_trips_through_its_codes_and_name() {
        for c in rust_iso3166::ALL {
            assert_eq!(country_code(c.alpha2), Some(c.alpha2));
            assert_eq!(country_code(c.alpha3), Some(c.alpha2));
            assert_eq!(country_code(c.name), Some(c.alpha2), "{}", c.name);
            let display = country_name(c.alpha2).unwrap();
            assert_eq!(country_code(display), Some(c.alpha2), "{display}");
        }
    }

    #[test]
    fn aliases_point_at_assigned_codes() {
        for (alias, code) in ALIASES {
            assert!(country_name(code).is_some(), "{alias} -> {code}");
            assert_eq!(country_code(alias), Some(*code), "{alias}");
        }
    }

    #[test]
    fn display_names_are_the_ones_people_use() {
        assert_eq!(country_name("DE"), Some("Germany"));
        assert_eq!(country_name("gb"), Some("United Kingdom"));
        assert_eq!(country_name("US"), Some("United States"));
        assert_eq!(country_name("BO"), Some("Bolivia"));
        assert_eq!(country_name("NL"), Some("Netherlands"));
        assert_eq!(country_name("KR"), Some("South Korea"));
        assert_eq!(country_name("CD"), Some("DR Congo"));
        assert_eq!(country_name("CG"), Some("Congo"));
        assert_eq!(country_name("CC"), Some("Cocos (Keeling) Islands"));
        assert_eq!(country_name("UK"), None);
        assert_eq!(country_name(""), None);
    }

    #[test]
    fn single_zone_countries_have_a_valid_zone() {
        for (code, zone) in SINGLE_ZONE {
            assert!(country_name(code).is_some(), "{code}");
            assert!(jiff::tz::TimeZone::get(zone).is_ok(), "{code}: {zone}");
        }
        assert_eq!(default_time_zone("DE"), Some("Europe/Berlin"));
        assert_eq!(default_time_zone("gb"), Some("Europe/London"));
        assert_eq!(default_time_zone("ES"), Some("Europe/Madrid"));
        assert_eq!(default_time_zone("FR"), Some("Europe/Paris"));
    }

    #[test]
    fn every_eu_and_eea_country_and_switzerland_and_uk_has_a_zone() {
        let eu_eea = [
            "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
            "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS",
            "LI", "NO", "CH", "GB",
        ];
        for code in eu_eea {
            assert!(default_time_zone(code).is_some(), "{code}");
        }
    }

    #[test]
    fn countries_spanning_offsets_have_no_default_zone() {
        for code in [
            "US", "CA", "AU", "BR", "RU", "MX", "ID", "KZ", "CL", "MN", "XX",
        ] {
            assert_eq!(default_time_zone(code), None, "{code}");
        }
    }

    #[test]
    fn the_zone_table_has_one_entry_per_country() {
        let mut codes: Vec<&str> = SINGLE_ZONE.iter().map(|(c, _)| *c).collect();
        codes.dedup();
        assert_eq!(codes.len(), SINGLE_ZONE.len());
        assert!(
            codes.is_sorted(),
            "keep SINGLE_ZONE sorted so duplicates show"
        );
    }
}
