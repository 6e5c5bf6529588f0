-- Moderation: reports from participants, the actions of moderators (the draft's working
-- group and administrators), and pre-moderation per draft. A hidden comment keeps its text
-- (the public record hashes it); only the public reason is shown in its place.
ALTER TABLE drafts ADD COLUMN premoderation BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE comments ADD COLUMN hidden_reason TEXT NULL;

CREATE TABLE comment_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    comment_id BIGINT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    reporter_id BIGINT NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    details TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP NULL,
    resolution TEXT NULL
);
CREATE UNIQUE INDEX comment_reports_once_idx ON comment_reports (comment_id, reporter_id);
CREATE INDEX comment_reports_open_idx ON comment_reports (resolved_at, comment_id);

CREATE TABLE moderation_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    comment_id BIGINT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    actor_id BIGINT NULL REFERENCES users (id),
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX moderation_actions_comment_idx ON moderation_actions (comment_id, id);
