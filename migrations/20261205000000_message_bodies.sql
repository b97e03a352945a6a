-- A message's body lives apart from its outbox row. The body is written once, while the row
-- changes at every step of the message's life (claimed, sent, retried), and SQLite rewrites a
-- whole row on each change: with the body inside, every change rewrote and re-encrypted about
-- a kilobyte more per message, which made the sender's commits several times larger.
CREATE TABLE message_bodies (
    message_id  INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    body        TEXT NOT NULL
);
INSERT INTO message_bodies (message_id, body) SELECT id, body FROM messages;
ALTER TABLE messages DROP COLUMN body;
