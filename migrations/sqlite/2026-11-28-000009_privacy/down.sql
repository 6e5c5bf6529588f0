ALTER TABLE comments DROP COLUMN show_as_participant;
