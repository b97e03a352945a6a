//! What a user moved to the trash: templates and campaigns, kept (their history stays with
//! the people it is about) until a person restores them or the workspace goes.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Store, StoreError};

/// A template or campaign in the trash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Trashed {
    /// Its id (what restoring takes).
    #[ts(type = "number")]
    pub id: i64,
    /// Its name.
    pub name: String,
    /// When it went to the trash (ISO 8601).
    pub deleted_at: String,
}

/// A workspace's trash, the latest moved there first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Trash {
    /// Templates.
    pub templates: Vec<Trashed>,
    /// Campaigns.
    pub campaigns: Vec<Trashed>,
}

impl Store {
    /// The templates and campaigns of a workspace that are in the trash.
    pub async fn trash(&self, workspace_id: i64) -> Result<Trash, StoreError> {
        let templates = sqlx::query_as!(
            Trashed,
            r#"SELECT id AS "id!", name, deleted_at AS "deleted_at!" FROM templates
               WHERE workspace_id = ? AND deleted_at IS NOT NULL
               ORDER BY deleted_at DESC, id DESC"#,
            workspace_id
        )
        .fetch_all(self.readers())
        .await?;
        let campaigns = sqlx::query_as!(
            Trashed,
            r#"SELECT id AS "id!", name, deleted_at AS "deleted_at!" FROM campaigns
               WHERE workspace_id = ? AND deleted_at IS NOT NULL
               ORDER BY deleted_at DESC, id DESC"#,
            workspace_id
        )
        .fetch_all(self.readers())
        .await?;
        Ok(Trash {
            templates,
            campaigns,
        })
    }
}

/// Whose messages: a campaign's or a sender account's.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MessagesOf {
    Campaign(i64),
    Account(i64),
}

/// Refuses while messages of `of` are queued, on the wire or unconfirmed: what `subject`
/// ("campaign 'Launch'") would take away could still send, or a person still has to decide
/// about it. `then` says what happens once they are sent ("it can be removed").
pub(crate) async fn refuse_while_messages_wait(
    tx: &mut sqlx::SqliteConnection,
    of: MessagesOf,
    subject: &str,
    then: &str,
) -> Result<(), StoreError> {
    let (queued, unconfirmed) = match of {
        MessagesOf::Campaign(id) => {
            let r = sqlx::query!(
                r#"SELECT count(*) FILTER (WHERE status IN ('queued', 'sending')) AS "queued!: i64",
                       count(*) FILTER (WHERE status = 'unconfirmed') AS "unconfirmed!: i64"
                   FROM messages WHERE campaign_id = ?"#,
                id
            )
            .fetch_one(&mut *tx)
            .await?;
            (r.queued, r.unconfirmed)
        }
        MessagesOf::Account(id) => {
            let r = sqlx::query!(
                r#"SELECT count(*) FILTER (WHERE status IN ('queued', 'sending')) AS "queued!: i64",
                       count(*) FILTER (WHERE status = 'unconfirmed') AS "unconfirmed!: i64"
                   FROM messages WHERE account_id = ?"#,
                id
            )
            .fetch_one(&mut *tx)
            .await?;
            (r.queued, r.unconfirmed)
        }
    };
    if queued > 0 {
        return Err(StoreError::Conflict(format!(
            "{subject} still has {queued} message(s) to send; {then} once they are sent"
        )));
    }
    if unconfirmed > 0 {
        return Err(StoreError::Conflict(format!(
            "{subject} has {unconfirmed} unconfirmed message(s); decide about them first"
        )));
    }
    Ok(())
}

/// Names joined for a sentence: 'A', 'A' and 'B', 'A', 'B' and 'C'.
pub(crate) fn quoted_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::quoted_list;

    #[test]
    fn names_read_as_a_sentence() {
        assert_eq!(quoted_list(&[]), "");
        assert_eq!(quoted_list(&["A".into()]), "'A'");
        assert_eq!(quoted_list(&["A".into(), "B".into()]), "'A' and 'B'");
        assert_eq!(
            quoted_list(&["A".into(), "B".into(), "C".into()]),
            "'A', 'B' and 'C'"
        );
    }
}
