-- Whom an audit entry is about, so that a person's history can be shown and exported with their
-- record (GDPR Art. 15) and the audit log filtered to one person. An entry about one person names
-- them in its row; an entry about many (an import, an enrolment, a bulk change) lists them beside
-- it. Ids only, as everywhere in the log: once a person is erased, nothing here leads back to them.
ALTER TABLE audit_log ADD COLUMN prospect_id INTEGER;

CREATE TABLE audit_subjects (
    prospect_id  INTEGER NOT NULL,
    audit_id     INTEGER NOT NULL REFERENCES audit_log (id),
    PRIMARY KEY (prospect_id, audit_id)
) WITHOUT ROWID;

-- Entries written before this version: those about one person said so in their summary
-- ("... prospect #12 ..."); those about a reply name it; bulk changes listed their ids in details.
-- The no-update trigger is lifted for this one derived column and put back at once.
DROP TRIGGER audit_log_no_update;
UPDATE audit_log
SET prospect_id = CAST(substr(summary, instr(summary, 'prospect #') + 10) AS INTEGER)
WHERE instr(summary, 'prospect #') > 0;
UPDATE audit_log
SET prospect_id = (SELECT r.prospect_id FROM replies r
                   WHERE r.id = CAST(substr(audit_log.summary, instr(lower(audit_log.summary), 'reply #') + 7)
                                     AS INTEGER))
WHERE prospect_id IS NULL AND action IN ('reply.relabelled', 'reply.answer_queued')
  AND instr(lower(summary), 'reply #') > 0;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
    SELECT RAISE (ABORT, 'the audit log is append-only');
END;

INSERT OR IGNORE INTO audit_subjects (prospect_id, audit_id)
SELECT j.value, a.id FROM audit_log a, json_each(a.details, '$.prospect_ids') j
WHERE a.details IS NOT NULL AND json_valid(a.details)
  AND json_type(a.details, '$.prospect_ids') = 'array';

CREATE INDEX audit_log_prospect ON audit_log (prospect_id, id) WHERE prospect_id IS NOT NULL;
-- Filtering the log by topic: everything but the sends, which are most of it (one entry per
-- message) and are found by walking back from the newest entry. Sends never touch this index.
CREATE INDEX audit_log_topic ON audit_log (workspace_id, action, id)
WHERE substr(action, 1, 5) <> 'send.';

CREATE TRIGGER audit_subjects_no_update BEFORE UPDATE ON audit_subjects BEGIN
    SELECT RAISE (ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_subjects_no_delete BEFORE DELETE ON audit_subjects BEGIN
    SELECT RAISE (ABORT, 'the audit log is append-only');
END;
