DROP TABLE revision_links;
DROP TABLE dispositions;
DROP TABLE triage_notes;
DROP TABLE triage_tags;
DROP TABLE triage;
