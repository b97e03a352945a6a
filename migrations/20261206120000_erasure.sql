-- Erasure (GDPR Art. 17) removes a person's messages, but not the rate governor's memory of
-- them: the caps must hold for the rest of the hour and day, and the ramp-up counts from an
-- account's first attempt. An attempt therefore outlives its message; SQLite changes a
-- column's constraints only by rebuilding the table.
CREATE TABLE send_attempts_new (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES sender_accounts (id),
    campaign_id  INTEGER,
    -- NULL once the message was erased with its recipient.
    message_id   INTEGER REFERENCES messages (id),
    at           TEXT NOT NULL
);
INSERT INTO send_attempts_new (id, account_id, campaign_id, message_id, at)
    SELECT id, account_id, campaign_id, message_id, at FROM send_attempts;
DROP TABLE send_attempts;
ALTER TABLE send_attempts_new RENAME TO send_attempts;
CREATE INDEX send_attempts_account ON send_attempts (account_id, at);
CREATE INDEX send_attempts_campaign ON send_attempts (campaign_id, at);
-- Erasure looks the attempts up by message; so does recording a batch's outcome.
CREATE INDEX send_attempts_message ON send_attempts (message_id) WHERE message_id IS NOT NULL;
