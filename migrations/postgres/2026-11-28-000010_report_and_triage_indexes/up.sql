-- The report lists a round's comments in keyset pages: a range scan over (version_id, id).
CREATE INDEX comments_version_idx ON comments (version_id, id);
-- The triage queue's organization filter lists the organizations with comments on a draft:
-- one probe per organization.
CREATE INDEX comments_organization_idx ON comments (organization_id, draft_id);
