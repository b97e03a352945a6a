//! The social factor: reach, where follower counts are known.

use super::{Factor, FactorId, ProspectFacts};

/// Scores reach on a log-like scale: each tenfold audience is worth about the same step.
pub struct SocialFactor;

impl Factor for SocialFactor {
    fn id(&self) -> FactorId {
        FactorId::Social
    }

    fn evaluate(&self, facts: &ProspectFacts<'_>) -> (u8, Vec<String>) {
        let profiles: Vec<&str> = [
            facts.x_handle.map(|_| "X"),
            facts.linkedin_url.map(|_| "LinkedIn"),
            facts.instagram.map(|_| "Instagram"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if let Some(n) = facts.followers {
            let points = match n {
                n if n >= 100_000 => 100,
                n if n >= 10_000 => 85,
                n if n >= 1_000 => 65,
                n if n >= 100 => 40,
                _ => 20,
            };
            return (points, vec![format!("{n} followers.")]);
        }
        if profiles.is_empty() {
            (0, vec!["No social profile known.".into()])
        } else {
            (
                30,
                vec![format!(
                    "Profile on {} known; follower count not known yet.",
                    profiles.join(", ")
                )],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_followers_more_points() {
        let eval = |n| {
            SocialFactor
                .evaluate(&ProspectFacts {
                    followers: n,
                    ..Default::default()
                })
                .0
        };
        assert!(eval(Some(200_000)) > eval(Some(20_000)));
        assert!(eval(Some(20_000)) > eval(Some(2_000)));
        assert!(eval(Some(2_000)) > eval(Some(200)));
        assert!(eval(Some(200)) > eval(Some(5)));
        assert_eq!(eval(None), 0);
    }

    #[test]
    fn a_profile_without_counts_scores_a_little() {
        let (points, reasons) = SocialFactor.evaluate(&ProspectFacts {
            x_handle: Some("jane"),
            ..Default::default()
        });
        assert_eq!(points, 30);
        assert!(reasons[0].contains('X'));
    }
}
