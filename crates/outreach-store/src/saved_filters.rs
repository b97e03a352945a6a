//! Named prospect filters of a workspace ("Qualified in Germany"): saved once, applied in the
//! app's prospect table, by `outreach prospects list --filter` and when enrolling.

use outreach_core::mapping::SourceType;
use outreach_core::prospect::ProspectStatus;
use outreach_core::search::NameWords;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::audit::record;
use crate::error::corrupt;
use crate::prospects::{ProspectQuery, fts_query};
use crate::{Actor, Store, StoreError};

/// Longest name of a saved filter: it is shown in a menu.
const MAX_NAME_CHARS: usize = 80;
/// Longest search text a filter keeps.
const MAX_SEARCH_CHARS: usize = 200;
/// Saved filters a workspace may have: a menu, not a database.
const MAX_FILTERS: i64 = 200;

/// What a saved filter selects: the prospect table's criteria, without sorting or paging.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct ProspectFilter {
    /// Words to find (as the table's search).
    pub search: Option<String>,
    /// Only these statuses (any of them); none for every status.
    pub statuses: Vec<ProspectStatus>,
    /// Only this source.
    pub source_type: Option<SourceType>,
    /// Only this country.
    pub country: Option<String>,
    /// Minimum score (inclusive).
    pub min_score: Option<u8>,
    /// Maximum score (inclusive).
    pub max_score: Option<u8>,
}

impl ProspectFilter {
    /// The same criteria with blanks dropped, or why they cannot be saved.
    pub fn normalised(&self) -> Result<ProspectFilter, StoreError> {
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let mut statuses = self.statuses.clone();
        statuses.dedup();
        let f = ProspectFilter {
            search: text(&self.search),
            statuses,
            source_type: self.source_type,
            country: text(&self.country),
            min_score: self.min_score,
            max_score: self.max_score,
        };
        if f == ProspectFilter::default() {
            return Err(StoreError::Invalid(
                "a saved filter needs at least one condition (a search, status, source, country or score)".into(),
            ));
        }
        if f.search
            .as_ref()
            .is_some_and(|s| s.chars().count() > MAX_SEARCH_CHARS)
        {
            return Err(StoreError::Invalid(format!(
                "a saved search can have at most {MAX_SEARCH_CHARS} characters"
            )));
        }
        for score in [f.min_score, f.max_score].into_iter().flatten() {
            if score > 100 {
                return Err(StoreError::Invalid(format!(
                    "a score is between 0 and 100, not {score}"
                )));
            }
        }
        if let (Some(min), Some(max)) = (f.min_score, f.max_score)
            && min > max
        {
            return Err(StoreError::Invalid(format!(
                "the lowest score ({min}) is above the highest ({max})"
            )));
        }
        Ok(f)
    }

    /// `query` narrowed to these criteria (its workspace, sorting and paging kept).
    pub fn apply(&self, query: ProspectQuery) -> ProspectQuery {
        ProspectQuery {
            search: self.search.clone(),
            statuses: self.statuses.clone(),
            source_type: self.source_type,
            country: self.country.clone(),
            min_score: self.min_score,
            max_score: self.max_score,
            ..query
        }
    }
}

/// A filter saved under a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SavedFilter {
    /// Row id.
    #[ts(type = "number")]
    pub id: i64,
    /// The workspace.
    #[ts(type = "number")]
    pub workspace_id: i64,
    /// Its name, unique in the workspace (ignoring case).
    pub name: String,
    /// What it selects.
    pub filter: ProspectFilter,
    /// When it was last saved (RFC 3339, UTC).
    pub updated_at: String,
}

