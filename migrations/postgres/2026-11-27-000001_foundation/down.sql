DROP TABLE draft_transitions;
DROP TABLE consultation_rounds;
DROP TABLE provisions;
DROP TABLE versions;
DROP TABLE drafts;
