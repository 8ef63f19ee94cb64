-- zstd dictionaries trained on a project's own events. Events of one project share most of
-- their text (SDK, modules, contexts, frames), so a dictionary shrinks a stored payload to a
-- fraction of what compressing it alone gives.
CREATE TABLE dictionaries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: events name it
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    data        BLOB    NOT NULL,
    created_at  REAL    NOT NULL
);
CREATE INDEX dictionaries_by_project ON dictionaries (project_id, id);

-- The dictionary an event's payload was compressed with; NULL = none.
ALTER TABLE events ADD COLUMN dict_id INTEGER;