fn validated_name(name: &str) -> Result<String, StoreError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid("a saved filter needs a name".into()));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(StoreError::Invalid(format!(
            "a filter's name can have at most {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_string())
}

struct Row {
    id: i64,
    workspace_id: i64,
    name: String,
    criteria: String,
    updated_at: String,
}

impl TryFrom<Row> for SavedFilter {
    type Error = StoreError;

    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(SavedFilter {
            id: r.id,
            workspace_id: r.workspace_id,
            name: r.name,
            filter: serde_json::from_str(&r.criteria).map_err(corrupt)?,
            updated_at: r.updated_at,
        })
    }
}

impl Store {
    /// A workspace's saved filters, by name.
    pub async fn saved_filters(&self, workspace_id: i64) -> Result<Vec<SavedFilter>, StoreError> {
        sqlx::query_as!(
            Row,
            r#"SELECT id AS "id!", workspace_id, name, criteria, updated_at
               FROM saved_filters WHERE workspace_id = ? ORDER BY name COLLATE NOCASE"#,
            workspace_id
        )
        .fetch_all(self.readers())
        .await?
        .into_iter()
        .map(SavedFilter::try_from)
        .collect()
    }

    /// The workspace's filter of this name (ignoring case).
    pub async fn saved_filter(
        &self,
        workspace_id: i64,
        name: &str,
    ) -> Result<SavedFilter, StoreError> {
        let name = name.trim();
        sqlx::query_as!(
            Row,
            r#"SELECT id AS "id!", workspace_id, name, criteria, updated_at
               FROM saved_filters WHERE workspace_id = ? AND name = ? COLLATE NOCASE"#,
            workspace_id,
            name
        )
        .fetch_optional(self.readers())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("saved filter '{name}'")))?
        .try_into()
    }

    /// Saves `filter` under `name`, replacing the workspace's filter of that name if there is
    /// one (saving is how a filter is changed).
    pub async fn save_filter(
        &self,
        workspace_id: i64,
        name: &str,
        filter: &ProspectFilter,
        actor: Actor,
    ) -> Result<SavedFilter, StoreError> {
        let name = validated_name(name)?;
        let filter = filter.normalised()?;
        let criteria = serde_json::to_string(&filter).map_err(corrupt)?;
        self.workspace(workspace_id).await?;
        let mut tx = self.begin_write().await?;
        let existing = sqlx::query_scalar!(
            r#"SELECT id AS "id!" FROM saved_filters WHERE workspace_id = ? AND name = ? COLLATE NOCASE"#,
            workspace_id,
            name
        )
        .fetch_optional(&mut *tx)
        .await?;
        let (id, action, summary) = match existing {
            Some(id) => {
                sqlx::query!(
                    "UPDATE saved_filters SET name = ?, criteria = ?,
                         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                     WHERE id = ?",
                    name,
                    criteria,
                    id
                )
                .execute(&mut *tx)
                .await?;
                (id, "prospects.filter_changed", "Changed saved filter")
            }
            None => {
                let count = sqlx::query_scalar!(
                    r#"SELECT count(*) AS "n!: i64" FROM saved_filters WHERE workspace_id = ?"#,
                    workspace_id
                )
                .fetch_one(&mut *tx)
                .await?;
                if count >= MAX_FILTERS {
                    return Err(StoreError::Invalid(format!(
                        "a workspace can keep at most {MAX_FILTERS} saved filters; delete some first"
                    )));
                }
                let id = sqlx::query!(
                    "INSERT INTO saved_filters (workspace_id, name, criteria) VALUES (?, ?, ?)",
                    workspace_id,
                    name,
                    criteria
                )
                .execute(&mut *tx)
                .await?
                .last_insert_rowid();
                (id, "prospects.filter_saved", "Saved filter")
            }
        };
        // The audit log outlives an erasure and is never rewritten, so it keeps no search
        // text: a search can name a person.
        let audited = ProspectFilter {
            search: None,
            ..filter.clone()
        };
        record(
            &mut tx,
            Some(workspace_id),
            actor,
            action,
            &format!("{summary} #{id} “{name}”"),
            Some(&serde_json::json!({
                "filter": audited,
                "has_search": filter.search.is_some(),
            })),
        )
        .await?;
        tx.commit().await?;
        self.saved_filter(workspace_id, &name).await
    }

    /// Deletes a saved filter and returns it (to save it again as an undo).
    pub async fn delete_filter(&self, id: i64, actor: Actor) -> Result<SavedFilter, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query_as!(
            Row,
            r#"DELETE FROM saved_filters WHERE id = ?
               RETURNING id AS "id!", workspace_id, name, criteria, updated_at"#,
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("saved filter #{id}")))?;
        record(
            &mut tx,
            Some(row.workspace_id),
            actor,
            "prospects.filter_deleted",
            &format!("Deleted saved filter #{id} “{}”", row.name),
            None,
        )
        .await?;
        tx.commit().await?;
        row.try_into()
    }
}

/// The workspace's saved filters whose search finds one of these prospects (a JSON array of
/// ids) by name ([`NameWords::found_by`]): personal data of theirs, erased with them. A filter that
/// finds them only by their company, or does not find them at all, stays.
pub(crate) async fn naming(
    conn: &mut sqlx::SqliteConnection,
    workspace_id: i64,
    ids: &str,
) -> Result<Vec<i64>, StoreError> {
    let searches = sqlx::query!(
        r#"SELECT id AS "id!", json_extract(criteria, '$.search') AS "search: String"
           FROM saved_filters
           WHERE workspace_id = ? AND json_extract(criteria, '$.search') IS NOT NULL"#,
        workspace_id
    )
    .fetch_all(&mut *conn)
    .await?;
    if searches.is_empty() {
        return Ok(Vec::new());
    }
    let people = sqlx::query!(
        r#"SELECT id AS "id!", first_name, last_name, email, x_handle, linkedin_url
           FROM prospects WHERE id IN (SELECT value FROM json_each(?1))"#,
        ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let known: Vec<(i64, NameWords)> = people
        .iter()
        .map(|p| {
            // Only what is theirs: an address's domain and LinkedIn's own words are shared
            // with everyone at that company or on LinkedIn.
            let local_part = p.email.as_deref().and_then(|e| e.split('@').next());
            let slug = p
                .linkedin_url
                .as_deref()
                .and_then(|u| u.trim_end_matches('/').rsplit('/').next());
            let own: Vec<&str> = [
                p.first_name.as_deref(),
                p.last_name.as_deref(),
                local_part,
                p.x_handle.as_deref(),
                slug,
            ]
            .into_iter()
            .flatten()
            .collect();
            (p.id, NameWords::new(&own))
        })
        .collect();
    let mut naming = Vec::new();
    for f in searches {
        let Some((search, fts)) = f.search.and_then(|s| fts_query(&s).map(|q| (s, q))) else {
            continue;
        };
        // The name test first: it is cheap, and most searches name none of these people, so
        // the index is asked only about those they might name.
        let named: Vec<i64> = known
            .iter()
            .filter(|(_, words)| words.found_by(&search))
            .map(|(id, _)| *id)
            .collect();
        if named.is_empty() {
            continue;
        }
        let named = serde_json::to_string(&named).map_err(corrupt)?;
        let found = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!: i64" FROM prospects_fts
               WHERE prospects_fts MATCH ?1
                 AND rowid IN (SELECT value FROM json_each(?2))"#,
            fts,
            named
        )
        .fetch_one(&mut *conn)
        .await?;
        if found > 0 {
            naming.push(f.id);
        }
    }
    Ok(naming)
}
