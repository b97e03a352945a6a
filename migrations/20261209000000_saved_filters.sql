-- Named prospect filters of a workspace ("Qualified in Germany"), shared by the app's prospect
-- table, the CLI and enrolment. The criteria are a JSON object the store writes and reads
-- (`ProspectFilter`); they can name people (a search for a surname), so they go with the
-- workspace when it is erased.
CREATE TABLE saved_filters (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    name          TEXT NOT NULL,
    criteria      TEXT NOT NULL,
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (workspace_id, name COLLATE NOCASE)
);
