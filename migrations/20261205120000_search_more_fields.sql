-- Search also finds a prospect by job title, X handle, LinkedIn profile and the values of
-- custom fields (an imported "niche" or "last_post"): what people type to find someone
-- they remember by a role, a handle or a column of their own list. Custom fields are indexed
-- by value only: a field's name is the same on every row it came with, so matching on it
-- would find the whole import.
DROP TRIGGER prospects_fts_insert;
DROP TRIGGER prospects_fts_delete;
DROP TRIGGER prospects_fts_update;
DROP TABLE prospects_fts;

CREATE VIRTUAL TABLE prospects_fts USING fts5 (
    first_name, last_name, email, company, website, notes, title, x_handle, linkedin_url,
    custom_fields,
    content = 'prospects', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    -- Search is "every word as a prefix", never phrases or ranking: without positions and
    -- column sizes the index is a fraction of the size and much cheaper to build on import.
    detail = none, columnsize = 0
);

-- What is indexed of a row's custom fields: their values, separated by spaces. The triggers
-- compute it the same way for a row's removal as for its insertion, as an external-content
-- index needs; fts5's own 'rebuild' would index the raw JSON instead, so it is not used.
INSERT INTO prospects_fts (rowid, first_name, last_name, email, company, website, notes, title,
                           x_handle, linkedin_url, custom_fields)
SELECT id, first_name, last_name, email, company, website, notes, title, x_handle, linkedin_url,
       (SELECT group_concat(value, ' ') FROM json_each(custom_fields)
         WHERE json_valid(custom_fields))
FROM prospects;

CREATE TRIGGER prospects_fts_insert AFTER INSERT ON prospects BEGIN
    INSERT INTO prospects_fts (rowid, first_name, last_name, email, company, website, notes,
                               title, x_handle, linkedin_url, custom_fields)
    VALUES (new.id, new.first_name, new.last_name, new.email, new.company, new.website,
            new.notes, new.title, new.x_handle, new.linkedin_url,
            (SELECT group_concat(value, ' ') FROM json_each(new.custom_fields)
              WHERE json_valid(new.custom_fields)));
END;
CREATE TRIGGER prospects_fts_delete AFTER DELETE ON prospects BEGIN
    INSERT INTO prospects_fts (prospects_fts, rowid, first_name, last_name, email, company,
                               website, notes, title, x_handle, linkedin_url, custom_fields)
    VALUES ('delete', old.id, old.first_name, old.last_name, old.email, old.company,
            old.website, old.notes, old.title, old.x_handle, old.linkedin_url,
            (SELECT group_concat(value, ' ') FROM json_each(old.custom_fields)
              WHERE json_valid(old.custom_fields)));
END;
CREATE TRIGGER prospects_fts_update AFTER UPDATE OF first_name, last_name, email, company,
    website, notes, title, x_handle, linkedin_url, custom_fields
ON prospects BEGIN
    INSERT INTO prospects_fts (prospects_fts, rowid, first_name, last_name, email, company,
                               website, notes, title, x_handle, linkedin_url, custom_fields)
    VALUES ('delete', old.id, old.first_name, old.last_name, old.email, old.company,
            old.website, old.notes, old.title, old.x_handle, old.linkedin_url,
            (SELECT group_concat(value, ' ') FROM json_each(old.custom_fields)
              WHERE json_valid(old.custom_fields)));
    INSERT INTO prospects_fts (rowid, first_name, last_name, email, company, website, notes,
                               title, x_handle, linkedin_url, custom_fields)
    VALUES (new.id, new.first_name, new.last_name, new.email, new.company, new.website,
            new.notes, new.title, new.x_handle, new.linkedin_url,
            (SELECT group_concat(value, ' ') FROM json_each(new.custom_fields)
              WHERE json_valid(new.custom_fields)));
END;
