-- A commenter may have "Participant" shown instead of their name on a published comment.
-- The text stays public; the working group and moderators still see who wrote it.
ALTER TABLE comments ADD COLUMN show_as_participant BOOLEAN NOT NULL DEFAULT FALSE;
