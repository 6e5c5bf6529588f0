DROP TABLE round_notices;
DROP TABLE notification_events;
DROP TABLE digest_runs;
DROP TABLE subscriptions;
DROP TABLE subscribers;
