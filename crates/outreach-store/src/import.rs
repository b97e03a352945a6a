//! Bulk import of validated prospects: de-duplication against the workspace and within the
//! batch, then one transaction for every insert, merge, the import record and its audit entry,
//! so a failure leaves nothing half-imported.

use std::collections::HashMap;

use outreach_core::mapping::{ColumnMapping, SourceType};
use outreach_core::record::ProspectInput;
use outreach_discovery::csv_source::{RowError, ValidRow};
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite};
use ts_rs::TS;

use crate::audit::{About, record_about};
use crate::error::corrupt;
use crate::{Actor, Store, StoreError};

/// Rows per multi-row statement: large enough that per-statement overhead vanishes, small
/// enough to report progress often.
const BATCH: usize = 1000;

/// What to import.
#[derive(Debug)]
pub struct ImportBatch<'a> {
    /// The workspace to import into.
    pub workspace_id: i64,
    /// The file name shown in history (not its path: paths can name people).
    pub file_name: &'a str,
    /// The kind of export.
    pub source_type: SourceType,
    /// The mapping used.
    pub mapping: &'a [ColumnMapping],
    /// Rows that passed validation.
    pub valid: Vec<ValidRow>,
    /// Rows that did not.
    pub invalid: Vec<RowError>,
    /// Data rows in the file.
    pub total_rows: u64,
    /// Who imports.
    pub actor: Actor,
}

/// The outcome of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportReport {
    /// The import's id, to fetch its row errors again later.
    #[ts(type = "number")]
    pub import_id: i64,
    /// Data rows in the file.
    #[ts(type = "number")]
    pub total_rows: u64,
    /// New prospects.
    pub created: u32,
    /// Rows merged into a prospect that already existed (or into an earlier row of the file).
    pub merged: u32,
    /// Rows that matched a prospect in the trash; their data was merged, the prospect stays
    /// deleted.
    pub matched_deleted: u32,
    /// Rows not imported.
    pub invalid: u32,
    /// Why each invalid row was refused.
    pub row_errors: Vec<RowError>,
    /// Notes on merges that could not copy a value (it belongs to another prospect).
    pub notes: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Existing(i64),
    New(usize),
}

#[derive(Default)]
struct Keys {
    email: HashMap<String, Target>,
    x: HashMap<String, Target>,
    linkedin: HashMap<String, Target>,
}

impl Keys {
    fn find(&self, p: &ProspectInput) -> Option<Target> {
        p.email
            .as_ref()
            .and_then(|k| self.email.get(k))
            .or_else(|| p.x_handle.as_ref().and_then(|k| self.x.get(k)))
            .or_else(|| p.linkedin_url.as_ref().and_then(|k| self.linkedin.get(k)))
            .copied()
    }

    /// Drops identity values that already belong to another prospect (a merge must never
    /// steal a key), noting each, then registers the rest for `target`.
    fn claim(&mut self, p: &mut ProspectInput, target: Target, row: u64, notes: &mut Vec<String>) {
        fn one(
            map: &mut HashMap<String, Target>,
            value: &mut Option<String>,
            target: Target,
            what: &str,
            row: u64,
            notes: &mut Vec<String>,
        ) {
            if let Some(k) = value.as_ref() {
                match map.get(k) {
                    Some(t) if *t != target => {
                        notes.push(format!(
                            "line {row}: the {what} '{k}' already belongs to another prospect and was not copied"
                        ));
                        *value = None;
                    }
                    Some(_) => {}
                    None => {
                        map.insert(k.clone(), target);
                    }
                }
            }
        }
        let email_before = p.email.is_some();
        one(&mut self.email, &mut p.email, target, "e-mail", row, notes);
        if email_before && p.email.is_none() {
            p.email_original = None;
        }
        one(&mut self.x, &mut p.x_handle, target, "X handle", row, notes);
        one(
            &mut self.linkedin,
            &mut p.linkedin_url,
            target,
            "LinkedIn URL",
            row,
            notes,
        );
    }
}

#[derive(Serialize)]
struct Json<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    first_name: &'a Option<String>,
    last_name: &'a Option<String>,
    email: &'a Option<String>,
    email_original: &'a Option<String>,
    domain: &'a Option<String>,
    website: &'a Option<String>,
    x_handle: &'a Option<String>,
    linkedin_url: &'a Option<String>,
    instagram: &'a Option<String>,
    company: &'a Option<String>,
    title: &'a Option<String>,
    country: &'a Option<String>,
    time_zone: &'a Option<String>,
    followers: &'a Option<i64>,
    notes: &'a Option<String>,
    connected_on: &'a Option<String>,
    custom: Option<String>,
}

