DROP INDEX comments_counts_idx;
DROP INDEX comments_thread_idx;
CREATE INDEX comments_thread_idx ON comments (root_id, path);
DROP INDEX comments_provision_idx;
CREATE INDEX comments_provision_idx ON comments (draft_id, provision_key, depth, id);
