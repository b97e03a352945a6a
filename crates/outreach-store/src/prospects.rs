//! Prospects: listing with filters, sorting and full-text search; editing; soft deletion with
//! undo; scores.

use outreach_core::mapping::SourceType;
use outreach_core::normalize::{
    clean_text, normalize_email, normalize_linkedin_url, normalize_website, normalize_x_handle,
    parse_followers,
};
use outreach_core::prospect::{LawfulBasis, Prospect, ProspectStatus};
use outreach_core::scoring::ScoreBreakdown;
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, QueryBuilder, Sqlite};
use ts_rs::TS;

use crate::audit::{About, record_about};
use crate::error::{conflict_or, corrupt};
use crate::{Actor, Store, StoreError};

/// Columns a prospect list can be sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SortField {
    /// Last name, then first name.
    #[default]
    Name,
    /// Company.
    Company,
    /// Score.
    Score,
    /// Country.
    Country,
    /// Status.
    Status,
    /// When added.
    CreatedAt,
}

impl SortField {
    fn column(self) -> &'static str {
        match self {
            // These match the expressions of the prospects_live_* indexes exactly, so SQLite
            // walks an index instead of sorting. Rows are created in id order.
            Self::Name => {
                "coalesce(p.last_name, p.first_name, p.email, p.x_handle, p.linkedin_url) COLLATE NOCASE {dir}"
            }
            Self::Company => "p.company COLLATE NOCASE {dir}",
            Self::Score => "p.score {dir}",
            Self::Country => "p.country COLLATE NOCASE {dir}",
            Self::Status => "p.status {dir}",
            Self::CreatedAt => "p.id {dir}",
        }
    }
}

/// What to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProspectQuery {
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Words to find in names, e-mail, company, website, notes, job title, X handle, LinkedIn
    /// profile and custom field values (prefix match).
    pub search: Option<String>,
    /// Only these statuses (any of them).
    pub statuses: Vec<ProspectStatus>,
    /// Only this source.
    pub source_type: Option<SourceType>,
    /// Only this country (exact, case-insensitive).
    pub country: Option<String>,
    /// Minimum score (inclusive).
    pub min_score: Option<u8>,
    /// Maximum score (inclusive).
    pub max_score: Option<u8>,
    /// Sort column.
    pub sort: SortField,
    /// Sort descending.
    pub descending: bool,
    /// List deleted prospects (the trash) instead of live ones.
    pub deleted: bool,
    /// Only these prospects (those ticked in the table); absent for any.
    #[serde(default)]
    #[ts(optional, type = "Array<number>")]
    pub ids: Option<Vec<i64>>,
    /// Rows to skip.
    pub offset: u32,
    /// Rows to return (at most 1000).
    pub limit: u32,
}

/// One page of a prospect list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ProspectPage {
    /// Rows matching the filters, in all pages.
    pub total: u32,
    /// This page.
    pub rows: Vec<Prospect>,
}

/// Changes to a prospect. `None` leaves a field alone; an empty string clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProspectPatch {
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// X handle.
    pub x_handle: Option<String>,
    /// LinkedIn profile URL.
    pub linkedin_url: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// IANA time zone for the send window (`Europe/Berlin`); empty: from the country.
    pub time_zone: Option<String>,
    /// Follower count, as text (`1.2k` works).
    pub followers: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Status.
    pub status: Option<ProspectStatus>,
}

/// Counts for the filter menus of a workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Facets {
    /// Live prospects.
    pub total: u32,
    /// Prospects in the trash.
    pub deleted: u32,
    /// Countries present, most common first.
    pub countries: Vec<String>,
    /// Sources present.
    pub source_types: Vec<SourceType>,
    /// Prospects per status.
    pub statuses: Vec<StatusCount>,
}

/// How many prospects have a status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StatusCount {
    /// The status.
    pub status: ProspectStatus,
    /// How many.
    pub count: u32,
}

/// A prospect whose status a bulk change set, and the status it had before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StatusBefore {
    /// The prospect.
    #[ts(type = "number")]
    pub id: i64,
    /// Its status before the change.
    pub status: ProspectStatus,
}

/// What a bulk status change did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StatusChange {
    /// The prospects it changed, with the status each had (for an undo).
    pub changed: Vec<StatusBefore>,
    /// Those it left as they are because they opted out: they stay unsubscribed.
    #[ts(type = "number[]")]
    pub opted_out: Vec<i64>,
}

