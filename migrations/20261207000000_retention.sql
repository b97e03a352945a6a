-- Storage limitation (GDPR Art. 5(1)(e)): a workspace keeps a prospect who has not replied for
-- this many months (counted from their last reply, or from when they were added) and no longer.
ALTER TABLE workspaces ADD COLUMN retention_months INTEGER NOT NULL DEFAULT 36
    CHECK (retention_months BETWEEN 1 AND 120);
