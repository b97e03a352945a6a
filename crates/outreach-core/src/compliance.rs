//! The compliance gate: the rules that refuse a send (DESIGN.md section 5), each with a stable
//! code and a sentence a person can act on.
//!
//! The gate is a pure function of what the engine knows at the moment it would queue a
//! message, so every refusal can be tested without a database and is the same in the app,
//! the CLI and the engine.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::prospect::{LawfulBasis, ProspectStatus};

/// Everything the gate looks at for one recipient and one step.
#[derive(Debug, Clone)]
pub struct GateInput<'a> {
    /// The prospect's normalised email address, if any.
    pub email: Option<&'a str>,
    /// The prospect's status.
    pub status: ProspectStatus,
    /// In the trash. (An erased prospect is not there to be checked: the engine refuses their
    /// steps with [`Refusal::prospect_gone`], and the suppression list keeps their address.)
    pub deleted: bool,
    /// Objected or opted out (`objection_at` is set).
    pub objected: bool,
    /// The address or a handle of the prospect is on the suppression list.
    pub suppressed: bool,
    /// The recorded lawful basis.
    pub lawful_basis: LawfulBasis,
    /// Consent is recorded with evidence.
    pub consent_with_evidence: bool,
    /// The workspace has a legitimate-interest assessment on record.
    pub workspace_has_assessment: bool,
    /// The prospect's country (ISO alpha-2) when known.
    pub country: Option<&'a str>,
    /// Countries (ISO alpha-2) where only consent allows B2B email.
    pub consent_only_countries: &'a [String],
    /// Problems the pre-send check found in the step's template, as sentences.
    pub template_problems: &'a [String],
}

/// Why a send is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Refusal {
    /// Stable code, e.g. `suppressed`, for filters and translations.
    pub code: RefusalCode,
    /// The reason, for people.
    pub reason: String,
}

/// The stable codes of [`Refusal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// No email address.
    NoAddress,
    /// On the suppression list, opted out or objected.
    Suppressed,
    /// Soft-deleted or erased.
    Deleted,
    /// The address bounced hard before.
    Bounced,
    /// No lawful basis recorded.
    NoLawfulBasis,
    /// Legitimate interest without the workspace's assessment.
    NoAssessment,
    /// A consent-only country without consent evidence.
    ConsentRequired,
    /// The template fails the pre-send check.
    TemplateProblem,
    /// A header value would contain CR, LF or NUL.
    HeaderInjection,
}

impl RefusalCode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoAddress => "no_address",
            Self::Suppressed => "suppressed",
            Self::Deleted => "deleted",
            Self::Bounced => "bounced",
            Self::NoLawfulBasis => "no_lawful_basis",
            Self::NoAssessment => "no_assessment",
            Self::ConsentRequired => "consent_required",
            Self::TemplateProblem => "template_problem",
            Self::HeaderInjection => "header_injection",
        }
    }

    /// Refusals that checking again cannot change: a suppressed address stays suppressed for
    /// good, and a prospect in the trash goes on by themselves once restored.
    pub const FINAL: [Self; 2] = [Self::Suppressed, Self::Deleted];
}

fn refuse(code: RefusalCode, reason: impl Into<String>) -> Result<(), Refusal> {
    Err(Refusal {
        code,
        reason: reason.into(),
    })
}

impl Refusal {
    /// The refusal for a prospect who can no longer be loaded at all (deleted or erased
    /// since the step was planned or the prospect enrolled): the same code as the gate's
    /// rule for a deleted prospect, so that both count as one reason.
    pub fn prospect_gone() -> Self {
        Self {
            code: RefusalCode::Deleted,
            reason: "the prospect was deleted or erased".to_owned(),
        }
    }
}

/// Decides whether a message may be queued. The first rule that applies is the reason given;
/// the order puts what a person can least fix (opt-outs, erasure) first.
pub fn check(input: &GateInput<'_>) -> Result<(), Refusal> {
    if input.deleted {
        return refuse(
            RefusalCode::Deleted,
            "the prospect is in the trash; restore them to contact them",
        );
    }
    if input.suppressed || input.objected || input.status == ProspectStatus::Unsubscribed {
        return refuse(
            RefusalCode::Suppressed,
            "the person opted out or objected, or their address is on the suppression list",
        );
    }
    let Some(_email) = input.email.filter(|e| !e.is_empty()) else {
        return refuse(RefusalCode::NoAddress, "the prospect has no email address");
    };
    if input.status == ProspectStatus::Bounced {
        return refuse(
            RefusalCode::Bounced,
            "the address bounced before; correct it to send again",
        );
    }
    let consent_only = input.country.is_some_and(|c| {
        input
            .consent_only_countries
            .iter()
            .any(|x| x.eq_ignore_ascii_case(c))
    });
    match input.lawful_basis {
        LawfulBasis::None => {
            return refuse(
                RefusalCode::NoLawfulBasis,
                "no lawful basis is recorded for this prospect (assign legitimate interest or record consent)",
            );
        }
        LawfulBasis::LegitimateInterest if consent_only => {
            return refuse(
                RefusalCode::ConsentRequired,
                format!(
                    "the recipient is in {}, where B2B email needs prior consent, and none is recorded",
                    input.country.unwrap_or_default()
                ),
            );
        }
        LawfulBasis::LegitimateInterest if !input.workspace_has_assessment => {
            return refuse(
                RefusalCode::NoAssessment,
                "legitimate interest is claimed but the workspace has no legitimate-interest assessment on record",
            );
        }
        LawfulBasis::Consent if !input.consent_with_evidence => {
            return refuse(
                RefusalCode::ConsentRequired,
                "consent is claimed but no evidence of it is recorded",
            );
        }
        _ => {}
    }
    if let Some(first) = input.template_problems.first() {
        return refuse(
            RefusalCode::TemplateProblem,
            format!("the template fails the pre-send check: {first}"),
        );
    }
    Ok(())
}

