-- Deleting a workspace (an agency's client leaves) hides it at once and then erases everything it
-- held, a batch at a time. The row itself stays, without the client's address or notice, for
-- the audit log that refers to it; this says when the erasing finished.
ALTER TABLE workspaces ADD COLUMN purged_at TEXT;
