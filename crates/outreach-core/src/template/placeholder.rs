//! Finds placeholders left in a rendered message: `[FIRST LINE]`, `[Company]`, `{{name}}`,
//! `{name}`, `<<NAME>>`, `%FIRSTNAME%`, `*|FNAME|*`, `XXX`.
//!
//! Square brackets are ordinary in prose and subjects (`[1]`, `[sic]`, `[Update]`), so bracketed
//! text counts only when it reads like a field: it contains `_` or a word that names one
//! (`name`, `company`, `insert`, ...). Curly braces and double angle brackets do not occur in
//! normal email text and count whenever they hold a name. `%NAME%` and `XXX` are skipped inside
//! URLs, where percent-encoding and path segments make look-alikes.

/// Words that, inside brackets, mark a placeholder rather than prose.
const FIELD_WORDS: &[&str] = &[
    "name",
    "names",
    "firstname",
    "lastname",
    "fullname",
    "first",
    "last",
    "company",
    "business",
    "brand",
    "website",
    "site",
    "url",
    "link",
    "domain",
    "email",
    "phone",
    "title",
    "role",
    "position",
    "city",
    "country",
    "location",
    "niche",
    "industry",
    "product",
    "insert",
    "your",
    "their",
    "recipient",
    "prospect",
    "contact",
    "personalization",
    "personalisation",
    "personalized",
    "personalised",
    "line",
    "placeholder",
    "handle",
    "username",
    "tbd",
    "todo",
];

/// The first characters of every placeholder form [`find_placeholders`] knows.
const OPENERS: [char; 6] = ['{', '<', '*', '[', '%', 'X'];