/// Refuses a header value that contains CR, LF or NUL. Such a value is an injection attempt
/// or damaged data; encoding it silently would send something nobody wrote.
pub fn check_header_value(header: &str, value: &str) -> Result<(), Refusal> {
    if value.contains(['\r', '\n', '\0']) {
        return refuse(
            RefusalCode::HeaderInjection,
            format!("the {header} would contain a line break or NUL character"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_input() -> GateInput<'static> {
        GateInput {
            email: Some("ada@example.com"),
            status: ProspectStatus::Qualified,
            deleted: false,
            objected: false,
            suppressed: false,
            lawful_basis: LawfulBasis::LegitimateInterest,
            consent_with_evidence: false,
            workspace_has_assessment: true,
            country: Some("FR"),
            consent_only_countries: &[],
            template_problems: &[],
        }
    }

    fn code(input: &GateInput<'_>) -> Option<RefusalCode> {
        check(input).err().map(|r| r.code)
    }

    #[test]
    fn a_prospect_with_a_basis_and_an_assessment_passes() {
        assert_eq!(code(&ok_input()), None);
    }

    #[test]
    fn each_rule_refuses_with_its_code() {
        let de = ["DE".to_string()];
        let problems = ["missing opt-out line".to_string()];
        let cases: Vec<(GateInput<'_>, RefusalCode)> = vec![
            (
                GateInput {
                    suppressed: true,
                    ..ok_input()
                },
                RefusalCode::Suppressed,
            ),
            (
                GateInput {
                    objected: true,
                    ..ok_input()
                },
                RefusalCode::Suppressed,
            ),
            (
                GateInput {
                    status: ProspectStatus::Unsubscribed,
                    ..ok_input()
                },
                RefusalCode::Suppressed,
            ),
            (
                GateInput {
                    deleted: true,
                    ..ok_input()
                },
                RefusalCode::Deleted,
            ),
            (
                GateInput {
                    email: None,
                    ..ok_input()
                },
                RefusalCode::NoAddress,
            ),
            (
                GateInput {
                    status: ProspectStatus::Bounced,
                    ..ok_input()
                },
                RefusalCode::Bounced,
            ),
            (
                GateInput {
                    lawful_basis: LawfulBasis::None,
                    ..ok_input()
                },
                RefusalCode::NoLawfulBasis,
            ),
            (
                GateInput {
                    workspace_has_assessment: false,
                    ..ok_input()
                },
                RefusalCode::NoAssessment,
            ),
            (
                GateInput {
                    country: Some("de"),
                    consent_only_countries: &de,
                    ..ok_input()
                },
                RefusalCode::ConsentRequired,
            ),
            (
                GateInput {
                    lawful_basis: LawfulBasis::Consent,
                    consent_with_evidence: false,
                    ..ok_input()
                },
                RefusalCode::ConsentRequired,
            ),
            (
                GateInput {
                    template_problems: &problems,
                    ..ok_input()
                },
                RefusalCode::TemplateProblem,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(code(&input), Some(expected), "{input:?}");
        }
    }

    #[test]
    fn consent_with_evidence_allows_a_consent_only_country() {
        let de = ["DE".to_string()];
        let input = GateInput {
            lawful_basis: LawfulBasis::Consent,
            consent_with_evidence: true,
            country: Some("DE"),
            consent_only_countries: &de,
            workspace_has_assessment: false,
            ..ok_input()
        };
        assert_eq!(code(&input), None);
    }

    #[test]
    fn header_values_with_line_breaks_or_nul_are_refused() {
        for bad in ["Bob\r\nBcc: x@evil.example", "a\nb", "a\0b", "a\rb"] {
            let refusal = check_header_value("recipient name", bad).unwrap_err();
            assert_eq!(refusal.code, RefusalCode::HeaderInjection);
        }
        assert!(check_header_value("subject", "Hello Bob, ça va?").is_ok());
    }
}
