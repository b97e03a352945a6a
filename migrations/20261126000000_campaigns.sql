-- Email campaigns: sender accounts, templates, sequences, enrolments, the outbox, the rate
-- governor's memory, consent history and the suppression list.

-- Workspace settings the compliance gate and the scheduler need.
ALTER TABLE workspaces ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
-- Countries (ISO alpha-2) whose recipients must have given consent before B2B email.
ALTER TABLE workspaces ADD COLUMN consent_only_countries TEXT NOT NULL DEFAULT '["DE"]';
-- HTTPS endpoint for RFC 8058 one-click unsubscribe; the token is appended as ?t=...
ALTER TABLE workspaces ADD COLUMN unsubscribe_url TEXT;

-- The legitimate-interest assessment (GDPR Art. 6(1)(f)); the newest one is in force.
CREATE TABLE lia_assessments (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    purpose       TEXT NOT NULL CHECK (length(trim(purpose)) > 0),
    necessity     TEXT NOT NULL CHECK (length(trim(necessity)) > 0),
    balancing     TEXT NOT NULL CHECK (length(trim(balancing)) > 0),
    assessed_on   TEXT NOT NULL,
    author        TEXT NOT NULL CHECK (length(trim(author)) > 0),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX lia_assessments_workspace ON lia_assessments (workspace_id, id);

-- Append-only history of lawful-basis changes, consents, withdrawals, objections, opt-outs.
CREATE TABLE consent_events (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    prospect_id   INTEGER NOT NULL REFERENCES prospects (id),
    kind          TEXT NOT NULL CHECK (kind IN ('lawful_basis', 'consent', 'withdrawal',
                      'objection', 'opt_out')),
    lawful_basis  TEXT CHECK (lawful_basis IN ('none', 'consent', 'legitimate_interest')),
    lia_id        INTEGER REFERENCES lia_assessments (id),
    evidence      TEXT,
    source        TEXT NOT NULL,
    actor         TEXT NOT NULL,
    at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX consent_events_prospect ON consent_events (prospect_id, id);
CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events BEGIN
    SELECT RAISE (ABORT, 'consent history is append-only');
END;

-- Keyed hashes (HMAC-SHA256) of normalised addresses and handles that must never be contacted.
-- No workspace column on purpose: an opt-out holds for every client of the agency, and the row
-- survives the erasure of the prospect it came from.
CREATE TABLE suppression (
    hash        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('email', 'x_handle', 'linkedin_url')),
    reason      TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) WITHOUT ROWID;

CREATE TABLE sender_accounts (
    id              INTEGER PRIMARY KEY,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces (id),
    name            TEXT NOT NULL CHECK (length(trim(name)) > 0),
    transport       TEXT NOT NULL CHECK (transport IN ('smtp', 'sendgrid')),
    host            TEXT,
    port            INTEGER CHECK (port BETWEEN 1 AND 65535),
    security        TEXT CHECK (security IN ('implicit_tls', 'start_tls', 'plain_loopback')),
    username        TEXT,
    api_base_url    TEXT,
    from_name       TEXT NOT NULL,
    from_address    TEXT NOT NULL,
    reply_to        TEXT,
    per_minute_cap  INTEGER CHECK (per_minute_cap >= 0),
    hourly_cap      INTEGER CHECK (hourly_cap >= 0),
    daily_cap       INTEGER CHECK (daily_cap >= 0),
    ramp_start      INTEGER CHECK (ramp_start >= 0),
    ramp_increase   INTEGER CHECK (ramp_increase >= 0),
    dkim_selector   TEXT,
    dkim_domain     TEXT,
    -- Whether a password / API key / DKIM key was put in the keychain (never the secret itself).
    has_secret      INTEGER NOT NULL DEFAULT 0 CHECK (has_secret IN (0, 1)),
    has_dkim_key    INTEGER NOT NULL DEFAULT 0 CHECK (has_dkim_key IN (0, 1)),
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at      TEXT
);
CREATE UNIQUE INDEX sender_accounts_name ON sender_accounts (workspace_id, name COLLATE NOCASE)
    WHERE deleted_at IS NULL;

CREATE TABLE templates (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    name          TEXT NOT NULL CHECK (length(trim(name)) > 0),
    channel       TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email')),
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at    TEXT
);
CREATE UNIQUE INDEX templates_name ON templates (workspace_id, name COLLATE NOCASE)
    WHERE deleted_at IS NULL;

CREATE TABLE campaigns (
    id                 INTEGER PRIMARY KEY,
    workspace_id       INTEGER NOT NULL REFERENCES workspaces (id),
    name               TEXT NOT NULL CHECK (length(trim(name)) > 0),
    status             TEXT NOT NULL DEFAULT 'draft'
                           CHECK (status IN ('draft', 'running', 'paused', 'stopped', 'completed')),
    account_id         INTEGER REFERENCES sender_accounts (id),
    -- The send window: JSON list of weekdays and minutes since midnight, in each prospect's zone.
    send_days          TEXT NOT NULL DEFAULT '["mon","tue","wed","thu","fri"]',
    window_start       INTEGER NOT NULL DEFAULT 540 CHECK (window_start BETWEEN 0 AND 1440),
    window_end         INTEGER NOT NULL DEFAULT 1020 CHECK (window_end BETWEEN 0 AND 1440),
    daily_cap          INTEGER CHECK (daily_cap >= 0),
    min_gap_seconds    INTEGER NOT NULL DEFAULT 60 CHECK (min_gap_seconds >= 0),
    max_gap_seconds    INTEGER NOT NULL DEFAULT 180 CHECK (max_gap_seconds >= 0),
    -- The random gap after the last send ends here (persisted so restarts keep it).
    next_send_after    TEXT,
    started_at         TEXT,
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at         TEXT
);
CREATE UNIQUE INDEX campaigns_name ON campaigns (workspace_id, name COLLATE NOCASE)
    WHERE deleted_at IS NULL;

CREATE TABLE sequence_steps (
    id                   INTEGER PRIMARY KEY,
    campaign_id          INTEGER NOT NULL REFERENCES campaigns (id),
    position             INTEGER NOT NULL CHECK (position >= 1),
    delay_business_days  INTEGER NOT NULL DEFAULT 0 CHECK (delay_business_days >= 0),
    condition            TEXT NOT NULL DEFAULT 'no_reply' CHECK (condition IN ('always', 'no_reply')),
    UNIQUE (campaign_id, position)
);

-- A step's template, or its A/B variants (label 'A', 'B', ...).
CREATE TABLE step_variants (
    id           INTEGER PRIMARY KEY,
    step_id      INTEGER NOT NULL REFERENCES sequence_steps (id),
    label        TEXT NOT NULL,
    template_id  INTEGER NOT NULL REFERENCES templates (id),
    UNIQUE (step_id, label)
);

CREATE TABLE enrollments (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaigns (id),
    prospect_id     INTEGER NOT NULL REFERENCES prospects (id),
    -- active: the next step is due at next_run_at; waiting: its message is in the outbox.
    state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'waiting',
                        'completed', 'stopped', 'replied', 'blocked', 'failed')),
    next_position   INTEGER NOT NULL DEFAULT 1,
    next_run_at     TEXT,
    variant         TEXT NOT NULL DEFAULT 'A',
    reason          TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (campaign_id, prospect_id)
);
CREATE INDEX enrollments_due ON enrollments (campaign_id, next_run_at) WHERE state = 'active';

