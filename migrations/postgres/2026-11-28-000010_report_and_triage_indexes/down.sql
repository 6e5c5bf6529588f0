DROP INDEX comments_triage_idx;
DROP INDEX comments_organization_idx;
DROP INDEX comments_version_idx;
