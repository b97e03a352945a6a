//! Contacts a referral named ("please write to Jana, jana@…"): a person adds them as prospects
//! or dismisses them.

use outreach_core::inbox::{ReferralProposal, ReferralState};
use outreach_core::normalize::normalize_email;
use outreach_core::tokens::suppression_hash;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::events::ChangedEntity;
use crate::{Api, ApiError, ErrorCode, ReplyRef};

/// A referral proposal.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ReferralRef {
    /// Its id.
    #[ts(type = "number")]
    pub referral_id: i64,
}

impl Api {
    /// The contacts a reply referred us to.
    pub async fn referrals(&self, args: ReplyRef) -> Result<Vec<ReferralProposal>, ApiError> {
        Ok(self.store.referrals(args.reply_id).await?)
    }

    /// Adds a referred contact as a prospect of the workspace (through the import path, as
    /// entered by hand, without a lawful basis: someone must give them one before any
    /// message goes out). A contact who is a prospect already is linked, not duplicated; an
    /// address that asked not to be contacted is refused.
    pub async fn accept_referral(&self, args: ReferralRef) -> Result<ReferralProposal, ApiError> {
        let (workspace_id, proposal) = self.store.referral(args.referral_id).await?;
        if proposal.state != ReferralState::Proposed {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("this referral was already {}", proposal.state.as_str()),
            ));
        }
        let email = normalize_email(&proposal.email)
            .map_err(|e| ApiError::invalid(format!("{}: {e}", proposal.email)))?
            .address;
        let hash = suppression_hash(&self.keys.suppression, "email", &email);
        if self.store.is_suppressed(&[hash]).await? {
            return Err(ApiError::new(
                ErrorCode::ComplianceRefused,
                format!("{email} asked not to be contacted; it stays on the suppression list"),
            ));
        }
        let existing = self.store.prospect_with_email(workspace_id, &email).await?;
        let prospect_id = match existing {
            Some(id) => id,
            None => {
                let reply = self.store.reply(proposal.reply_id).await?;
                let referrer = self.store.prospect(reply.prospect_id).await?;
                // A colleague at the same domain most likely works at the same company.
                let same_domain = referrer
                    .email
                    .as_deref()
                    .and_then(|e| e.rsplit_once('@'))
                    .zip(email.rsplit_once('@'))
                    .is_some_and(|((_, a), (_, b))| a.eq_ignore_ascii_case(b));
                let company = if same_domain {
                    referrer.company.clone().unwrap_or_default()
                } else {
                    String::new()
                };
                let (first, last) = split_name(proposal.name.as_deref().unwrap_or_default());
                let notes = format!(
                    "Referred by {} in reply #{}",
                    reply.prospect_name, proposal.reply_id
                );
                let mut csv = csv::Writer::from_writer(Vec::new());
                let write = |w: &mut csv::Writer<Vec<u8>>, row: [&str; 5]| {
                    w.write_record(row)
                        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
                };
                write(
                    &mut csv,
                    ["email", "first_name", "last_name", "company", "notes"],
                )?;
                write(&mut csv, [&email, first, last, &company, &notes])?;
                let bytes = csv
                    .into_inner()
                    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
                let report = self
                    .import_bytes(
                        workspace_id,
                        &format!("referral in reply #{}", proposal.reply_id),
                        bytes,
                        None,
                        Some(outreach_core::SourceType::Manual),
                        self.config.actor(),
                    )
                    .await?;
                if let Some(problem) = report.row_errors.first() {
                    let why: Vec<String> = problem
                        .errors
                        .iter()
                        .map(|e| format!("{}: {}", e.column, e.message))
                        .collect();
                    return Err(ApiError::invalid(format!(
                        "{email} cannot be added ({})",
                        why.join("; ")
                    )));
                }
                self.store
                    .prospect_with_email(workspace_id, &email)
                    .await?
                    .ok_or_else(|| {
                        ApiError::new(
                            ErrorCode::Internal,
                            format!("{email} was imported but cannot be found"),
                        )
                    })?
            }
        };
        let (_, settled) = self
            .store
            .settle_referral(
                args.referral_id,
                ReferralState::Accepted,
                Some(prospect_id),
                self.config.actor(),
            )
            .await?;
        self.changed(Some(workspace_id), ChangedEntity::Prospects);
        self.changed(Some(workspace_id), ChangedEntity::Replies);
        Ok(settled)
    }

    /// Dismisses a referred contact.
    pub async fn dismiss_referral(&self, args: ReferralRef) -> Result<ReferralProposal, ApiError> {
        let (workspace_id, settled) = self
            .store
            .settle_referral(
                args.referral_id,
                ReferralState::Dismissed,
                None,
                self.config.actor(),
            )
            .await?;
        self.changed(Some(workspace_id), ChangedEntity::Replies);
        Ok(settled)
    }
}

/// "Jana Novak" -> ("Jana", "Novak"); one word is a first name.
fn split_name(name: &str) -> (&str, &str) {
    let name = name.trim();
    match name.split_once(char::is_whitespace) {
        Some((first, last)) => (first, last.trim()),
        None => (name, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::split_name;

    #[test]
    fn names_split_at_the_first_space() {
        assert_eq!(split_name(" Jana  Novak "), ("Jana", "Novak"));
        assert_eq!(split_name("Jana van der Berg"), ("Jana", "van der Berg"));
        assert_eq!(split_name("Jana"), ("Jana", ""));
        assert_eq!(split_name(""), ("", ""));
    }
}
