//! Scoring: how promising a prospect is, from 0 to 100, and why.
//!
//! A score is the weighted mean of independent [`Factor`]s, each of which looks at what is known
//! about a prospect and returns points with human-readable reasons. Weights and the qualifying
//! threshold are per workspace ([`ScoringConfig`]). New factors (MX records, website quality,
//! live X data) are added by implementing [`Factor`] and listing them in [`Scorer::new`]; stored
//! configurations that do not name a new factor get its default weight.

mod email;
mod freemail;
mod social;
mod website;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use email::EmailDomainFactor;
pub use social::SocialFactor;
pub use website::WebsiteFactor;

/// What is known about a prospect when it is scored.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProspectFacts<'a> {
    /// Normalised e-mail address.
    pub email: Option<&'a str>,
    /// Normalised website.
    pub website: Option<&'a str>,
    /// X handle.
    pub x_handle: Option<&'a str>,
    /// LinkedIn profile URL.
    pub linkedin_url: Option<&'a str>,
    /// Instagram handle.
    pub instagram: Option<&'a str>,
    /// Follower count, when known.
    pub followers: Option<i64>,
}

/// The factors a score is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FactorId {
    /// Quality of the e-mail address and its domain.
    EmailDomain,
    /// What is known of the website.
    Website,
    /// Reach on social networks.
    Social,
}

impl FactorId {
    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::EmailDomain => "E-mail domain",
            Self::Website => "Website",
            Self::Social => "Social presence",
        }
    }
}

/// One factor's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FactorScore {
    /// Which factor.
    pub factor: FactorId,
    /// 0 to 100.
    pub points: u8,
    /// The weight the factor had in the total.
    pub weight: u32,
    /// Why the factor gave these points, one sentence each.
    pub reasons: Vec<String>,
}

/// A whole score with its explanation, as stored with the prospect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ScoreBreakdown {
    /// Weighted mean of the factors, 0 to 100.
    pub total: u8,
    /// The threshold in force when scored.
    pub threshold: u8,
    /// Whether `total >= threshold`.
    pub qualified: bool,
    /// Every factor's verdict.
    pub factors: Vec<FactorScore>,
}

/// A factor's weight in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FactorWeight {
    /// Which factor.
    pub factor: FactorId,
    /// Relative weight; 0 switches the factor off.
    pub weight: u32,
}

/// A workspace's scoring settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ScoringConfig {
    /// Relative weight of each factor.
    pub weights: Vec<FactorWeight>,
    /// Scores at or above this qualify a prospect.
    pub threshold: u8,
}

/// The threshold the product ships with.
pub const DEFAULT_THRESHOLD: u8 = 70;

impl Default for ScoringConfig {
    fn default() -> Self {
        Self {
            weights: vec![
                FactorWeight {
                    factor: FactorId::EmailDomain,
                    weight: 50,
                },
                FactorWeight {
                    factor: FactorId::Website,
                    weight: 30,
                },
                FactorWeight {
                    factor: FactorId::Social,
                    weight: 20,
                },
            ],
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

/// Why a scoring configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Threshold out of range.
    #[error("the threshold must be between 0 and 100, not {0}")]
    Threshold(u8),
    /// Every weight is zero.
    #[error("at least one factor needs a weight above 0")]
    AllZero,
    /// A weight is absurd.
    #[error("weights must be between 0 and 1000, not {0}")]
    Weight(u32),
    /// A factor listed twice.
    #[error("the factor {0:?} is listed twice")]
    Duplicate(FactorId),
}

impl ScoringConfig {
    /// The weight of a factor, falling back to the default for factors added after the
    /// configuration was saved.
    pub fn weight(&self, factor: FactorId) -> u32 {
        self.weights
            .iter()
            .chain(Self::default().weights.iter())
            .find(|w| w.factor == factor)
            .map_or(0, |w| w.weight)
    }

    /// Checks that the configuration makes sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.threshold > 100 {
            return Err(ConfigError::Threshold(self.threshold));
        }
        for (i, w) in self.weights.iter().enumerate() {
            if w.weight > 1000 {
                return Err(ConfigError::Weight(w.weight));
            }
            if self.weights[..i].iter().any(|o| o.factor == w.factor) {
                return Err(ConfigError::Duplicate(w.factor));
            }
        }
        if Scorer::default_factors()
            .iter()
            .all(|f| self.weight(f.id()) == 0)
        {
            return Err(ConfigError::AllZero);
        }
        Ok(())
    }
}

/// One thing that makes a prospect more or less promising.
pub trait Factor: Send + Sync {
    /// Which factor this is.
    fn id(&self) -> FactorId;
    /// Points from 0 to 100 and the reasons for them.
    fn evaluate(&self, facts: &ProspectFacts<'_>) -> (u8, Vec<String>);
}

/// Scores prospects with a set of factors under one workspace's configuration.
pub struct Scorer {
    factors: Vec<Box<dyn Factor>>,
    config: ScoringConfig,
}

impl Scorer {
    /// The offline factors every workspace starts with.
    pub fn default_factors() -> Vec<Box<dyn Factor>> {
        vec![
            Box::new(EmailDomainFactor),
            Box::new(WebsiteFactor),
            Box::new(SocialFactor),
        ]
    }

