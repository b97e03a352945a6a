-- A prospect's own time zone (IANA name) for the send window; when NULL the country's zone or
-- the workspace's default applies.
ALTER TABLE prospects ADD COLUMN time_zone TEXT;
