DROP TABLE endorsements;
DROP TABLE comment_revisions;
DROP TABLE comments;
