-- Replies: where each account's mailbox is read, what the poller has seen there, the replies it
-- matched to our messages, what it did about them, and the intents people corrected.

-- The mailbox the reply poller reads for a sender account. The password, app password or
-- XOAUTH2 token is in the OS keychain; the row records only whether one was stored.
CREATE TABLE account_mailboxes (
    account_id   INTEGER PRIMARY KEY REFERENCES sender_accounts (id),
    host         TEXT NOT NULL CHECK (length(trim(host)) > 0),
    port         INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    security     TEXT NOT NULL CHECK (security IN ('implicit_tls', 'plain_loopback')),
    username     TEXT NOT NULL,
    auth         TEXT NOT NULL DEFAULT 'password' CHECK (auth IN ('password', 'xoauth2')),
    mailbox      TEXT NOT NULL DEFAULT 'INBOX',
    enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    has_secret   INTEGER NOT NULL DEFAULT 0 CHECK (has_secret IN (0, 1)),
    -- The poller's place: UIDs up to last_uid under this UIDVALIDITY are done. A new
    -- UIDVALIDITY restarts from 0, and the Message-ID check below keeps that from doubling.
    uid_validity INTEGER,
    last_uid     INTEGER NOT NULL DEFAULT 0,
    polled_at    TEXT,
    last_error   TEXT,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- A reply tied to a prospect (and, when threading told us, to the message it answers).
-- Unmatched mail is never stored.
CREATE TABLE replies (
    id              INTEGER PRIMARY KEY,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces (id),
    prospect_id     INTEGER NOT NULL REFERENCES prospects (id),
    account_id      INTEGER NOT NULL REFERENCES sender_accounts (id),
    message_id      INTEGER REFERENCES messages (id),
    campaign_id     INTEGER REFERENCES campaigns (id),
    -- How it was tied: 'thread' (In-Reply-To/References), 'sender', 'token', 'bounce'.
    matched_by      TEXT NOT NULL,
    rfc_message_id  TEXT,
    imap_uid        INTEGER,
    from_address    TEXT,
    from_name       TEXT,
    subject         TEXT NOT NULL DEFAULT '',
    received_at     TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('human', 'auto_reply', 'bounce', 'complaint')),
    -- The new text (quoted history and signature removed), the whole text, sanitised HTML.
    new_text        TEXT NOT NULL,
    full_text       TEXT NOT NULL,
    html            TEXT,
    sentiment       REAL,
    intent          TEXT NOT NULL CHECK (intent IN ('interested', 'question', 'not_interested',
                        'unsubscribe', 'out_of_office', 'referral', 'other')),
    confidence      REAL NOT NULL,
    -- 'rules', 'lexicon', 'model' or 'user' (a person corrected it).
    intent_source   TEXT NOT NULL,
    return_date     TEXT,
    bounce_status   TEXT,
    -- What the poller did, for the inbox: e.g. "sequence stopped; step 2 cancelled".
    actions         TEXT NOT NULL DEFAULT '',
    needs_reply     INTEGER NOT NULL DEFAULT 0 CHECK (needs_reply IN (0, 1)),
    read_at         TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX replies_inbox ON replies (workspace_id, id);
CREATE INDEX replies_prospect ON replies (prospect_id, id);
CREATE UNIQUE INDEX replies_rfc_id ON replies (account_id, rfc_message_id)
    WHERE rfc_message_id IS NOT NULL;

-- Intents people set by hand: few-shot examples for the workspace's later classifications.
CREATE TABLE intent_corrections (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    reply_id      INTEGER REFERENCES replies (id),
    text          TEXT NOT NULL,
    intent        TEXT NOT NULL CHECK (intent IN ('interested', 'question', 'not_interested',
                      'unsubscribe', 'out_of_office', 'referral', 'other')),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX intent_corrections_workspace ON intent_corrections (workspace_id, id);

-- The contact a referral points to, proposed to the user as a new prospect.
CREATE TABLE referral_proposals (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    reply_id      INTEGER NOT NULL REFERENCES replies (id),
    email         TEXT NOT NULL,
    name          TEXT,
    -- 'proposed', 'accepted' (became prospect_id) or 'dismissed'.
    state         TEXT NOT NULL DEFAULT 'proposed' CHECK (state IN ('proposed', 'accepted',
                      'dismissed')),
    prospect_id   INTEGER REFERENCES prospects (id),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (reply_id, email)
);

-- A campaign's answer to interest: a step queued (or drafted for approval) for a prospect
-- who replied with interest.
ALTER TABLE campaigns ADD COLUMN positive_template_id INTEGER REFERENCES templates (id);
ALTER TABLE campaigns ADD COLUMN positive_mode TEXT NOT NULL DEFAULT 'draft'
    CHECK (positive_mode IN ('draft', 'queue'));

-- Drafts waiting for a person: follow-ups to interest (in 'draft' mode), to questions, and
-- replies the user writes in the inbox. Sending one puts it in the outbox (messages).
CREATE TABLE reply_drafts (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    reply_id      INTEGER NOT NULL REFERENCES replies (id),
    prospect_id   INTEGER NOT NULL REFERENCES prospects (id),
    account_id    INTEGER NOT NULL REFERENCES sender_accounts (id),
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'queued', 'discarded')),
    outbox_id     INTEGER REFERENCES messages (id),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX reply_drafts_reply ON reply_drafts (reply_id);

-- Replies from the inbox thread under the prospect's reply.
ALTER TABLE messages ADD COLUMN in_reply_to TEXT;
