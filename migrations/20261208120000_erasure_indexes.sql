-- Erasing a prospect deletes their enrolments and messages, and foreign keys are enforced:
-- SQLite then looks for rows still pointing at each deleted enrolment or message, and without
-- an index on the pointing column it reads the whole table, once per deleted row. Deleting a
-- workspace of 20,000 prospects with one message each took 9 s, nearly all of it reading the
-- messages table for each enrolment; a retention purge or a single erasure paid the same per
-- enrolment on a large database.
CREATE INDEX messages_enrollment ON messages (enrollment_id);
CREATE INDEX blocked_sends_enrollment ON blocked_sends (enrollment_id);
CREATE INDEX replies_message ON replies (message_id);
CREATE INDEX reply_drafts_outbox ON reply_drafts (outbox_id);
