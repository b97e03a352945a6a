//! Sentiment of a reply: VADER's lexicon score.
//!
//! A lexicon reads tone, not intent ("Remove my address from your list please." scores
//! positive), so the analyzer reports this as sentiment only and never derives intent
//! from it. With a model, [`crate::Analyzer`] blends it with [`crate::SentimentHead`]'s
//! score.

use vader_sentiment::SentimentIntensityAnalyzer;

/// VADER's compound score of `text`: -1 (most negative) to 1 (most positive), 0 for a text
/// without sentiment words.
pub fn lexicon_sentiment(text: &str) -> f32 {
    let analyzer = SentimentIntensityAnalyzer::new();
    let scores = analyzer.polarity_scores(text);
    let compound = scores.get("compound").copied().unwrap_or(0.0);
    (compound as f32).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_has_a_sign_and_odd_texts_stay_in_range() {
        assert!(lexicon_sentiment("This is great, I love it! Let's do it.") > 0.5);
        assert!(lexicon_sentiment("This is terrible spam, stop it. I hate this.") < -0.5);
        assert_eq!(lexicon_sentiment("The meeting is on Tuesday."), 0.0);
        for odd in [
            "",
            " ",
            "?!?!",
            "😀😀😀",
            "NO!!!",
            "a b c d e f g",
            "kind of",
            "but",
        ] {
            let s = lexicon_sentiment(odd);
            assert!((-1.0..=1.0).contains(&s), "{odd}: {s}");
        }
    }
}
