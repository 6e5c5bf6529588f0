-- Threaded comments with receipts. A thread is read in one index range scan over the
-- materialized path (zero-padded ids, '.'-separated): a root and all its replies share the
-- root's path as prefix.
CREATE TABLE comments (
    id BIGSERIAL PRIMARY KEY,
    draft_id BIGINT NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    version_id BIGINT NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    provision_key TEXT NULL,
    parent_id BIGINT NULL REFERENCES comments (id),
    root_id BIGINT NULL,
    path TEXT COLLATE "C" NOT NULL,
    depth INTEGER NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users (id),
    organization_id BIGINT NULL REFERENCES organizations (id),
    respondent_type TEXT NOT NULL,
    stance TEXT NOT NULL,
    body TEXT NOT NULL,
    body_html TEXT NOT NULL,
    proposed_wording TEXT NULL,
    quote TEXT NULL,
    status TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    endorsement_count INTEGER NOT NULL DEFAULT 0,
    reply_count INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    edited_at TIMESTAMP NULL,
    withdrawn_at TIMESTAMP NULL
);
CREATE UNIQUE INDEX comments_tracking_idx ON comments (tracking_number);
CREATE UNIQUE INDEX comments_idempotency_idx ON comments (author_id, idempotency_key);
CREATE INDEX comments_thread_idx ON comments (root_id, path);
CREATE INDEX comments_draft_path_idx ON comments (draft_id, path);
CREATE INDEX comments_provision_idx ON comments (draft_id, provision_key, depth, id);
CREATE INDEX comments_author_idx ON comments (author_id, id);

CREATE TABLE comment_revisions (
    id BIGSERIAL PRIMARY KEY,
    comment_id BIGINT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    proposed_wording TEXT NULL,
    content_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX comment_revisions_comment_idx ON comment_revisions (comment_id, id);

CREATE TABLE endorsements (
    id BIGSERIAL PRIMARY KEY,
    comment_id BIGINT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX endorsements_once_idx ON endorsements (comment_id, user_id);
