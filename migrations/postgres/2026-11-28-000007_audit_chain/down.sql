DROP TABLE record_chain;
