-- Accounts, sessions, single-use email tokens, roles, organizations, the durable job queue
-- and shared rate-limit counters.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    respondent_type TEXT NOT NULL,
    email_verified_at TIMESTAMP NULL,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    blocked_until TIMESTAMP NULL,
    blocked_reason TEXT NULL,
    deleted_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email_idx ON users (email);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key_hash TEXT NOT NULL,
    user_id BIGINT NULL REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX sessions_key_hash_idx ON sessions (key_hash);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE email_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    new_email TEXT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX email_tokens_hash_idx ON email_tokens (token_hash);
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose);

CREATE TABLE working_group_members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    draft_id BIGINT NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX working_group_members_idx ON working_group_members (draft_id, user_id);
CREATE INDEX working_group_members_user_idx ON working_group_members (user_id);

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    registration_number TEXT NOT NULL,
    website TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX organizations_registration_idx ON organizations (kind, registration_number);

CREATE TABLE organization_representatives (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    position TEXT NOT NULL DEFAULT '',
    decision_reason TEXT NULL,
    decided_by BIGINT NULL REFERENCES users (id),
    decided_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX organization_representatives_idx ON organization_representatives (organization_id, user_id);
CREATE INDEX organization_representatives_status_idx ON organization_representatives (status);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    run_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    last_error TEXT NULL,
    locked_by TEXT NULL,
    locked_until TIMESTAMP NULL,
    done_at TIMESTAMP NULL,
    parked_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX jobs_due_idx ON jobs (done_at, parked_at, run_at);

CREATE TABLE rate_limits (
    bucket TEXT NOT NULL PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    hits INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id BIGINT NULL REFERENCES users (id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject, id);