fn json(id: Option<i64>, p: &ProspectInput) -> Json<'_> {
    Json {
        id,
        first_name: &p.first_name,
        last_name: &p.last_name,
        email: &p.email,
        email_original: &p.email_original,
        domain: &p.domain,
        website: &p.website,
        x_handle: &p.x_handle,
        linkedin_url: &p.linkedin_url,
        instagram: &p.instagram,
        company: &p.company,
        title: &p.title,
        country: &p.country,
        time_zone: &p.time_zone,
        followers: &p.followers,
        notes: &p.notes,
        connected_on: &p.connected_on,
        custom: custom_json(p),
    }
}

/// Custom fields as stored: a JSON object, or NULL when there are none.
fn custom_json(p: &ProspectInput) -> Option<String> {
    (!p.custom.is_empty()).then(|| serde_json::to_string(&p.custom).unwrap_or_default())
}

fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(corrupt)
}

impl Store {
    /// Imports a batch. `progress(done, total)` is called after each block of rows written.
    pub async fn import_prospects(
        &self,
        batch: ImportBatch<'_>,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<ImportReport, StoreError> {
        let ws = batch.workspace_id;
        let mut tx = self.begin_write().await?;
        // Checked inside the transaction so a workspace deleted meanwhile cannot gain rows.
        let live = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!: i64" FROM workspaces WHERE id = ? AND deleted_at IS NULL"#,
            ws
        )
        .fetch_one(&mut *tx)
        .await?;
        if live == 0 {
            return Err(StoreError::NotFound(format!("workspace #{ws}")));
        }

        let mut keys = Keys::default();
        let mut deleted: HashMap<i64, bool> = HashMap::new();
        let existing = sqlx::query!(
            r#"SELECT id AS "id!", email, x_handle, linkedin_url, deleted_at IS NOT NULL AS "deleted!: bool"
               FROM prospects WHERE workspace_id = ?"#,
            ws
        )
        .fetch_all(&mut *tx)
        .await?;
        for r in existing {
            let t = Target::Existing(r.id);
            if let Some(e) = r.email {
                keys.email.insert(e, t);
            }
            if let Some(x) = r.x_handle {
                keys.x.insert(x, t);
            }
            if let Some(l) = r.linkedin_url {
                keys.linkedin.insert(l, t);
            }
            deleted.insert(r.id, r.deleted);
        }

        let mut notes = Vec::new();
        let mut new_rows: Vec<ProspectInput> = Vec::new();
        let mut merges: HashMap<i64, ProspectInput> = HashMap::new();
        let mut merge_order: Vec<i64> = Vec::new();
        let (mut merged, mut matched_deleted) = (0u32, 0u32);
        for ValidRow { row, mut prospect } in batch.valid {
            match keys.find(&prospect) {
                Some(target) => {
                    merged += 1;
                    keys.claim(&mut prospect, target, row, &mut notes);
                    match target {
                        Target::New(i) => new_rows[i].fill_from(&prospect),
                        Target::Existing(id) => {
                            if deleted.get(&id).copied().unwrap_or(false) {
                                matched_deleted += 1;
                            }
                            merges
                                .entry(id)
                                .or_insert_with(|| {
                                    merge_order.push(id);
                                    ProspectInput::default()
                                })
                                .fill_from(&prospect);
                        }
                    }
                }
                None => {
                    let target = Target::New(new_rows.len());
                    keys.claim(&mut prospect, target, row, &mut notes);
                    new_rows.push(prospect);
                }
            }
        }

