-- Kiosk links: a screen in a shop shows one store's (or one department's) KPIs against target
-- without anyone signing in. The link carries a random 256-bit token; only its SHA-256 is kept
-- (like API tokens), with the scope it shows, so editing the URL cannot widen it. A link
-- expires at the time chosen at creation and can be revoked before.
CREATE SEQUENCE kiosk_link_id_seq START 1;

CREATE TABLE kiosk_links (
    link_id      BIGINT PRIMARY KEY DEFAULT nextval('kiosk_link_id_seq'),
    token_hash   VARCHAR NOT NULL UNIQUE,
    -- Exactly one of the two: a store's numbers, or a department's view.
    store_id     VARCHAR,
    department   VARCHAR,
    created_by   VARCHAR NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    expires_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    CHECK ((store_id IS NULL) <> (department IS NULL))
);
