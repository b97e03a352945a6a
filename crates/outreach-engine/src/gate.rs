//! The compliance gate over a stored prospect: what the scheduler asks before queueing a step
//! and what the enrolment preview asks before enrolling, so both refuse for the same reasons.

use std::collections::HashSet;

use outreach_core::campaign::SendingSettings;
use outreach_core::compliance::{self, GateInput, Refusal};
use outreach_core::prospect::Prospect;
use outreach_core::tokens::PurposeKey;
use outreach_store::{Store, StoreError};

/// Checks one prospect. `template_problems` are the pre-send check's sentences for the step
/// about to go out (none when only enrolment is decided).
pub async fn check_prospect(
    store: &Store,
    suppression_key: &PurposeKey,
    p: &Prospect,
    settings: &SendingSettings,
    has_assessment: bool,
    template_problems: &[String],
) -> Result<Result<(), Refusal>, StoreError> {
    let suppressed = suppressed(store, suppression_key, [p])
        .await?
        .contains(&p.id);
    Ok(check(
        p,
        suppressed,
        settings,
        has_assessment,
        template_problems,
    ))
}

/// [`check_prospect`] for many prospects, in their order: the suppression list is looked up
/// once per thousand of them rather than once per prospect, for enrolments of whole lists.
pub async fn check_prospects(
    store: &Store,
    suppression_key: &PurposeKey,
    prospects: &[Prospect],
    settings: &SendingSettings,
    has_assessment: bool,
) -> Result<Vec<Result<(), Refusal>>, StoreError> {
    let mut verdicts = Vec::with_capacity(prospects.len());
    for chunk in prospects.chunks(1000) {
        let on_list = suppressed(store, suppression_key, chunk).await?;
        verdicts.extend(
            chunk
                .iter()
                .map(|p| check(p, on_list.contains(&p.id), settings, has_assessment, &[])),
        );
    }
    Ok(verdicts)
}

/// The ids of those of `prospects` whose address or handles are on the suppression list, in
/// one lookup for them all.
pub async fn suppressed<'p>(
    store: &Store,
    suppression_key: &PurposeKey,
    prospects: impl IntoIterator<Item = &'p Prospect>,
) -> Result<HashSet<i64>, StoreError> {
    let hashes: Vec<(i64, Vec<String>)> = prospects
        .into_iter()
        .map(|p| {
            let hs = crate::scheduler::prospect_hashes(suppression_key, p);
            (p.id, hs.into_iter().map(|(h, _)| h).collect())
        })
        .collect();
    let all: Vec<String> = hashes
        .iter()
        .flat_map(|(_, hs)| hs.iter().cloned())
        .collect();
    let found = store.suppressed_among(&all).await?;
    Ok(hashes
        .into_iter()
        .filter(|(_, hs)| hs.iter().any(|h| found.contains(h)))
        .map(|(id, _)| id)
        .collect())
}

/// [`check_prospect`] when the caller already knows whether the prospect is suppressed (the
/// scheduler looks up a whole batch at once).
pub fn check(
    p: &Prospect,
    suppressed: bool,
    settings: &SendingSettings,
    has_assessment: bool,
    template_problems: &[String],
) -> Result<(), Refusal> {
    // Imports store ISO codes; prospects typed in before that still name their country.
    let country = p
        .country
        .as_deref()
        .map(|c| outreach_core::schedule::country_code(c).unwrap_or(c));
    compliance::check(&GateInput {
        email: p.email.as_deref(),
        status: p.status,
        deleted: p.deleted_at.is_some(),
        objected: p.objection_at.is_some(),
        suppressed,
        lawful_basis: p.lawful_basis,
        consent_with_evidence: p.consent_given,
        workspace_has_assessment: has_assessment,
        country,
        consent_only_countries: &settings.consent_only_countries,
        template_problems,
    })
}
