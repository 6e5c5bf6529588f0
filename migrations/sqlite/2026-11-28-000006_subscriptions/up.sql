-- Email subscriptions: who follows what, the events waiting for a digest, the digests sent
-- (one per subscriber and period), and the round notices sent (one per round and kind).
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    user_id BIGINT NULL REFERENCES users (id) ON DELETE SET NULL,
    confirmed_at TIMESTAMP NULL,
    manage_token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX subscribers_email_idx ON subscribers (email);
CREATE UNIQUE INDEX subscribers_manage_token_idx ON subscribers (manage_token_hash);
CREATE INDEX subscribers_user_idx ON subscribers (user_id);

CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id BIGINT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    frequency TEXT NOT NULL,
    confirmed_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX subscriptions_once_idx ON subscriptions (subscriber_id, kind, target);
CREATE INDEX subscriptions_target_idx ON subscriptions (kind, target);

CREATE TABLE digest_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id BIGINT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    period_kind TEXT NOT NULL,
    period_start TIMESTAMP NOT NULL,
    sent_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX digest_runs_once_idx ON digest_runs (subscriber_id, period_kind, period_start);

-- One row per (event, matching subscription); delivered_at is set when the event went out,
-- immediately or in a digest (then with its digest run).
CREATE TABLE notification_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id BIGINT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    subscriber_id BIGINT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    digest_sent_at TIMESTAMP NULL,
    digest_run_id BIGINT NULL REFERENCES digest_runs (id) ON DELETE SET NULL
);
CREATE INDEX notification_events_pending_idx ON notification_events (subscriber_id, digest_sent_at);
CREATE INDEX notification_events_subscription_idx ON notification_events (subscription_id);
CREATE INDEX notification_events_run_idx ON notification_events (digest_run_id);

CREATE TABLE round_notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    round_id BIGINT NOT NULL REFERENCES consultation_rounds (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX round_notices_once_idx ON round_notices (round_id, kind);