/// A score to store, with the status it implies.
#[derive(Debug, Clone)]
pub struct ScoreUpdate {
    /// The prospect.
    pub id: i64,
    /// The breakdown.
    pub breakdown: ScoreBreakdown,
    /// A new status, if scoring changes it.
    pub status: Option<ProspectStatus>,
}

/// What the scorer needs of a prospect, and nothing more: loading whole prospects made
/// loading 100,000 of them take longer than scoring them.
#[derive(Debug, Clone)]
pub struct ScoringInput {
    /// The prospect.
    pub id: i64,
    /// Its status.
    pub status: ProspectStatus,
    /// E-mail address.
    pub email: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// X handle.
    pub x_handle: Option<String>,
    /// LinkedIn profile URL.
    pub linkedin_url: Option<String>,
    /// Instagram handle.
    pub instagram: Option<String>,
    /// Follower count.
    pub followers: Option<i64>,
}

impl ScoringInput {
    /// The facts the scorer reads.
    pub fn facts(&self) -> outreach_core::scoring::ProspectFacts<'_> {
        outreach_core::scoring::ProspectFacts {
            email: self.email.as_deref(),
            website: self.website.as_deref(),
            x_handle: self.x_handle.as_deref(),
            linkedin_url: self.linkedin_url.as_deref(),
            instagram: self.instagram.as_deref(),
            followers: self.followers,
        }
    }
}

const SELECT_PROSPECT: &str = "SELECT p.id, p.workspace_id, p.first_name, p.last_name, p.email, \
    p.email_original, p.domain, p.website, p.x_handle, p.linkedin_url, p.instagram, p.company, \
    p.title, p.country, p.time_zone, p.followers, p.notes, p.source_type, p.source_file, p.collected_at, \
    p.status, p.score, NULL AS score_breakdown, p.lawful_basis, p.consent_given, p.objection_at, \
    p.last_inbound_at, p.created_at, p.updated_at, p.deleted_at, p.custom_fields FROM prospects p";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    workspace_id: i64,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    email_original: Option<String>,
    domain: Option<String>,
    website: Option<String>,
    x_handle: Option<String>,
    linkedin_url: Option<String>,
    instagram: Option<String>,
    company: Option<String>,
    title: Option<String>,
    country: Option<String>,
    time_zone: Option<String>,
    followers: Option<i64>,
    notes: Option<String>,
    source_type: String,
    source_file: Option<String>,
    collected_at: String,
    status: String,
    score: Option<i64>,
    score_breakdown: Option<String>,
    lawful_basis: String,
    consent_given: bool,
    objection_at: Option<String>,
    last_inbound_at: Option<String>,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
    custom_fields: Option<String>,
}

impl Row {
    fn into_prospect(self, with_breakdown: bool) -> Result<Prospect, StoreError> {
        let corrupt = |what: &str, v: &str| {
            StoreError::Corrupt(format!("prospect #{}: {what} '{v}'", self.id))
        };
        Ok(Prospect {
            source_type: SourceType::parse(&self.source_type)
                .ok_or_else(|| corrupt("source", &self.source_type))?,
            status: ProspectStatus::parse(&self.status)
                .ok_or_else(|| corrupt("status", &self.status))?,
            lawful_basis: LawfulBasis::parse(&self.lawful_basis)
                .ok_or_else(|| corrupt("lawful basis", &self.lawful_basis))?,
            score: self.score.and_then(|s| u8::try_from(s).ok()),
            custom_fields: match &self.custom_fields {
                Some(json) => serde_json::from_str(json)
                    .map_err(|e| corrupt("custom fields", &e.to_string()))?,
                None => Default::default(),
            },
            score_breakdown: match (&self.score_breakdown, with_breakdown) {
                (Some(json), true) => Some(
                    serde_json::from_str(json)
                        .map_err(|e| corrupt("score breakdown", &e.to_string()))?,
                ),
                _ => None,
            },
            id: self.id,
            workspace_id: self.workspace_id,
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            email_original: self.email_original,
            domain: self.domain,
            website: self.website,
            x_handle: self.x_handle,
            linkedin_url: self.linkedin_url,
            instagram: self.instagram,
            company: self.company,
            title: self.title,
            country: self.country,
            time_zone: self.time_zone,
            followers: self.followers,
            notes: self.notes,
            source_file: self.source_file,
            collected_at: self.collected_at,
            consent_given: self.consent_given,
            objection_at: self.objection_at,
            last_inbound_at: self.last_inbound_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            deleted_at: self.deleted_at,
        })
    }
}

