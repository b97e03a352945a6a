-- What a person was typing in the template editor and had not saved yet, kept as they type so
-- that a crash or a power cut loses none of it; saving the template or giving the edit up
-- removes it. One per template, and one for a new template not saved yet (template_id NULL),
-- per workspace.
CREATE TABLE template_drafts (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    template_id  INTEGER REFERENCES templates (id),
    name         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    saved_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX template_drafts_one ON template_drafts (workspace_id, ifnull(template_id, 0));
