-- API tokens for machines (the real-time events endpoint): shown once, stored as a SHA-256
-- of the token (tokens are 256 random bits, so a fast hash is enough), revocable.
CREATE SEQUENCE token_id_seq START 1;

CREATE TABLE api_tokens (
    token_id     BIGINT PRIMARY KEY DEFAULT nextval('token_id_seq'),
    name         VARCHAR NOT NULL UNIQUE,
    token_hash   VARCHAR NOT NULL UNIQUE,
    scope        VARCHAR NOT NULL DEFAULT 'ingest',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
