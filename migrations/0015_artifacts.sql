-- Artifacts for source maps (issue 15): what sentry-cli uploads, per project.
--
-- sentry-cli sends a bundle (a zip) in chunks named by their SHA-1, then asks to assemble them.
-- Chunks wait here until the assemble that uses them; retention drops the ones nobody assembled.
CREATE TABLE upload_chunks (
    checksum   TEXT    PRIMARY KEY,
    size       INTEGER NOT NULL,
    data       BLOB    NOT NULL,
    created_at REAL    NOT NULL
);
-- One upload: an artifact bundle (debug ids), a release bundle (the legacy release-bound flow)
-- or a single release file. `checksum` is the SHA-1 of what was uploaded, so the same bundle
-- sent twice is stored once. `last_used_at` moves when symbolication reads one of its files;
-- retention deletes bundles no event used for the retention period.
CREATE TABLE artifact_bundles (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    checksum     TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    bundle_id    TEXT,
    release      TEXT,
    dist         TEXT,
    size         INTEGER NOT NULL,
    file_count   INTEGER NOT NULL,
    created_at   REAL    NOT NULL,
    last_used_at REAL    NOT NULL,
    UNIQUE (project_id, checksum)
);
CREATE INDEX artifact_bundles_by_release ON artifact_bundles (project_id, release);
-- File contents, zstd-compressed, once per SHA-1 whatever bundles hold them.
CREATE TABLE artifact_blobs (
    checksum TEXT    PRIMARY KEY,
    size     INTEGER NOT NULL,
    data     BLOB    NOT NULL
);
-- The files of a bundle: where the browser loads them from (`url`, `~/` for any host), what
-- they are (minified_source, source_map, source), their debug id and a minified file's
-- `Sourcemap` reference.
CREATE TABLE artifact_files (
    id         INTEGER PRIMARY KEY,
    bundle_id  INTEGER NOT NULL REFERENCES artifact_bundles (id) ON DELETE CASCADE,
    project_id INTEGER NOT NULL,
    path       TEXT    NOT NULL,
    url        TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    debug_id   TEXT,
    sourcemap  TEXT,
    checksum   TEXT    NOT NULL,
    size       INTEGER NOT NULL
);
CREATE INDEX artifact_files_by_debug_id ON artifact_files (project_id, debug_id) WHERE debug_id IS NOT NULL;
CREATE INDEX artifact_files_by_url ON artifact_files (project_id, url);
CREATE INDEX artifact_files_by_bundle ON artifact_files (bundle_id);
CREATE INDEX artifact_files_by_checksum ON artifact_files (checksum);
