//! Rules for reading a reply's text: the new part without quoted history or signature, an
//! unsubscribe token or a plain "remove me", and the return date an out-of-office states.
//!
//! Pure functions over text; the reply processing calls them on what the MIME parser gave.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::tokens::{PurposeKey, looks_like_unsubscribe_token, verify_unsubscribe_token};

/// What a reply means for the campaign that drew it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Wants to talk or go ahead.
    Interested,
    /// Asks something before deciding.
    Question,
    /// Declines.
    NotInterested,
    /// Asks to be removed.
    Unsubscribe,
    /// An automatic absence notice.
    OutOfOffice,
    /// Points to someone else.
    Referral,
    /// None of the above.
    Other,
}

impl Intent {
    /// Every intent, in a stable order (the classifier's label indexes).
    pub const ALL: [Intent; 7] = [
        Self::Interested,
        Self::Question,
        Self::NotInterested,
        Self::Unsubscribe,
        Self::OutOfOffice,
        Self::Referral,
        Self::Other,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interested => "interested",
            Self::Question => "question",
            Self::NotInterested => "not_interested",
            Self::Unsubscribe => "unsubscribe",
            Self::OutOfOffice => "out_of_office",
            Self::Referral => "referral",
            Self::Other => "other",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The text a person wrote in this reply: quoted history (`> ` lines and the client's
/// "On … wrote:" / "-----Original Message-----" header and everything after it) and the
/// signature (after `-- ` or a "Sent from my …" line) removed. Falls back to the whole text,
/// trimmed, when stripping would leave nothing (a reply written below the quote).
pub fn new_text(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if is_history_start(t) || is_signature_start(line) {
            break;
        }
        if t.starts_with('>') {
            continue;
        }
        kept.push(line.trim_end());
    }
    let out = kept.join("\n").trim().to_owned();
    if out.is_empty() {
        text.lines()
            .filter(|l| !l.trim_start().starts_with('>'))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_owned()
    } else {
        out
    }
}

/// The first line of a quoted original, in the forms mail clients write it.
fn is_history_start(t: &str) -> bool {
    let l = t.to_lowercase();
    // "On <date>, <name> <address> wrote:"; in German the address may follow the verb.
    let wrote =
        |opening: &str, verb: &str| l.starts_with(opening) && l.contains(verb) && l.ends_with(':');
    wrote("on ", " wrote")
        || wrote("am ", " schrieb")
        || wrote("le ", " a écrit")
        || wrote("el ", " escribió")
        || wrote("il ", " ha scritto")
        || wrote("op ", " geschreven")
        || l.starts_with("-----original message-----")
        || l.starts_with("----- original message -----")
        || l.starts_with("-----ursprüngliche nachricht-----")
        || l.starts_with("-------- original message --------")
        || l.starts_with("________________________________")
        || (l.starts_with("from:") && l.contains('@'))
        || (l.starts_with("von:") && l.contains('@'))
}

fn is_signature_start(line: &str) -> bool {
    let l = line.trim().to_lowercase();
    line.trim_end_matches(['\r', '\n']) == "-- "
        || line.trim() == "--"
        || l.starts_with("sent from my ")
        || l.starts_with("von meinem iphone gesendet")
        || l.starts_with("get outlook for ")
}

/// The prospect an unsubscribe request is for, when `subject` carries one of our signed tokens
/// (the `List-Unsubscribe` mailto address puts `unsubscribe <token>` in the subject).
///
/// Returns `Err(token)` for a token-shaped word whose signature does not verify: a forged or
/// mangled request, which the caller ignores and audits. `Ok(None)` when there is no token.
pub fn unsubscribe_request(key: &PurposeKey, subject: &str) -> Result<Option<(i64, i64)>, String> {
    let lower = subject.to_lowercase();
    let Some(at) = lower.find("unsubscribe") else {
        return Ok(None);
    };
    let rest = &subject[at + "unsubscribe".len()..];
    let Some(token) = rest
        .split(|c: char| c.is_whitespace() || c == ':')
        .find(|w| !w.is_empty())
    else {
        return Ok(None);
    };
    if !looks_like_unsubscribe_token(token) {
        return Ok(None);
    }
    match verify_unsubscribe_token(key, token) {
        Some(ids) => Ok(Some(ids)),
        None => Err(token.to_owned()),
    }
}

/// Whether the new text asks to be left alone: "remove me", "unsubscribe", "stop emailing
/// me" and the like, in English, German, French and Spanish. Only short messages count: a
/// long reply that quotes the phrase is for a person to read.
pub fn asks_to_be_removed(new_text: &str) -> bool {
    if new_text.split_whitespace().count() > 60 {
        return false;
    }
    let l = new_text.to_lowercase();
    const PHRASES: [&str; 22] = [
        "remove me",
        "unsubscribe",
        "take me off",
        "stop emailing",
        "stop e-mailing",
        "stop sending",
        "stop contacting",
        "stop writing",
        "do not contact me",
        "don't contact me",
        "do not email me",
        "don't email me",
        "opt me out",
        "opt out",
        "no more emails",
        "delete my data",
        "austragen",
        "abmelden",
        "keine weiteren",
        "désinscri",
        "ne plus recevoir",
        "darme de baja",
    ];
    PHRASES.iter().any(|p| l.contains(p))
}

/// Whether an automatic answer says its writer is away (rather than, say, confirming a
/// support ticket), in English, German, French and Spanish.
pub fn looks_like_absence(text: &str) -> bool {
    let l = text.to_lowercase();
    const PHRASES: [&str; 22] = [
        "out of office",
        "out of the office",
        "on vacation",
        "on holiday",
        "on leave",
        "away from",
        "annual leave",
        "parental leave",
        "limited access",
        "i am away",
        "i'm away",
        "be back",
        "returning on",
        "abwesend",
        "nicht im büro",
        "urlaub",
        "absent",
        "en congé",
        "en vacances",
        "fuera de la oficina",
        "de vacaciones",
        "ausente",
    ];
    PHRASES.iter().any(|p| l.contains(p))
}

/// The date an out-of-office reply says the person is back (or away until), the first one
/// after `today`: "back on 7 December", "until 12/07/2026" (day first unless impossible),
/// "returning Monday, December 7th, 2026", "bis zum 7. Dezember", ISO `2026-12-07`. A date
/// without a year is the next one on or after `today`.
pub fn return_date(text: &str, today: Date) -> Option<Date> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    // Only dates near a word that says "back" or "until" count, so that the date an email
    // was written on is not taken for the return.
    const CUES: [&str; 16] = [
        "back",
        "return",
        "returning",
        "until",
        "till",
        "through",
        "after",
        "from",
        "zurück",
        "bis",
        "ab",
        "wieder",
        "retour",
        "jusqu'au",
        "partir",
        "regreso",
    ];
    for (i, w) in words.iter().enumerate() {
        let cue = CUES
            .iter()
            .any(|c| w.trim_matches(|ch: char| !ch.is_alphanumeric() && ch != '\'') == *c);
        if !cue {
            continue;
        }
        let window = &words[i + 1..(i + 8).min(words.len())];
        if let Some(d) = date_in(window, today) {
            return Some(d);
        }
    }
    None
}

/// A date in the first words of `window`.
fn date_in(window: &[&str], today: Date) -> Option<Date> {
    for (i, w) in window.iter().enumerate() {
        let w = w.trim_end_matches(['.', ';', '!']);
        if let Some(d) = numeric_date(w, today) {
            return Some(d);
        }
        // "7 december [2026]", "7th of december", "7. dezember"
        if let Some(day) = day_number(w) {
            let mut rest = window[i + 1..]
                .iter()
                .map(|s| s.trim_end_matches(['.', ';']));
            let mut next = rest.next();
            if next == Some("of") {
                next = rest.next();
            }
            if let Some(month) = next.and_then(month_number) {
                let year = rest.next().and_then(year_number);
                return build(day, month, year, today);
            }
        }
        // "december 7[th] [2026]"
        if let Some(month) = month_number(w) {
            let mut rest = window[i + 1..]
                .iter()
                .map(|s| s.trim_end_matches(['.', ';']));
            if let Some(day) = rest.next().and_then(day_number) {
                let year = rest.next().and_then(year_number);
                return build(day, month, year, today);
            }
        }
    }
    None
}

fn numeric_date(w: &str, today: Date) -> Option<Date> {
    let parts: Vec<&str> = w.split(['-', '/', '.']).filter(|p| !p.is_empty()).collect();
    let nums: Vec<i16> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    match nums.as_slice() {
        // ISO
        [y, m, d] if *y >= 1000 => {
            Date::new(*y, i8::try_from(*m).ok()?, i8::try_from(*d).ok()?).ok()
        }
        // Day first (most of the world); month first only when the day-first reading is impossible.
        [a, b, y] => {
            let year = if *y < 100 { 2000 + *y } else { *y };
            let (a8, b8) = (i8::try_from(*a).ok()?, i8::try_from(*b).ok()?);
            Date::new(year, b8, a8)
                .or_else(|_| Date::new(year, a8, b8))
                .ok()
        }
        [a, b] if w.contains(['/', '.']) => {
            let (a8, b8) = (i8::try_from(*a).ok()?, i8::try_from(*b).ok()?);
            build(a8, b8, None, today).or_else(|| build(b8, a8, None, today))
        }
        _ => None,
    }
}

fn day_number(w: &str) -> Option<i8> {
    let digits = w
        .trim_end_matches('.')
        .trim_end_matches("st")
        .trim_end_matches("nd")
        .trim_end_matches("rd")
        .trim_end_matches("th")
        .trim_end_matches("er");
    let d: i8 = digits.parse().ok()?;
    (1..=31).contains(&d).then_some(d)
}

fn year_number(w: &str) -> Option<i16> {
    let y: i16 = w.parse().ok()?;
    (2000..=2100).contains(&y).then_some(y)
}

fn month_number(w: &str) -> Option<i8> {
    const MONTHS: [(&[&str], i8); 12] = [
        (&["january", "jan", "januar", "janvier", "enero"], 1),
        (&["february", "feb", "februar", "février", "febrero"], 2),
        (&["march", "mar", "märz", "mars", "marzo"], 3),
        (&["april", "apr", "avril", "abril"], 4),
        (&["may", "mai", "mayo"], 5),
        (&["june", "jun", "juni", "juin", "junio"], 6),
        (&["july", "jul", "juli", "juillet", "julio"], 7),
        (&["august", "aug", "août", "agosto"], 8),
        (&["september", "sep", "sept", "septembre", "septiembre"], 9),
        (&["october", "oct", "oktober", "octobre", "octubre"], 10),
        (&["november", "nov", "novembre", "noviembre"], 11),
        (
            &["december", "dec", "dezember", "décembre", "diciembre"],
            12,
        ),
    ];
    let w = w.trim_end_matches('.');
    MONTHS
        .iter()
        .find(|(names, _)| names.contains(&w))
        .map(|(_, n)| *n)
}

/// The date; without a year, the next one on or after `today`.
fn build(day: i8, month: i8, year: Option<i16>, today: Date) -> Option<Date> {
    match year {
        Some(y) => Date::new(y, month, day).ok(),
        None => {
            let this = Date::new(today.year(), month, day).ok()?;
            if this >= today {
                Some(this)
            } else {
                Date::new(today.year() + 1, month, day).ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::unsubscribe_token;
    use jiff::civil::date;

    #[test]
    fn quoted_history_and_signatures_are_left_out() {
        let cases = [
            (
                "Sounds good, call me Tuesday.\n\nOn Tue, 24 Nov 2026 at 10:00, Alex <alex@brand.example> wrote:\n> Hi Ada,\n> ...",
                "Sounds good, call me Tuesday.",
            ),
            (
                "Ja, gerne.\n\nAm 24.11.2026 um 10:00 schrieb Alex <alex@brand.example>:\n> Hallo",
                "Ja, gerne.",
            ),
            (
                "What are the rates?\n-----Original Message-----\nFrom: Alex\nSent: Tuesday",
                "What are the rates?",
            ),
            (
                "Interested!\n\n-- \nAda Lovelace\nAnalytical Engines",
                "Interested!",
            ),
            ("Not now, thanks\n\nSent from my iPhone", "Not now, thanks"),
            (
                "> Would you like to partner?\nYes, we would.\n> Rates?\nSend them over.",
                "Yes, we would.\nSend them over.",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(new_text(text), want, "{text}");
        }
        // Written below the quote: nothing above it, so the unquoted lines are kept.
        assert_eq!(new_text("> quoted\nbelow"), "below");
    }

    #[test]
    fn only_a_token_we_signed_unsubscribes() {
        let key = PurposeKey::derive(b"master key for tests", "unsubscribe");
        let token = unsubscribe_token(&key, 3, 42);
        assert_eq!(
            unsubscribe_request(&key, &format!("unsubscribe {token}")),
            Ok(Some((3, 42)))
        );
        assert_eq!(
            unsubscribe_request(&key, &format!("Re: UNSUBSCRIBE {token}")),
            Ok(Some((3, 42)))
        );
        // Another prospect's id with this signature: forged.
        let forged = format!("u3-43-{}", token.rsplit('-').next().unwrap_or_default());
        assert_eq!(
            unsubscribe_request(&key, &format!("unsubscribe {forged}")),
            Err(forged)
        );
        assert_eq!(unsubscribe_request(&key, "Re: a partnership"), Ok(None));
        assert_eq!(unsubscribe_request(&key, "unsubscribe please"), Ok(None));
    }

    #[test]
    fn plain_requests_to_be_left_alone_are_recognised() {
        for text in [
            "Please remove me from your list.",
            "unsubscribe",
            "Stop emailing me.",
            "Bitte austragen.",
            "Je ne souhaite plus recevoir vos messages, merci de me désinscrire.",
        ] {
            assert!(asks_to_be_removed(text), "{text}");
        }
        for text in [
            "Sounds great, send me the details.",
            "Not interested right now, maybe next year.",
        ] {
            assert!(!asks_to_be_removed(text), "{text}");
        }
        let long = format!("{} unsubscribe", "word ".repeat(80));
        assert!(!asks_to_be_removed(&long));
    }

    #[test]
    fn the_return_date_of_an_out_of_office() {
        let today = date(2026, 11, 25);
        let cases = [
            (
                "I am out of the office and back on 7 December.",
                date(2026, 12, 7),
            ),
            (
                "Away until 12/07/2026 with no access to email.",
                date(2026, 7, 12),
            ),
            (
                "I will be returning Monday, December 7th, 2026.",
                date(2026, 12, 7),
            ),
            (
                "Ich bin bis zum 4. Januar nicht erreichbar.",
                date(2027, 1, 4),
            ),
            ("Back 2026-12-01.", date(2026, 12, 1)),
            ("Je serai de retour le 3 décembre.", date(2026, 12, 3)),
            ("Out until 30/11.", date(2026, 11, 30)),
        ];
        for (text, want) in cases {
            assert_eq!(return_date(text, today), Some(want), "{text}");
        }
        assert_eq!(
            return_date("I am on leave, sent 24 November 2026.", today),
            None
        );
        assert_eq!(return_date("Thanks for your email.", today), None);
    }

    #[test]
    fn an_absence_is_told_from_other_automatic_answers() {
        assert!(looks_like_absence("I am out of the office until Monday."));
        assert!(looks_like_absence("Ich bin bis 7.12. im Urlaub."));
        assert!(looks_like_absence("Estoy fuera de la oficina."));
        assert!(!looks_like_absence(
            "Thank you for contacting support. Your ticket #4411 has been received."
        ));
    }
}
