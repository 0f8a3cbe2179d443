-- The single customer view: one header row per stitched customer, the history of merges,
-- and the identifiers left out of linking because too many people share them.

CREATE TABLE customers (
    customer_id      BIGINT PRIMARY KEY,
    first_seen       TIMESTAMPTZ NOT NULL,
    last_seen        TIMESTAMPTZ NOT NULL,
    channels         VARCHAR[] NOT NULL,
    lifetime_revenue DECIMAL(18, 2) NOT NULL,
    orders           BIGINT NOT NULL,
    identifiers      BIGINT NOT NULL
);

-- When two customers turn out to be one, the older id survives; the other is recorded here.
CREATE TABLE customer_merges (
    merged_id   BIGINT NOT NULL,
    into_id     BIGINT NOT NULL,
    merged_at   TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE identifiers_ignored (
    id_type     VARCHAR NOT NULL,
    id_value    VARCHAR NOT NULL,
    linked      BIGINT NOT NULL,
    PRIMARY KEY (id_type, id_value)
);

INSERT INTO settings (key, value) VALUES
    -- An identifier seen together with more distinct identifiers than this (a shop's generic
    -- e-mail, a shared tablet) is not used to link people.
    ('identity_max_links', '50'),
    -- Country calling code for phone numbers written without one (E.164).
    ('phone_country_code', '39');
