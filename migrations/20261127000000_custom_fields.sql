-- Columns of an import that match no built-in field, kept for personalisation: a JSON object
-- of variable name to text (`{"last_post": "..."}`), NULL when there are none.
ALTER TABLE prospects ADD COLUMN custom_fields TEXT;
