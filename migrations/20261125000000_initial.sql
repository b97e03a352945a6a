-- Workspaces, prospects with full-text search, import runs and the audit log.
-- Timestamps are ISO 8601 UTC text with milliseconds, so they sort as text and read as dates.

CREATE TABLE workspaces (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL CHECK (length(trim(name)) > 0),
    postal_address  TEXT NOT NULL DEFAULT '',
    legal_notice    TEXT NOT NULL DEFAULT '',
    scoring_config  TEXT NOT NULL DEFAULT '{"weights":[{"factor":"email_domain","weight":50},{"factor":"website","weight":30},{"factor":"social","weight":20}],"threshold":70}',
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at      TEXT
);
CREATE UNIQUE INDEX workspaces_name ON workspaces (name COLLATE NOCASE) WHERE deleted_at IS NULL;

CREATE TABLE prospects (
    id                    INTEGER PRIMARY KEY,
    workspace_id          INTEGER NOT NULL REFERENCES workspaces (id),
    first_name            TEXT,
    last_name             TEXT,
    email                 TEXT,
    email_original        TEXT,
    email_status          TEXT NOT NULL DEFAULT 'unknown',
    x_handle              TEXT,
    linkedin_url          TEXT,
    instagram             TEXT,
    website               TEXT,
    domain                TEXT,
    company               TEXT,
    title                 TEXT,
    country               TEXT,
    timezone              TEXT,
    followers             INTEGER,
    notes                 TEXT,
    connected_on          TEXT,
    source_type           TEXT NOT NULL,
    source_file           TEXT,
    source_url            TEXT,
    collected_at          TEXT NOT NULL,
    status                TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'qualified',
                              'disqualified', 'contacted', 'replied', 'interested', 'converted',
                              'not_interested', 'unsubscribed', 'bounced')),
    score                 INTEGER CHECK (score BETWEEN 0 AND 100),
    scored_at             TEXT,
    lawful_basis          TEXT NOT NULL DEFAULT 'none'
                              CHECK (lawful_basis IN ('none', 'consent', 'legitimate_interest')),
    consent_given         INTEGER NOT NULL DEFAULT 0 CHECK (consent_given IN (0, 1)),
    consent_evidence      TEXT,
    art14_notice_sent_at  TEXT,
    objection_at          TEXT,
    last_inbound_at       TEXT,
    retention_due_at      TEXT,
    created_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at            TEXT
);
-- The de-duplication keys: a person is one row per workspace, deleted or not.
CREATE UNIQUE INDEX prospects_email ON prospects (workspace_id, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX prospects_x ON prospects (workspace_id, x_handle) WHERE x_handle IS NOT NULL;
CREATE UNIQUE INDEX prospects_linkedin ON prospects (workspace_id, linkedin_url)
    WHERE linkedin_url IS NOT NULL;
-- Sorting and counting the live rows of a workspace walks one of these small partial indexes
-- instead of the table (whose pages must be decrypted to be read).
CREATE INDEX prospects_live_name ON prospects (workspace_id,
    coalesce(last_name, first_name, email, x_handle, linkedin_url) COLLATE NOCASE, id)
    WHERE deleted_at IS NULL;
CREATE INDEX prospects_live_status ON prospects (workspace_id, status) WHERE deleted_at IS NULL;
CREATE INDEX prospects_live_score ON prospects (workspace_id, score) WHERE deleted_at IS NULL;
CREATE INDEX prospects_live_company ON prospects (workspace_id, company COLLATE NOCASE)
    WHERE deleted_at IS NULL;
CREATE INDEX prospects_live_country ON prospects (workspace_id, country COLLATE NOCASE)
    WHERE deleted_at IS NULL;
CREATE INDEX prospects_deleted ON prospects (workspace_id, deleted_at) WHERE deleted_at IS NOT NULL;

-- Score explanations are read one prospect at a time, never scanned: kept apart so that
-- scanning prospects does not drag a kilobyte of JSON per row through the cipher.
CREATE TABLE prospect_scores (
    prospect_id  INTEGER PRIMARY KEY REFERENCES prospects (id),
    breakdown    TEXT NOT NULL
);

CREATE VIRTUAL TABLE prospects_fts USING fts5 (
    first_name, last_name, email, company, website, notes,
    content = 'prospects', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    -- Search is "every word as a prefix", never phrases or ranking: without positions and
    -- column sizes the index is a fraction of the size and much cheaper to build on import.
    detail = none, columnsize = 0
);
CREATE TRIGGER prospects_fts_insert AFTER INSERT ON prospects BEGIN
    INSERT INTO prospects_fts (rowid, first_name, last_name, email, company, website, notes)
    VALUES (new.id, new.first_name, new.last_name, new.email, new.company, new.website, new.notes);
END;
CREATE TRIGGER prospects_fts_delete AFTER DELETE ON prospects BEGIN
    INSERT INTO prospects_fts (prospects_fts, rowid, first_name, last_name, email, company, website, notes)
    VALUES ('delete', old.id, old.first_name, old.last_name, old.email, old.company, old.website, old.notes);
END;
CREATE TRIGGER prospects_fts_update AFTER UPDATE OF first_name, last_name, email, company, website, notes
ON prospects BEGIN
    INSERT INTO prospects_fts (prospects_fts, rowid, first_name, last_name, email, company, website, notes)
    VALUES ('delete', old.id, old.first_name, old.last_name, old.email, old.company, old.website, old.notes);
    INSERT INTO prospects_fts (rowid, first_name, last_name, email, company, website, notes)
    VALUES (new.id, new.first_name, new.last_name, new.email, new.company, new.website, new.notes);
END;

CREATE TABLE import_runs (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    file_name     TEXT NOT NULL,
    source_type   TEXT NOT NULL,
    mapping       TEXT NOT NULL,
    total_rows    INTEGER NOT NULL,
    created       INTEGER NOT NULL,
    merged        INTEGER NOT NULL,
    invalid       INTEGER NOT NULL,
    row_errors    TEXT NOT NULL,
    finished_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER REFERENCES workspaces (id),
    at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    summary       TEXT NOT NULL,
    details       TEXT
);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
    SELECT RAISE (ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN
    SELECT RAISE (ABORT, 'the audit log is append-only');
END;
