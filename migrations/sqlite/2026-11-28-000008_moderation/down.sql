DROP TABLE moderation_actions;
DROP TABLE comment_reports;
ALTER TABLE comments DROP COLUMN hidden_reason;
ALTER TABLE drafts DROP COLUMN premoderation;
