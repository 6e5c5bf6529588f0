-- The tamper-evident public record: an append-only hash chain over published comments,
-- edits, withdrawals, dispositions and draft versions.
CREATE TABLE record_chain (
    id BIGSERIAL PRIMARY KEY,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX record_chain_seq_idx ON record_chain (seq);
CREATE INDEX record_chain_subject_idx ON record_chain (kind, subject_id);
