-- A prospect's enrolments are looked up by prospect: when a reply, an opt-out or a bounce
-- ends their sequences, and for the campaigns their details show. Without this index each of
-- those read every enrolment of every campaign. It costs nothing on the send path: an
-- enrolment's prospect never changes after it is created.
CREATE INDEX enrollments_prospect ON enrollments (prospect_id);
