//! The website factor, from what the prospect record says (fetching the site comes later).

use super::{Factor, FactorId, ProspectFacts};

/// Scores the website: none, known, known over HTTPS.
pub struct WebsiteFactor;

impl Factor for WebsiteFactor {
    fn id(&self) -> FactorId {
        FactorId::Website
    }

    fn evaluate(&self, facts: &ProspectFacts<'_>) -> (u8, Vec<String>) {
        match facts.website {
            None => (0, vec!["No website known.".into()]),
            Some(url) if url.starts_with("https://") => {
                (100, vec![format!("Website {url} is served over HTTPS.")])
            }
            Some(url) if url.starts_with("http://") => (
                60,
                vec![format!(
                    "Website {url} is given as plain HTTP, without encryption."
                )],
            ),
            Some(url) => (
                80,
                vec![format!(
                    "Website {url} is known; whether it uses HTTPS is not checked yet."
                )],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_beats_unknown_beats_http_beats_none() {
        let eval = |w| {
            WebsiteFactor
                .evaluate(&ProspectFacts {
                    website: w,
                    ..Default::default()
                })
                .0
        };
        let https = eval(Some("https://a.example"));
        let unknown = eval(Some("a.example"));
        let http = eval(Some("http://a.example"));
        let none = eval(None);
        assert!(
            https > unknown && unknown > http && http > none,
            "{https} {unknown} {http} {none}"
        );
    }
}
