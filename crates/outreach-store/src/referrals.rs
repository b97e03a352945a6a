//! Contacts a referral named: proposed as prospects, then added or dismissed by a person.

use outreach_core::inbox::{ReferralProposal, ReferralState};

use crate::audit::{About, record_about};
use crate::{Actor, Store, StoreError};

struct ProposalRow {
    workspace_id: i64,
    id: i64,
    reply_id: i64,
    email: String,
    name: Option<String>,
    state: String,
    prospect_id: Option<i64>,
}

impl TryFrom<ProposalRow> for ReferralProposal {
    type Error = StoreError;
    fn try_from(r: ProposalRow) -> Result<Self, StoreError> {
        Ok(ReferralProposal {
            id: r.id,
            reply_id: r.reply_id,
            email: r.email,
            name: r.name,
            state: ReferralState::parse(&r.state)
                .ok_or_else(|| StoreError::Corrupt(format!("referral state '{}'", r.state)))?,
            prospect_id: r.prospect_id,
        })
    }
}

impl Store {
    /// The contacts a reply referred us to, in the order named.
    pub async fn referrals(&self, reply_id: i64) -> Result<Vec<ReferralProposal>, StoreError> {
        sqlx::query_as!(
            ProposalRow,
            r#"SELECT workspace_id, id AS "id!", reply_id, email, name, state, prospect_id
               FROM referral_proposals WHERE reply_id = ? ORDER BY id"#,
            reply_id
        )
        .fetch_all(self.readers())
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }

    /// One proposal, with its workspace.
    pub async fn referral(&self, id: i64) -> Result<(i64, ReferralProposal), StoreError> {
        let row = sqlx::query_as!(
            ProposalRow,
            r#"SELECT workspace_id, id AS "id!", reply_id, email, name, state, prospect_id
               FROM referral_proposals WHERE id = ?"#,
            id
        )
        .fetch_optional(self.readers())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("referral {id}")))?;
        Ok((row.workspace_id, row.try_into()?))
    }

    /// Settles a proposal: accepted (with the prospect it became) or dismissed. Only a
    /// proposal still open can be settled. Returns it with its workspace.
    pub async fn settle_referral(
        &self,
        id: i64,
        state: ReferralState,
        prospect_id: Option<i64>,
        actor: Actor,
    ) -> Result<(i64, ReferralProposal), StoreError> {
        let mut tx = self.begin_write().await?;
        let state_name = state.as_str();
        let row = sqlx::query!(
            r#"UPDATE referral_proposals SET state = ?, prospect_id = ?
               WHERE id = ? AND state = 'proposed'
               RETURNING workspace_id, reply_id"#,
            state_name,
            prospect_id,
            id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            drop(tx);
            let (_, now) = self.referral(id).await?;
            return Err(StoreError::Conflict(format!(
                "this referral was already {}",
                now.state.as_str()
            )));
        };
        let summary = match prospect_id {
            Some(p) => format!(
                "referral #{id} from reply #{} {state_name} as prospect #{p}",
                row.reply_id
            ),
            None => format!("referral #{id} from reply #{} {state_name}", row.reply_id),
        };
        record_about(
            &mut tx,
            Some(row.workspace_id),
            prospect_id.map_or(About::Nobody, About::One),
            actor,
            "referral.settled",
            &summary,
            Some(&serde_json::json!({ "referral": id, "reply": row.reply_id, "prospect": prospect_id })),
        )
        .await?;
        tx.commit().await?;
        self.referral(id).await
    }
}

impl Store {
    /// The workspace's prospect with this (normalised) address, in the trash or not.
    pub async fn prospect_with_email(
        &self,
        workspace_id: i64,
        email: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar!(
            r#"SELECT id AS "id!" FROM prospects WHERE workspace_id = ? AND email = ?
               ORDER BY deleted_at IS NOT NULL, id LIMIT 1"#,
            workspace_id,
            email
        )
        .fetch_optional(self.readers())
        .await?)
    }
}
