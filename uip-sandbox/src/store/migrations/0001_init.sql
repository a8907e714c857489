-- Schema version 1: every entity as a JSON document keyed by its id, document bytes as blobs.
CREATE TABLE businesses (
    id   TEXT PRIMARY KEY,
    json TEXT NOT NULL
);
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL,
    json        TEXT NOT NULL
);
CREATE TABLE documents (
    session_id TEXT NOT NULL,
    idx        INTEGER NOT NULL,
    bytes      BLOB,
    PRIMARY KEY (session_id, idx)
);
CREATE TABLE idempotency (
    business_id TEXT NOT NULL,
    key         TEXT NOT NULL,
    json        TEXT NOT NULL,
    PRIMARY KEY (business_id, key)
);
CREATE TABLE deliveries (
    seq         INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL UNIQUE,
    session_id  TEXT NOT NULL,
    json        TEXT NOT NULL
);
