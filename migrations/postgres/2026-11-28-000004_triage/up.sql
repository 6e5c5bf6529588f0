-- The working group's triage of comments (private: status, assignee, tags, notes) and its
-- public decisions (dispositions), one per comment.
CREATE TABLE triage (
    comment_id BIGINT NOT NULL PRIMARY KEY REFERENCES comments (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    assignee_id BIGINT NULL REFERENCES users (id) ON DELETE SET NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX triage_status_idx ON triage (status, assignee_id);

CREATE TABLE triage_tags (
    id BIGSERIAL PRIMARY KEY,
    comment_id BIGINT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX triage_tags_once_idx ON triage_tags (comment_id, tag);
CREATE INDEX triage_tags_tag_idx ON triage_tags (tag);

CREATE TABLE triage_notes (
    id BIGSERIAL PRIMARY KEY,
    comment_id BIGINT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    author_id BIGINT NULL REFERENCES users (id) ON DELETE SET NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX triage_notes_comment_idx ON triage_notes (comment_id, id);

CREATE TABLE dispositions (
    id BIGSERIAL PRIMARY KEY,
    comment_id BIGINT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    decision TEXT NOT NULL,
    duplicate_of BIGINT NULL REFERENCES comments (id),
    justification TEXT NOT NULL,
    decided_by BIGINT NULL REFERENCES users (id) ON DELETE SET NULL,
    decided_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX dispositions_comment_idx ON dispositions (comment_id);
CREATE INDEX dispositions_decision_idx ON dispositions (decision);

-- Which comments a change in a new version addresses (recorded while preparing it).
CREATE TABLE revision_links (
    id BIGSERIAL PRIMARY KEY,
    version_id BIGINT NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    provision_key TEXT NOT NULL,
    comment_id BIGINT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX revision_links_once_idx ON revision_links (version_id, provision_key, comment_id);