    /// A scorer with the default factors.
    pub fn new(config: ScoringConfig) -> Self {
        Self::with_factors(Self::default_factors(), config)
    }

    /// A scorer with a chosen set of factors.
    pub fn with_factors(factors: Vec<Box<dyn Factor>>, config: ScoringConfig) -> Self {
        Self { factors, config }
    }

    /// Scores one prospect.
    pub fn score(&self, facts: &ProspectFacts<'_>) -> ScoreBreakdown {
        let mut weighted = 0u64;
        let mut total_weight = 0u64;
        let factors: Vec<FactorScore> = self
            .factors
            .iter()
            .map(|f| {
                let (points, reasons) = f.evaluate(facts);
                let points = points.min(100);
                let weight = self.config.weight(f.id());
                weighted += u64::from(points) * u64::from(weight);
                total_weight += u64::from(weight);
                FactorScore {
                    factor: f.id(),
                    points,
                    weight,
                    reasons,
                }
            })
            .collect();
        let total = if total_weight == 0 {
            0
        } else {
            // Round half up so a 69.5 counts as the 70 a person would read it as.
            u8::try_from((weighted * 2 + total_weight) / (total_weight * 2)).unwrap_or(100)
        };
        ScoreBreakdown {
            total,
            threshold: self.config.threshold,
            qualified: total >= self.config.threshold,
            factors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(
        email: Option<&'a str>,
        website: Option<&'a str>,
        followers: Option<i64>,
    ) -> ProspectFacts<'a> {
        ProspectFacts {
            email,
            website,
            followers,
            ..Default::default()
        }
    }

    #[test]
    fn a_strong_prospect_qualifies_with_every_factor_explained() {
        let s = Scorer::new(ScoringConfig::default());
        let b = s.score(&facts(
            Some("jane@acme-partners.example"),
            Some("https://acme-partners.example"),
            Some(25_000),
        ));
        assert!(b.qualified, "{b:?}");
        assert!(b.total >= 90, "{b:?}");
        assert_eq!(b.factors.len(), 3);
        assert!(b.factors.iter().all(|f| !f.reasons.is_empty()));
    }

    #[test]
    fn free_mail_without_website_does_not_qualify() {
        let s = Scorer::new(ScoringConfig::default());
        let b = s.score(&facts(Some("jane@gmail.com"), None, None));
        assert!(!b.qualified);
        assert_eq!(b.total, 20, "{b:?}");
    }

    #[test]
    fn weights_change_the_total_and_zero_switches_off() {
        let config = ScoringConfig {
            threshold: DEFAULT_THRESHOLD,
            weights: vec![
                FactorWeight {
                    factor: FactorId::EmailDomain,
                    weight: 1,
                },
                FactorWeight {
                    factor: FactorId::Website,
                    weight: 0,
                },
                FactorWeight {
                    factor: FactorId::Social,
                    weight: 0,
                },
            ],
        };
        let b = Scorer::new(config).score(&facts(Some("jane@acme.example"), None, None));
        assert_eq!(b.total, 100);
        assert!(b.qualified);
    }

    #[test]
    fn threshold_is_inclusive_and_editable() {
        let config = ScoringConfig {
            threshold: 20,
            ..Default::default()
        };
        let b = Scorer::new(config).score(&facts(Some("jane@gmail.com"), None, None));
        assert_eq!(b.total, 20);
        assert!(b.qualified);
    }

    #[test]
    fn missing_weights_fall_back_to_defaults() {
        let config = ScoringConfig {
            weights: vec![],
            threshold: 70,
        };
        assert_eq!(config.weight(FactorId::Website), 30);
    }

    #[test]
    fn bad_configs_are_refused() {
        let mut c = ScoringConfig {
            threshold: 101,
            ..Default::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::Threshold(101)));
        c.threshold = 70;
        c.weights.iter_mut().for_each(|w| w.weight = 0);
        assert_eq!(c.validate(), Err(ConfigError::AllZero));
        c.weights[0].weight = 5000;
        assert_eq!(c.validate(), Err(ConfigError::Weight(5000)));
        let dup = ScoringConfig {
            weights: vec![
                FactorWeight {
                    factor: FactorId::Social,
                    weight: 1,
                },
                FactorWeight {
                    factor: FactorId::Social,
                    weight: 2,
                },
            ],
            threshold: 70,
        };
        assert_eq!(
            dup.validate(),
            Err(ConfigError::Duplicate(FactorId::Social))
        );
        assert!(ScoringConfig::default().validate().is_ok());
    }

    #[test]
    fn a_new_factor_plugs_in() {
        struct Always;
        impl Factor for Always {
            fn id(&self) -> FactorId {
                FactorId::Social
            }
            fn evaluate(&self, _: &ProspectFacts<'_>) -> (u8, Vec<String>) {
                (250, vec!["always".into()])
            }
        }
        let s = Scorer::with_factors(vec![Box::new(Always)], ScoringConfig::default());
        let b = s.score(&ProspectFacts::default());
        assert_eq!(b.total, 100, "points are capped at 100");
    }
}
