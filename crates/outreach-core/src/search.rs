//! Prospect search words, folded the way the store's full-text index folds them (SQLite FTS5's
//! `unicode61` tokenizer with `remove_diacritics 2`): words are runs of letters and digits,
//! compared without case or accents. The store builds its queries from [`words`]; the rule
//! about what a saved search reveals of a person ([`NameWords::found_by`]) compares with the same
//! folding, so that both agree on what "the same word" is.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The words of what a person typed, as written (split where the index splits: at anything
/// that is not a letter or digit, `_` included).
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// A word as the index compares it: lower case, accents removed (`Zoë` -> `zoe`).
pub fn fold(word: &str) -> String {
    word.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The words a person is known by (their names, the part of their e-mail address before the
/// `@`, handles), folded once so that many searches can be held against them.
pub struct NameWords(Vec<String>);

impl NameWords {
    /// The folded words of `identifying`.
    pub fn new(identifying: &[&str]) -> Self {
        Self(
            identifying
                .iter()
                .flat_map(|text| words(text))
                .map(fold)
                .collect(),
        )
    }

    /// Whether `search` finds the person by who they are: one of its words starts one of
    /// theirs. A saved search that does so is personal data of theirs and goes when they are
    /// erased; one that finds them only by their company, its website or mail domain does not
    /// name them.
    pub fn found_by(&self, search: &str) -> bool {
        words(search)
            .map(fold)
            .any(|w| self.0.iter().any(|o| o.starts_with(&w)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_where_the_index_splits() {
        let got: Vec<&str> = words("ada.lovelace@example.com, x_handle  Zoë").collect();
        assert_eq!(
            got,
            ["ada", "lovelace", "example", "com", "x", "handle", "Zoë"]
        );
        assert_eq!(words(" -- ").count(), 0);
    }

    #[test]
    fn folds_case_and_accents() {
        assert_eq!(fold("Zoë"), "zoe");
        assert_eq!(fold("ÉMILE"), "emile");
        assert_eq!(fold("Łukasz"), "łukasz");
    }

    #[test]
    fn a_search_finds_by_name_when_a_word_starts_one_of_theirs() {
        let ada = NameWords::new(&["Ada", "Lovelace", "a.king", "adalovelace"]);
        assert!(ada.found_by("lovelace"));
        assert!(ada.found_by("LOVE"));
        assert!(ada.found_by("acme king"), "one word is enough");
        assert!(ada.found_by("a.king@engines.example"));
        assert!(NameWords::new(&["Zoë", "Martin"]).found_by("zoe"));
        assert!(!ada.found_by("acme"));
        assert!(!ada.found_by("velace"), "words match by their start");
        assert!(!ada.found_by(""));
        assert!(!NameWords::new(&[]).found_by("ada"));
    }
}
