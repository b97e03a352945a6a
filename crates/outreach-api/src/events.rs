//! Events the API emits: progress of long work and notices of changed data, each with its
//! source, so every open view can refresh.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Which part of an import is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ImportPhase {
    /// Parsing and validating the file (units: bytes).
    Reading,
    /// Writing to the database (units: prospects).
    Writing,
}

/// What kind of data changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ChangedEntity {
    /// Workspaces.
    Workspaces,
    /// Prospects.
    Prospects,
    /// The audit log.
    Audit,
    /// Accounts, templates, campaigns and their messages.
    Campaigns,
    /// Replies in the inbox.
    Replies,
    /// Saved prospect filters.
    Filters,
}

/// An event for the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ApiEvent {
    /// An import is under way.
    ImportProgress {
        /// The workspace imported into.
        #[ts(type = "number")]
        workspace_id: i64,
        /// The phase.
        phase: ImportPhase,
        /// Units done.
        #[ts(type = "number")]
        done: u64,
        /// Units in all.
        #[ts(type = "number")]
        total: u64,
    },
    /// A campaign's pre-send check is under way (before it starts, too).
    CheckProgress {
        /// The campaign.
        #[ts(type = "number")]
        campaign_id: i64,
        /// Enrolled prospects checked.
        #[ts(type = "number")]
        done: u64,
        /// Enrolled prospects in all.
        #[ts(type = "number")]
        total: u64,
    },
    /// A workspace's deletion is erasing its prospects.
    DeletionProgress {
        /// The workspace.
        #[ts(type = "number")]
        workspace_id: i64,
        /// Prospects erased.
        #[ts(type = "number")]
        done: u64,
        /// Prospects it held.
        #[ts(type = "number")]
        total: u64,
    },
    /// The sending engine's status changed.
    Engine {
        /// The new status.
        status: outreach_engine::EngineStatus,
    },
    /// A person replied (the desktop notification).
    Reply {
        /// Who, and what they want.
        notice: outreach_engine::ReplyNotice,
    },
    /// The reply model is being fetched.
    ModelProgress {
        /// Bytes done.
        #[ts(type = "number")]
        done: u64,
        /// Bytes in all, when the server said.
        #[ts(type = "number | null")]
        total: Option<u64>,
    },
    /// Data changed.
    Changed {
        /// The workspace, if the change belongs to one.
        #[ts(type = "number | null")]
        workspace_id: Option<i64>,
        /// What changed.
        entity: ChangedEntity,
        /// Who changed it: `app`, `cli` or `system`.
        source: String,
    },
}