        let source = batch.source_type.as_str();
        let collected_at = sqlx::query_scalar!(
            r#"SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS "now!: String""#
        )
        .fetch_one(&mut *tx)
        .await?;
        let total_work = (new_rows.len() + merge_order.len()) as u64;
        // The rows this transaction adds get ids above every id before it (it holds the
        // writer), which is how the audit entry finds them without a list of 100,000 ids.
        let last_before: i64 =
            sqlx::query_scalar!(r#"SELECT coalesce(max(id), 0) AS "id!: i64" FROM prospects"#)
                .fetch_one(&mut *tx)
                .await?;
        let mut done = 0u64;
        // New rows go in as multi-row INSERTs with bound values: the row count varies, so this
        // one statement is built at run time (with placeholders only); every full batch has the
        // same text and reuses one prepared statement.
        for chunk in new_rows.chunks_mut(BATCH) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO prospects (workspace_id, first_name, last_name, email, email_original, \
                 domain, website, x_handle, linkedin_url, instagram, company, title, country, \
                 time_zone, followers, notes, connected_on, custom_fields, source_type, \
                 source_file, collected_at) ",
            );
            let n = chunk.len() as u64;
            insert.push_values(chunk.iter_mut(), |mut b, p| {
                b.push_bind(ws)
                    .push_bind(p.first_name.take())
                    .push_bind(p.last_name.take())
                    .push_bind(p.email.take())
                    .push_bind(p.email_original.take())
                    .push_bind(p.domain.take())
                    .push_bind(p.website.take())
                    .push_bind(p.x_handle.take())
                    .push_bind(p.linkedin_url.take())
                    .push_bind(p.instagram.take())
                    .push_bind(p.company.take())
                    .push_bind(p.title.take())
                    .push_bind(p.country.take())
                    .push_bind(p.time_zone.take())
                    .push_bind(p.followers.take())
                    .push_bind(p.notes.take())
                    .push_bind(p.connected_on.take())
                    .push_bind(custom_json(p))
                    .push_bind(source)
                    .push_bind(batch.file_name.to_string())
                    .push_bind(collected_at.clone());
            });
            insert.build().execute(&mut *tx).await?;
            done += n;
            progress(done, total_work);
        }
        let mut rewritten = 0u32;
        for chunk in merge_order.chunks(BATCH) {
            let items: Vec<Json> = chunk
                .iter()
                .filter_map(|id| merges.get(id).map(|p| json(Some(*id), p)))
                .collect();
            let payload = to_json(&items)?;
            // Existing values win: a re-import fills gaps and never overwrites an edit. Only
            // a prospect it fills is changed, and returned.
            let filled = sqlx::query_scalar!(
                // Materialised so SQLite walks the batch and finds each prospect by id (see
                // `apply_scores`).
                r#"WITH j AS MATERIALIZED (
                       SELECT value ->> '$.id' AS id, value ->> '$.first_name' AS first_name,
                              value ->> '$.last_name' AS last_name, value ->> '$.email' AS email,
                              value ->> '$.email_original' AS email_original,
                              value ->> '$.domain' AS domain, value ->> '$.website' AS website,
                              value ->> '$.x_handle' AS x_handle,
                              value ->> '$.linkedin_url' AS linkedin_url,
                              value ->> '$.instagram' AS instagram, value ->> '$.company' AS company,
                              value ->> '$.title' AS title, value ->> '$.country' AS country,
                              value ->> '$.time_zone' AS time_zone,
                              value ->> '$.followers' AS followers, value ->> '$.notes' AS notes,
                              value ->> '$.connected_on' AS connected_on,
                              value ->> '$.custom' AS custom
                       FROM json_each(?1))
                   UPDATE prospects SET
                       first_name = coalesce(prospects.first_name, j.first_name),
                       last_name = coalesce(prospects.last_name, j.last_name),
                       email_original = CASE WHEN prospects.email IS NULL THEN j.email_original
                                             ELSE prospects.email_original END,
                       email = coalesce(prospects.email, j.email),
                       domain = coalesce(prospects.domain, j.domain),
                       website = coalesce(prospects.website, j.website),
                       x_handle = coalesce(prospects.x_handle, j.x_handle),
                       linkedin_url = coalesce(prospects.linkedin_url, j.linkedin_url),
                       instagram = coalesce(prospects.instagram, j.instagram),
                       company = coalesce(prospects.company, j.company),
                       title = coalesce(prospects.title, j.title),
                       country = coalesce(prospects.country, j.country),
                       time_zone = coalesce(prospects.time_zone, j.time_zone),
                       followers = coalesce(prospects.followers, j.followers),
                       notes = coalesce(prospects.notes, j.notes),
                       connected_on = coalesce(prospects.connected_on, j.connected_on),
                       custom_fields = CASE WHEN j.custom IS NULL THEN prospects.custom_fields
                                            ELSE json_patch(j.custom,
                                                 coalesce(prospects.custom_fields, '{}')) END,
                       updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                   FROM j
                   WHERE prospects.id = j.id AND prospects.workspace_id = ?2
                     AND ((prospects.first_name IS NULL AND j.first_name IS NOT NULL)
                       OR (prospects.last_name IS NULL AND j.last_name IS NOT NULL)
                       OR (prospects.email IS NULL AND j.email IS NOT NULL)
                       OR (prospects.domain IS NULL AND j.domain IS NOT NULL)
                       OR (prospects.website IS NULL AND j.website IS NOT NULL)
                       OR (prospects.x_handle IS NULL AND j.x_handle IS NOT NULL)
                       OR (prospects.linkedin_url IS NULL AND j.linkedin_url IS NOT NULL)
                       OR (prospects.instagram IS NULL AND j.instagram IS NOT NULL)
                       OR (prospects.company IS NULL AND j.company IS NOT NULL)
                       OR (prospects.title IS NULL AND j.title IS NOT NULL)
                       OR (prospects.country IS NULL AND j.country IS NOT NULL)
                       OR (prospects.time_zone IS NULL AND j.time_zone IS NOT NULL)
                       OR (prospects.followers IS NULL AND j.followers IS NOT NULL)
                       OR (prospects.notes IS NULL AND j.notes IS NOT NULL)
                       OR (prospects.connected_on IS NULL AND j.connected_on IS NOT NULL)
                       -- Compared as text: the same fields in another order count as a
                       -- change, which only costs a rewrite of what waits for them.
                       OR (j.custom IS NOT NULL
                           AND json_patch(j.custom, coalesce(prospects.custom_fields, '{}'))
                               IS NOT coalesce(prospects.custom_fields, '{}')))
                   RETURNING prospects.id AS "id!""#,
                payload,
                ws
            )
            .fetch_all(&mut *tx)
            .await?;
            // What waits for them was written without what the import filled in (a first
            // name, a custom first line): it is written again.
            if !filled.is_empty() {
                let ids = to_json(&filled)?;
                rewritten += crate::outbox::withdraw_unsent_to(&mut tx, ws, &ids).await?;
            }
            done += chunk.len() as u64;
            progress(done, total_work);
        }

        let created = u32::try_from(new_rows.len()).unwrap_or(u32::MAX);
        let invalid = u32::try_from(batch.invalid.len()).unwrap_or(u32::MAX);
        let mapping = to_json(&batch.mapping)?;
        let row_errors = to_json(&batch.invalid)?;
        let total_rows = i64::try_from(batch.total_rows).unwrap_or(i64::MAX);
        let import_id = sqlx::query!(
            r#"INSERT INTO import_runs (workspace_id, file_name, source_type, mapping, total_rows,
                   created, merged, invalid, row_errors)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"#,
            ws,
            batch.file_name,
            source,
            mapping,
            total_rows,
            created,
            merged,
            invalid,
            row_errors
        )
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        let details = serde_json::json!({
            "import_id": import_id, "file": batch.file_name, "source_type": source,
            "rows": batch.total_rows, "created": created, "merged": merged, "invalid": invalid,
            "rewritten": rewritten,
        });
        let mut summary = format!(
            "Imported {}: {created} new, {merged} merged, {invalid} invalid of {} rows",
            batch.file_name, batch.total_rows
        );
        if rewritten > 0 {
            summary.push_str(&format!(
                "; {rewritten} queued message(s) to those it filled in taken back, to be written again"
            ));
            notes.push(format!(
                "{rewritten} message(s) waiting to go to prospects this file filled in will be written again with what it added"
            ));
        }
        // About everyone it merged into, and everyone it added.
        let entry = record_about(
            &mut tx,
            Some(ws),
            About::Many(&merge_order),
            batch.actor,
            "prospects.import",
            &summary,
            Some(&details),
        )
        .await?;
        sqlx::query!(
            "INSERT INTO audit_subjects (prospect_id, audit_id)
             SELECT id, ?1 FROM prospects WHERE workspace_id = ?2 AND id > ?3",
            entry,
            ws,
            last_before
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ImportReport {
            import_id,
            total_rows: batch.total_rows,
            created,
            merged,
            matched_deleted,
            invalid,
            row_errors: batch.invalid,
            notes,
        })
    }

    /// The row errors of an earlier import, for export.
    pub async fn import_row_errors(&self, import_id: i64) -> Result<Vec<RowError>, StoreError> {
        let json =
            sqlx::query_scalar!("SELECT row_errors FROM import_runs WHERE id = ?", import_id)
                .fetch_optional(self.readers())
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("import #{import_id}")))?;
        serde_json::from_str(&json).map_err(corrupt)
    }
}
