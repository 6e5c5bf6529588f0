-- Drafts, their immutable versions, provisions, consultation rounds and the audited
-- status transitions. Times are UTC.
CREATE TABLE drafts (
    id BIGSERIAL PRIMARY KEY,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    authority TEXT NOT NULL,
    summary TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'draft',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX drafts_status_idx ON drafts (status, updated_at);
CREATE INDEX drafts_authority_idx ON drafts (authority);

CREATE TABLE versions (
    id BIGSERIAL PRIMARY KEY,
    draft_id BIGINT NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    change_summary TEXT NOT NULL DEFAULT '',
    published_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX versions_draft_number_idx ON versions (draft_id, number);

CREATE TABLE provisions (
    id BIGSERIAL PRIMARY KEY,
    version_id BIGINT NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    position INTEGER NOT NULL,
    depth INTEGER NOT NULL,
    label TEXT NULL,
    heading TEXT NULL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX provisions_version_key_idx ON provisions (version_id, key);
CREATE UNIQUE INDEX provisions_version_position_idx ON provisions (version_id, position);

CREATE TABLE consultation_rounds (
    id BIGSERIAL PRIMARY KEY,
    draft_id BIGINT NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    version_id BIGINT NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    opens_at TIMESTAMP NOT NULL,
    closes_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK (closes_at > opens_at)
);
CREATE UNIQUE INDEX consultation_rounds_version_idx ON consultation_rounds (version_id);
CREATE INDEX consultation_rounds_draft_idx ON consultation_rounds (draft_id, closes_at);

CREATE TABLE draft_transitions (
    id BIGSERIAL PRIMARY KEY,
    draft_id BIGINT NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    from_status TEXT NULL,
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX draft_transitions_draft_idx ON draft_transitions (draft_id, id);