/// Turns what a person typed in the search box into an FTS5 query: each word must appear as a
/// word prefix. Quotes are doubled so no input can inject FTS syntax. Words split where the
/// index's tokenizer splits (at anything not a letter or digit, `_` included): a term it would
/// split itself becomes a phrase query, which an index without positions refuses.
pub(crate) fn fts_query(search: &str) -> Option<String> {
    let terms: Vec<String> = outreach_core::search::words(search)
        .map(|t| format!("\"{}\"*", t.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

/// Those of `ids` that are `among` the given ones, each once, in the order of `ids`: what a
/// set-based write over a caller's list touched, back in the order the caller chose.
pub(crate) fn in_order_once(ids: &[i64], among: &std::collections::HashSet<i64>) -> Vec<i64> {
    let mut seen = std::collections::HashSet::new();
    ids.iter()
        .copied()
        .filter(|id| among.contains(id) && seen.insert(*id))
        .collect()
}

/// The query's sort, then the id in the same direction, so that the order is total.
fn push_order(qb: &mut QueryBuilder<Sqlite>, q: &ProspectQuery) {
    let dir = if q.descending { "DESC" } else { "ASC" };
    // NULLs (no score, no company) go last in either direction.
    qb.push(" ORDER BY ");
    qb.push(q.sort.column().replace("{dir}", dir));
    qb.push(", p.id ").push(dir);
}

fn push_filters(qb: &mut QueryBuilder<Sqlite>, q: &ProspectQuery, fts: &Option<String>) {
    qb.push(" WHERE p.workspace_id = ")
        .push_bind(q.workspace_id);
    qb.push(if q.deleted {
        " AND p.deleted_at IS NOT NULL"
    } else {
        " AND p.deleted_at IS NULL"
    });
    if let Some(fts) = fts {
        qb.push(" AND p.id IN (SELECT rowid FROM prospects_fts WHERE prospects_fts MATCH ")
            .push_bind(fts.clone())
            .push(")");
    }
    if !q.statuses.is_empty() {
        qb.push(" AND p.status IN (");
        let mut sep = qb.separated(", ");
        for s in &q.statuses {
            sep.push_bind(s.as_str().to_string());
        }
        qb.push(")");
    }
    if let Some(source) = q.source_type {
        qb.push(" AND p.source_type = ")
            .push_bind(source.as_str().to_string());
    }
    if let Some(country) = q.country.as_deref().filter(|c| !c.trim().is_empty()) {
        // Stored countries are ISO codes when recognised, so "Germany" finds "DE".
        let wanted = outreach_core::normalize::normalize_country(country)
            .unwrap_or_else(|| country.trim().to_string());
        qb.push(" AND p.country = ")
            .push_bind(wanted)
            .push(" COLLATE NOCASE");
    }
    if let Some(ids) = &q.ids {
        // Bound as one JSON array: a selection can be larger than SQLite's parameter limit.
        qb.push(" AND p.id IN (SELECT value FROM json_each(")
            .push_bind(serde_json::Value::from(ids.clone()).to_string())
            .push("))");
    }
    if let Some(min) = q.min_score {
        qb.push(" AND p.score >= ").push_bind(i64::from(min));
    }
    if let Some(max) = q.max_score {
        qb.push(" AND p.score <= ").push_bind(i64::from(max));
    }
}

impl Store {
    /// One page of prospects. Filters and the sort column vary per call, so this query is
    /// built at run time (with bound parameters only) rather than checked at compile time.
    pub async fn list_prospects(&self, q: &ProspectQuery) -> Result<ProspectPage, StoreError> {
        let fts = q.search.as_deref().and_then(fts_query);
        let mut count = QueryBuilder::<Sqlite>::new("SELECT count(*) FROM prospects p");
        push_filters(&mut count, q, &fts);
        let total: i64 = count.build_query_scalar().fetch_one(self.readers()).await?;

        let mut list = QueryBuilder::<Sqlite>::new(SELECT_PROSPECT);
        push_filters(&mut list, q, &fts);
        push_order(&mut list, q);
        list.push(" LIMIT ")
            .push_bind(i64::from(q.limit.clamp(1, 1000)));
        list.push(" OFFSET ").push_bind(i64::from(q.offset));
        let rows: Vec<Row> = list.build_query_as().fetch_all(self.readers()).await?;
        Ok(ProspectPage {
            total: u32::try_from(total).unwrap_or(u32::MAX),
            rows: rows
                .into_iter()
                .map(|r| r.into_prospect(false))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The ids of every prospect matching the query's filters, in its order; its offset and
    /// limit are ignored. For acting on a whole filtered list (enrolling it, assigning a
    /// lawful basis): paging through it instead would read the skipped rows again for every
    /// page, which grows with the square of the list.
    pub async fn matching_prospect_ids(&self, q: &ProspectQuery) -> Result<Vec<i64>, StoreError> {
        let fts = q.search.as_deref().and_then(fts_query);
        let mut ids = QueryBuilder::<Sqlite>::new("SELECT p.id FROM prospects p");
        push_filters(&mut ids, q, &fts);
        push_order(&mut ids, q);
        Ok(ids.build_query_scalar().fetch_all(self.readers()).await?)
    }

    /// One prospect with its score breakdown, deleted or not.
    pub async fn prospect(&self, id: i64) -> Result<Prospect, StoreError> {
        let row: Option<Row> =
            sqlx::query_as(AssertSqlSafe(format!("{SELECT_PROSPECT} WHERE p.id = ?")))
                .bind(id)
                .fetch_optional(self.readers())
                .await?;
        let mut row = row.ok_or_else(|| StoreError::NotFound(format!("prospect #{id}")))?;
        row.score_breakdown = sqlx::query_scalar!(
            "SELECT breakdown FROM prospect_scores WHERE prospect_id = ?",
            id
        )
        .fetch_optional(self.readers())
        .await?;
        row.into_prospect(true)
    }

    /// Several prospects by id, in one query, without their score explanations; ids that do
    /// not exist are left out.
    pub async fn prospects_by_ids(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Prospect>, StoreError> {
        let json = serde_json::to_string(ids).map_err(corrupt)?;
        let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
            "{SELECT_PROSPECT} WHERE p.id IN (SELECT value FROM json_each(?))"
        )))
        .bind(json)
        .fetch_all(self.readers())
        .await?;
        rows.into_iter()
            .map(|r| r.into_prospect(false).map(|p| (p.id, p)))
            .collect()
    }

    /// Applies a patch after normalising and validating every changed field. Nothing is
    /// written if any field is invalid. Their messages queued and never tried were written
    /// from the old details: they are taken back, to be written again (see
    /// [`crate::outbox::withdraw_unsent_to`]). Returns the prospect and how many were.
    pub async fn update_prospect(
        &self,
        id: i64,
        patch: &ProspectPatch,
        actor: Actor,
    ) -> Result<(Prospect, u32), StoreError> {
        // Read inside the write transaction: the whole row is written back, so a read taken
        // before it could overwrite a change (an import merge, another edit) made in between.
        let mut tx = self.begin_write().await?;
        let row: Option<Row> =
            sqlx::query_as(AssertSqlSafe(format!("{SELECT_PROSPECT} WHERE p.id = ?")))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let mut p = row
            .ok_or_else(|| StoreError::NotFound(format!("prospect #{id}")))?
            .into_prospect(false)?;
        if p.deleted_at.is_some() {
            return Err(StoreError::Invalid(format!(
                "prospect #{id} is deleted; restore it before editing"
            )));
        }
        let mut changed: Vec<&str> = Vec::new();
        let invalid =
            |e: outreach_core::normalize::NormalizeError| StoreError::Invalid(e.to_string());
        fn set(
            field: &mut Option<String>,
            value: Option<String>,
            name: &'static str,
            changed: &mut Vec<&'static str>,
        ) {
            if *field != value {
                *field = value;
                changed.push(name);
            }
        }
        let blank = |s: &String| s.trim().is_empty();
        if let Some(v) = &patch.first_name {
            set(&mut p.first_name, clean_text(v), "first_name", &mut changed);
        }
        if let Some(v) = &patch.last_name {
            set(&mut p.last_name, clean_text(v), "last_name", &mut changed);
        }
        if let Some(v) = &patch.email {
            let email = if blank(v) {
                None
            } else {
                Some(normalize_email(v).map_err(invalid)?)
            };
            let before = p.email.clone();
            set(
                &mut p.email,
                email.as_ref().map(|e| e.address.clone()),
                "email",
                &mut changed,
            );
            if p.email != before {
                p.email_original = email.as_ref().map(|_| v.trim().to_string());
                if let Some(e) = email {
                    p.domain = Some(e.domain);
                }
            }
        }
        if let Some(v) = &patch.website {
            let w = if blank(v) {
                None
            } else {
                Some(normalize_website(v).map_err(invalid)?)
            };
            if p.email.is_none() {
                p.domain = w.as_ref().map(|w| w.host.clone());
            }
            set(&mut p.website, w.map(|w| w.url), "website", &mut changed);
        }
        if let Some(v) = &patch.x_handle {
            let h = if blank(v) {
                None
            } else {
                Some(normalize_x_handle(v).map_err(invalid)?)
            };
            set(&mut p.x_handle, h, "x_handle", &mut changed);
        }
        if let Some(v) = &patch.linkedin_url {
            let u = if blank(v) {
                None
            } else {
                Some(normalize_linkedin_url(v).map_err(invalid)?)
            };
            set(&mut p.linkedin_url, u, "linkedin_url", &mut changed);
        }
        if let Some(v) = &patch.company {
            set(&mut p.company, clean_text(v), "company", &mut changed);
        }
        if let Some(v) = &patch.title {
            set(&mut p.title, clean_text(v), "title", &mut changed);
        }
        if let Some(v) = &patch.country {
            let v = outreach_core::normalize::normalize_country(v);
            set(&mut p.country, v, "country", &mut changed);
        }
        if let Some(v) = &patch.time_zone {
            let z = outreach_core::normalize::normalize_time_zone(v).map_err(invalid)?;
            set(&mut p.time_zone, z, "time_zone", &mut changed);
        }
        if let Some(v) = &patch.notes {
            set(&mut p.notes, clean_text(v), "notes", &mut changed);
        }
        if let Some(v) = &patch.followers {
            let n = if blank(v) {
                None
            } else {
                Some(parse_followers(v).map_err(invalid)?)
            };
            if p.followers != n {
                p.followers = n;
                changed.push("followers");
            }
        }
        if let Some(s) = patch.status
            && p.status != s
        {
            if let Some(why) = p.status.refuse_by_hand(s, p.objection_at.is_some()) {
                return Err(StoreError::Invalid(format!("prospect #{id}: {why}")));
            }
            p.status = s;
            changed.push("status");
        }
        if p.email.is_none() && p.x_handle.is_none() && p.linkedin_url.is_none() {
            return Err(StoreError::Invalid(
                "a prospect needs an e-mail, X handle or LinkedIn URL".into(),
            ));
        }
        if changed.is_empty() {
            tx.rollback().await?;
            return Ok((self.prospect(id).await?, 0));
        }
        let status = p.status.as_str();
        sqlx::query!(
            r#"UPDATE prospects SET first_name = ?, last_name = ?, email = ?, email_original = ?,
                   domain = ?, website = ?, x_handle = ?, linkedin_url = ?, company = ?, title = ?,
                   country = ?, time_zone = ?, followers = ?, notes = ?, status = ?,
                   updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
               WHERE id = ?"#,
            p.first_name,
            p.last_name,
            p.email,
            p.email_original,
            p.domain,
            p.website,
            p.x_handle,
            p.linkedin_url,
            p.company,
            p.title,
            p.country,
            p.time_zone,
            p.followers,
            p.notes,
            status,
            id
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict_or(e, || {
                "another prospect in this workspace already has this e-mail, X handle or LinkedIn URL".into()
            })
        })?;
        // Their queued messages were written from what changed (address, name, country...).
        let ids = format!("[{id}]");
        let taken = crate::outbox::withdraw_unsent_to(&mut tx, p.workspace_id, &ids).await?;
        let mut summary = format!("Edited prospect #{id} ({})", changed.join(", "));
        if taken > 0 {
            summary.push_str(&format!(
                "; {taken} queued message(s) to them taken back, to be written again"
            ));
        }
        let details = serde_json::json!({ "prospect_id": id, "fields": changed });
        record_about(
            &mut tx,
            Some(p.workspace_id),
            About::One(id),
            actor,
            "prospect.update",
            &summary,
            Some(&details),
        )
        .await?;
        tx.commit().await?;
        Ok((self.prospect(id).await?, taken))
    }

    /// Moves prospects to the trash (or back, with `restore`). Returns how many changed.
    pub async fn set_prospects_deleted(
        &self,
        workspace_id: i64,
        ids: &[i64],
        restore: bool,
        actor: Actor,
    ) -> Result<u32, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let ids_json = serde_json::to_string(ids).map_err(corrupt)?;
        let mut tx = self.begin_write().await?;
        let changed = if restore {
            sqlx::query!(
                r#"UPDATE prospects SET deleted_at = NULL,
                       updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                   WHERE workspace_id = ? AND deleted_at IS NOT NULL
                     AND id IN (SELECT value FROM json_each(?))"#,
                workspace_id,
                ids_json
            )
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query!(
                r#"UPDATE prospects SET deleted_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                       updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                   WHERE workspace_id = ? AND deleted_at IS NULL
                     AND id IN (SELECT value FROM json_each(?))"#,
                workspace_id,
                ids_json
            )
            .execute(&mut *tx)
            .await?
        }
        .rows_affected();
        let n = u32::try_from(changed).unwrap_or(u32::MAX);
        if n > 0 {
            let (action, mut summary) = if restore {
                ("prospect.restore", format!("Restored {n} prospect(s)"))
            } else {
                ("prospect.delete", format!("Deleted {n} prospect(s)"))
            };
            // No message goes to a prospect in the trash: what was queued for them is taken
            // back (and refused by the gate when due); a restore lets their sequences go on.
            if restore {
                let resumed = resume_after_trash(&mut tx, &ids_json).await?;
                if resumed > 0 {
                    summary.push_str(&format!("; {resumed} sequence(s) go on"));
                }
            } else {
                let taken =
                    crate::outbox::withdraw_unsent_to(&mut tx, workspace_id, &ids_json).await?;
                if taken > 0 {
                    summary.push_str(&format!("; {taken} queued message(s) to them taken back"));
                }
                let answers =
                    crate::outbox::withdraw_answers_to(&mut tx, workspace_id, &ids_json).await?;
                if answers > 0 {
                    summary.push_str(&format!("; {answers} queued answer(s) back to drafts"));
                }
            }
            let details = serde_json::json!({ "prospect_ids": ids });
            record_about(
                &mut tx,
                Some(workspace_id),
                About::Many(ids),
                actor,
                action,
                &summary,
                Some(&details),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Gives live prospects of the workspace a status, in one transaction with one audit
    /// entry. Returns those it changed with the status each had, so that it can be undone, and
    /// those it left because they opted out (see [`ProspectStatus::refuse_by_hand`]).
    pub async fn set_prospects_status(
        &self,
        workspace_id: i64,
        ids: &[i64],
        status: ProspectStatus,
        actor: Actor,
    ) -> Result<StatusChange, StoreError> {
        if let Some(why) = status.refused_as_hand_target() {
            return Err(StoreError::Invalid(why.into()));
        }
        if ids.is_empty() {
            return Ok(StatusChange::default());
        }
        let ids_json = serde_json::to_string(ids).map_err(corrupt)?;
        let status_name = status.as_str();
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query!(
            r#"SELECT id AS "id!", status, objection_at IS NOT NULL AS "objected!: bool"
               FROM prospects
               WHERE workspace_id = ? AND deleted_at IS NULL AND status != ?
                 AND id IN (SELECT value FROM json_each(?))
               ORDER BY id"#,
            workspace_id,
            status_name,
            ids_json
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut before = Vec::with_capacity(rows.len());
        let mut opted_out = Vec::new();
        for r in rows {
            let was = ProspectStatus::parse(&r.status).ok_or_else(|| {
                StoreError::Corrupt(format!("prospect #{}: status '{}'", r.id, r.status))
            })?;
            if was.refuse_by_hand(status, r.objected).is_some() {
                opted_out.push(r.id);
            } else {
                before.push(StatusBefore {
                    id: r.id,
                    status: was,
                });
            }
        }
        if before.is_empty() {
            tx.rollback().await?;
            return Ok(StatusChange {
                changed: before,
                opted_out,
            });
        }
        let changed: Vec<i64> = before.iter().map(|b| b.id).collect();
        let changed_json = serde_json::to_string(&changed).map_err(corrupt)?;
        sqlx::query!(
            r#"UPDATE prospects SET status = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
               WHERE id IN (SELECT value FROM json_each(?))"#,
            status_name,
            changed_json
        )
        .execute(&mut *tx)
        .await?;
        // As for an edit: what waits for them was written and checked with their old status
        // (a follow-up "only if no reply yet" ends for someone marked interested or not).
        let taken = crate::outbox::withdraw_unsent_to(&mut tx, workspace_id, &changed_json).await?;
        let mut summary = format!("Set {} prospect(s) to {status_name}", changed.len());
        if taken > 0 {
            summary.push_str(&format!(
                "; {taken} queued message(s) to them taken back, to be written again"
            ));
        }
        let details = serde_json::json!({ "status": status_name, "prospect_ids": changed });
        record_about(
            &mut tx,
            Some(workspace_id),
            About::Many(&changed),
            actor,
            "prospects.status",
            &summary,
            Some(&details),
        )
        .await?;
        tx.commit().await?;
        Ok(StatusChange {
            changed: before,
            opted_out,
        })
    }

    /// What scoring needs of every live prospect of a workspace.
    pub async fn scoring_inputs(&self, workspace_id: i64) -> Result<Vec<ScoringInput>, StoreError> {
        let rows = sqlx::query!(
            r#"SELECT id AS "id!", status, email, website, x_handle, linkedin_url, instagram, followers
               FROM prospects WHERE workspace_id = ? AND deleted_at IS NULL ORDER BY id"#,
            workspace_id
        )
        .fetch_all(self.readers())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ScoringInput {
                    status: ProspectStatus::parse(&r.status).ok_or_else(|| {
                        StoreError::Corrupt(format!("prospect #{}: status '{}'", r.id, r.status))
                    })?,
                    id: r.id,
                    email: r.email,
                    website: r.website,
                    x_handle: r.x_handle,
                    linkedin_url: r.linkedin_url,
                    instagram: r.instagram,
                    followers: r.followers,
                })
            })
            .collect()
    }

    /// Stores scores and status changes in one transaction, with one audit entry. A template
    /// can use the score (`{% if score >= 80 %}`), so the never-tried queued campaign messages
    /// of those whose score changed were written from the old one: they are taken back, to be
    /// written again (see [`crate::outbox::withdraw_unsent_to`]). Returns how many were.
    pub async fn apply_scores(
        &self,
        workspace_id: i64,
        updates: &[ScoreUpdate],
        summary: &str,
        actor: Actor,
    ) -> Result<u32, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut rewritten = 0u32;
        // Bound multi-row statements: handing SQLite one big JSON document per batch made it
        // parse ~60 MB of explanations for 100,000 prospects.
        for chunk in updates.chunks(1000) {
            let mut changed = QueryBuilder::<Sqlite>::new("WITH v (id, score) AS (");
            changed.push_values(chunk, |mut b, u| {
                b.push_bind(u.id).push_bind(i64::from(u.breakdown.total));
            });
            changed
                .push(
                    ") SELECT p.id FROM v JOIN prospects p ON p.id = v.id \
                     WHERE p.score IS NOT v.score AND p.workspace_id = ",
                )
                .push_bind(workspace_id);
            let changed: Vec<i64> = changed.build_query_scalar().fetch_all(&mut *tx).await?;
            let mut scores = QueryBuilder::<Sqlite>::new("WITH v (id, score, status) AS (");
            scores.push_values(chunk, |mut b, u| {
                b.push_bind(u.id)
                    .push_bind(i64::from(u.breakdown.total))
                    .push_bind(u.status.map(|s| s.as_str().to_string()));
            });
            scores
                .push(
                    ") UPDATE prospects SET score = v.score, \
                     status = coalesce(v.status, prospects.status), \
                     scored_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
                     FROM v WHERE prospects.id = v.id AND prospects.workspace_id = ",
                )
                .push_bind(workspace_id);
            scores.build().execute(&mut *tx).await?;

            let mut explanations = QueryBuilder::<Sqlite>::new(
                "INSERT INTO prospect_scores (prospect_id, breakdown) ",
            );
            let mut encoded = Vec::with_capacity(chunk.len());
            for u in chunk {
                encoded.push((u.id, serde_json::to_string(&u.breakdown).map_err(corrupt)?));
            }
            explanations.push_values(encoded, |mut b, (id, json)| {
                b.push_bind(id).push_bind(json);
            });
            explanations
                .push(" ON CONFLICT (prospect_id) DO UPDATE SET breakdown = excluded.breakdown");
            explanations.build().execute(&mut *tx).await?;
            if !changed.is_empty() {
                let ids = serde_json::to_string(&changed).map_err(corrupt)?;
                rewritten += crate::outbox::withdraw_unsent_to(&mut tx, workspace_id, &ids).await?;
            }
        }
        let details = serde_json::json!({ "scored": updates.len(), "rewritten": rewritten });
        let mut summary = summary.to_owned();
        if rewritten > 0 {
            summary.push_str(&format!(
                "; {rewritten} queued message(s) to those whose score changed taken back, to be written again"
            ));
        }
        // The entry is about those whose standing it changed, not everyone it looked at again.
        let moved: Vec<i64> = updates
            .iter()
            .filter(|u| u.status.is_some())
            .map(|u| u.id)
            .collect();
        record_about(
            &mut tx,
            Some(workspace_id),
            About::Many(&moved),
            actor,
            "prospects.score",
            &summary,
            Some(&details),
        )
        .await?;
        tx.commit().await?;
        Ok(rewritten)
    }

    /// Counts for filter menus.
    pub async fn facets(&self, workspace_id: i64) -> Result<Facets, StoreError> {
        let totals = sqlx::query!(
            r#"SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS "live!: i64",
                      count(*) FILTER (WHERE deleted_at IS NOT NULL) AS "deleted!: i64"
               FROM prospects WHERE workspace_id = ?"#,
            workspace_id
        )
        .fetch_one(self.readers())
        .await?;
        let countries = sqlx::query_scalar!(
            r#"SELECT country AS "country!" FROM prospects
               WHERE workspace_id = ? AND deleted_at IS NULL AND country IS NOT NULL
               GROUP BY country COLLATE NOCASE ORDER BY count(*) DESC, country LIMIT 200"#,
            workspace_id
        )
        .fetch_all(self.readers())
        .await?;
        let sources = sqlx::query_scalar!(
            r#"SELECT DISTINCT source_type FROM prospects WHERE workspace_id = ? AND deleted_at IS NULL"#,
            workspace_id
        )
        .fetch_all(self.readers())
        .await?;
        let statuses = sqlx::query!(
            r#"SELECT status, count(*) AS "count!: i64" FROM prospects
               WHERE workspace_id = ? AND deleted_at IS NULL GROUP BY status"#,
            workspace_id
        )
        .fetch_all(self.readers())
        .await?;
        let to_u32 = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Facets {
            total: to_u32(totals.live),
            deleted: to_u32(totals.deleted),
            countries,
            source_types: sources
                .iter()
                .filter_map(|s| SourceType::parse(s))
                .collect(),
            statuses: ProspectStatus::ALL
                .into_iter()
                .filter_map(|s| {
                    statuses
                        .iter()
                        .find(|r| r.status == s.as_str())
                        .map(|r| StatusCount {
                            status: s,
                            count: to_u32(r.count),
                        })
                })
                .collect(),
        })
    }
}

/// Lets the sequences of restored prospects (a JSON array of ids) go on: an enrolment the
/// compliance gate blocked because its prospect was in the trash is active again at the same
/// step, and that refusal no longer counts in its campaign's progress. Only in a campaign
/// that still runs or is paused: one completed or stopped since has ended. Returns how many.
async fn resume_after_trash(
    conn: &mut sqlx::SqliteConnection,
    prospect_ids: &str,
) -> Result<u32, StoreError> {
    let deleted = outreach_core::compliance::RefusalCode::Deleted.as_str();
    let resumed = sqlx::query_scalar!(
        r#"UPDATE enrollments SET state = 'active', reason = NULL,
               updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
           WHERE prospect_id IN (SELECT value FROM json_each(?1)) AND state = 'blocked'
             AND campaign_id IN (SELECT id FROM campaigns WHERE status IN ('running', 'paused'))
             AND (SELECT b.code FROM blocked_sends b WHERE b.enrollment_id = enrollments.id
                  ORDER BY b.id DESC LIMIT 1) = ?2
           RETURNING id"#,
        prospect_ids,
        deleted
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids = serde_json::to_string(&resumed).map_err(corrupt)?;
    sqlx::query!(
        "DELETE FROM blocked_sends WHERE enrollment_id IN (SELECT value FROM json_each(?)) AND code = ?",
        ids,
        deleted
    )
    .execute(&mut *conn)
    .await?;
    Ok(u32::try_from(resumed.len()).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_query_quotes_every_term() {
        assert_eq!(fts_query("acme  shop").unwrap(), "\"acme\"* AND \"shop\"*");
        assert_eq!(
            fts_query("o\"reilly OR x").unwrap(),
            "\"o\"* AND \"reilly\"* AND \"OR\"* AND \"x\"*"
        );
        assert_eq!(fts_query("  -- "), None);
    }
}