-- The outbox: every message is a row before it is sent. The idempotency key (enrollment, step)
-- makes a second row for the same step impossible, whatever crashes in between.
CREATE TABLE messages (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces (id),
    campaign_id      INTEGER REFERENCES campaigns (id),
    enrollment_id    INTEGER REFERENCES enrollments (id),
    step_position    INTEGER,
    prospect_id      INTEGER NOT NULL REFERENCES prospects (id),
    account_id       INTEGER NOT NULL REFERENCES sender_accounts (id),
    idempotency_key  TEXT NOT NULL UNIQUE,
    variant          TEXT,
    message_id       TEXT NOT NULL UNIQUE,
    to_address       TEXT NOT NULL,
    to_name          TEXT,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    unsubscribe_token TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending',
                         'sent', 'failed', 'bounced', 'unconfirmed', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    due_at           TEXT NOT NULL,
    attempted_at     TEXT,
    sent_at          TEXT,
    last_error       TEXT,
    provider_response TEXT,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX messages_due ON messages (due_at) WHERE status = 'queued';
CREATE INDEX messages_sending ON messages (id) WHERE status = 'sending';
CREATE INDEX messages_campaign ON messages (campaign_id, status);
CREATE INDEX messages_prospect ON messages (prospect_id);

-- Refusals by the compliance gate, with their reason, for the campaign's progress view.
CREATE TABLE blocked_sends (
    id             INTEGER PRIMARY KEY,
    campaign_id    INTEGER NOT NULL REFERENCES campaigns (id),
    enrollment_id  INTEGER NOT NULL REFERENCES enrollments (id),
    step_position  INTEGER NOT NULL,
    code           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX blocked_sends_campaign ON blocked_sends (campaign_id, id);

-- The rate governor's memory: one row per delivery attempt, written in the same transaction
-- that claims the message, so caps hold across crashes and restarts.
CREATE TABLE send_attempts (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES sender_accounts (id),
    campaign_id  INTEGER,
    message_id   INTEGER NOT NULL REFERENCES messages (id),
    at           TEXT NOT NULL
);
CREATE INDEX send_attempts_account ON send_attempts (account_id, at);
CREATE INDEX send_attempts_campaign ON send_attempts (campaign_id, at);
