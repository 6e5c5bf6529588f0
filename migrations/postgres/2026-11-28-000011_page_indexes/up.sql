-- Indexes that answer a provision's page and the draft's comment counts from the index
-- alone: the threads of a provision in id order with what decides who may see them, each
-- thread's replies in order with the same, and published comments per provision.
DROP INDEX comments_provision_idx;
CREATE INDEX comments_provision_idx ON comments (draft_id, provision_key, depth, id, status, author_id);
DROP INDEX comments_thread_idx;
CREATE INDEX comments_thread_idx ON comments (root_id, path, id, status, author_id);
CREATE INDEX comments_counts_idx ON comments (draft_id, status, provision_key);
