-- The report lists a round's comments in keyset pages: a range scan over (version_id, id).
CREATE INDEX comments_version_idx ON comments (version_id, id);
-- The triage queue's organization filter lists the organizations with comments on a draft:
-- one probe per organization.
CREATE INDEX comments_organization_idx ON comments (organization_id, draft_id);
-- The triage queue filtered by provision: its page walks the comments in id order and its
-- status counts read the index alone (status is in it).
CREATE INDEX comments_triage_idx ON comments (draft_id, provision_key, id, status);