/// The placeholders found in `text`, each once, in order of appearance.
pub fn find_placeholders(text: &str) -> Vec<String> {
    let urls = url_spans(text);
    let in_url = |at: usize| urls.iter().any(|r| r.contains(&at));
    let mut found: Vec<String> = Vec::new();
    let mut pos = 0;
    // Every rendered message is scanned before it is queued: jump from one possible opener to
    // the next instead of trying each opener at every character.
    while let Some(skip) = text[pos..].find(OPENERS) {
        pos += skip;
        let rest = &text[pos..];
        let hit = if rest.starts_with("{{") || rest.starts_with("{%") {
            enclosed(rest, 2, &["}}", "%}"]).filter(|(inner, _)| !inner.trim().is_empty())
        } else if rest.starts_with('{') {
            enclosed(rest, 1, &["}"]).filter(|(inner, _)| is_name(inner, "_.| -"))
        } else if rest.starts_with("<<") {
            enclosed(rest, 2, &[">>"]).filter(|(inner, _)| is_name(inner, "_ -"))
        } else if rest.starts_with("*|") {
            enclosed(rest, 2, &["|*"]).filter(|(inner, _)| is_name(inner, "_:"))
        } else if rest.starts_with('[') {
            enclosed(rest, 1, &["]"]).filter(|(inner, _)| is_bracketed_field(inner))
        } else if rest.starts_with('%') && !in_url(pos) {
            enclosed(rest, 1, &["%"]).filter(|(inner, _)| {
                is_name(inner, "_") && !inner.chars().any(|c| c.is_ascii_lowercase())
            })
        } else if rest.starts_with("XXX") && !in_url(pos) && at_word_start(text, pos) {
            let len = rest.bytes().take_while(|&b| b == b'X').count();
            let after = rest[len..].chars().next();
            (!after.is_some_and(char::is_alphanumeric)).then_some(("", len))
        } else {
            None
        };
        match hit {
            Some((_, len)) => {
                let placeholder = &rest[..len];
                if !found.iter().any(|f| f == placeholder) {
                    found.push(placeholder.to_owned());
                }
                pos += len;
            }
            None => pos += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    found
}

/// The text between an opener of `open_len` bytes and the first closer on the same line, at
/// most 60 bytes on, with the length of the whole match.
fn enclosed<'t>(rest: &'t str, open_len: usize, closers: &[&str]) -> Option<(&'t str, usize)> {
    let body = rest.get(open_len..)?;
    // Only the next 60 bytes (and a closer) can hold a match: searching the whole rest of a
    // long message for each opener made the scan quadratic.
    let longest = closers.iter().map(|c| c.len()).max().unwrap_or(0);
    let body = &body[..body.floor_char_boundary(61 + longest - 1)];
    let (at, closer) = closers
        .iter()
        .filter_map(|c| body.find(c).map(|at| (at, c)))
        .min_by_key(|(at, _)| *at)?;
    let inner = &body[..at];
    (at <= 60 && !inner.contains(['\n', '\r'])).then_some((inner, open_len + at + closer.len()))
}

/// Letters first, then letters, digits or one of `extra`; at least two letters.
fn is_name(inner: &str, extra: &str) -> bool {
    let inner = inner.trim();
    inner.chars().next().is_some_and(char::is_alphabetic)
        && inner
            .chars()
            .all(|c| c.is_alphanumeric() || extra.contains(c))
        && inner.chars().filter(|c| c.is_alphabetic()).count() >= 2
}

/// Bracketed text that names a field: `[first_name]`, `[Company]`, `[YOUR NAME]`.
fn is_bracketed_field(inner: &str) -> bool {
    if !is_name(inner, "_ -") {
        return false;
    }
    inner.contains('_')
        || inner
            .split([' ', '-'])
            .any(|word| FIELD_WORDS.contains(&word.to_lowercase().as_str()))
}

/// Whether `pos` starts a word (not preceded by a letter or digit).
fn at_word_start(text: &str, pos: usize) -> bool {
    !text[..pos]
        .chars()
        .next_back()
        .is_some_and(char::is_alphanumeric)
}

/// Byte ranges of the URLs in `text` (`http://`, `https://` or `www.` up to whitespace).
fn url_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let mut pos = 0;
    while let Some(skip) = text[pos..].find(['h', 'H', 'w', 'W']) {
        pos += skip;
        let rest = &text[pos..];
        let starts_url = ["http://", "https://", "www."].iter().any(|p| {
            rest.get(..p.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(p))
        });
        if starts_url && at_word_start(text, pos) {
            let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
            spans.push(pos..pos + len);
            pos += len;
        } else {
            pos += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_usual_placeholders() {
        let text = "Hi [FIRST NAME], love [Company]! {{name}} and {first_name} \
                    <<NAME>> %FIRSTNAME% *|FNAME|* see XXX and [insert link here].";
        assert_eq!(
            find_placeholders(text),
            vec![
                "[FIRST NAME]",
                "[Company]",
                "{{name}}",
                "{first_name}",
                "<<NAME>>",
                "%FIRSTNAME%",
                "*|FNAME|*",
                "XXX",
                "[insert link here]",
            ]
        );
    }

    #[test]
    fn leaves_normal_text_alone() {
        let text = "See [1] and [2], [sic], [Update] on the 50% plan, 100% sure. \
                    Visit https://example.com/a%20b%C3%A9XXX?q=[1] or www.example.com/XXX. \
                    Tuples (a, b), a JSON {\"a\": 1}, a set {1, 2}, <b>bold</b> and a<<b.\n\
                    Sizes XXXL and MAXXX, 20% off for 30%.";
        assert_eq!(find_placeholders(text), Vec::<String>::new());
    }

    #[test]
    fn placeholders_inside_urls_with_brackets_are_found() {
        let text = "Join at https://partner.example/?ref=[AFFILIATE_ID] today";
        assert_eq!(find_placeholders(text), vec!["[AFFILIATE_ID]"]);
    }

    #[test]
    fn each_placeholder_is_reported_once() {
        assert_eq!(
            find_placeholders("[Name] and [Name] and XXX XXX"),
            vec!["[Name]", "XXX"]
        );
    }

    #[test]
    fn placeholders_do_not_span_lines() {
        assert_eq!(find_placeholders("[first\nname]"), Vec::<String>::new());
    }
}
