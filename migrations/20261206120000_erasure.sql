-- Erasure (GDPR Art. 17) removes a person's messages, but not the rate governor's memory of
-- them: the caps must hold for the rest of the hour and day, and the ramp-up counts from an
-- account's first attempt. An attempt therefore outlives its message. Without a foreign key
-- (SQLite changes one only by rebuilding the table), deleting messages checks nothing here,
-- and the send path maintains no index on the message for the few erasures that need it.
CREATE TABLE send_attempts_new (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES sender_accounts (id),
    campaign_id  INTEGER,
    -- The message attempted; NULL once it was erased with its recipient.
    message_id   INTEGER,
    at           TEXT NOT NULL
);
INSERT INTO send_attempts_new (id, account_id, campaign_id, message_id, at)
    SELECT id, account_id, campaign_id, message_id, at FROM send_attempts;
DROP TABLE send_attempts;
ALTER TABLE send_attempts_new RENAME TO send_attempts;
CREATE INDEX send_attempts_account ON send_attempts (account_id, at);
CREATE INDEX send_attempts_campaign ON send_attempts (campaign_id, at);
