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
