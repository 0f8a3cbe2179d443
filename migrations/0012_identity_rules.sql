-- Identity you can trust (#12): the identity rules as data, the lineage of every link made
-- while stitching, and the splits made on the customer 360 (kept as rules, so they survive
-- later loads and rebuilds).

-- Versions of the identity rules (a TOML document, see src/server/identity/rules.toml); the
-- highest version is in force, none: the built-in defaults.
CREATE SEQUENCE identity_rules_seq START 1;
CREATE TABLE identity_rules (
    version     BIGINT PRIMARY KEY DEFAULT nextval('identity_rules_seq'),
    rules       VARCHAR NOT NULL,
    created_by  VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- Every link made by the last stitching: which event joined which two identifiers under which
-- rule (`step`: the order links were made in).
CREATE TABLE identity_links (
    customer_id BIGINT NOT NULL,
    a_type      VARCHAR NOT NULL,
    a_value     VARCHAR NOT NULL,
    b_type      VARCHAR NOT NULL,
    b_value     VARCHAR NOT NULL,
    rule        VARCHAR NOT NULL,
    priority    BIGINT NOT NULL,
    source      VARCHAR NOT NULL,
    event_id    VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ,
    step        BIGINT NOT NULL
);

-- Splits: 'block' (the identifier links nobody) or 'unlink' (the two identifiers never link
-- directly), who made them and why.
CREATE SEQUENCE identity_split_seq START 1;
CREATE TABLE identity_splits (
    split_id    BIGINT PRIMARY KEY DEFAULT nextval('identity_split_seq'),
    kind        VARCHAR NOT NULL CHECK (kind IN ('block', 'unlink')),
    a_type      VARCHAR NOT NULL,
    a_value     VARCHAR NOT NULL,
    b_type      VARCHAR,
    b_value     VARCHAR,
    customer_id BIGINT,
    reason      VARCHAR NOT NULL,
    created_by  VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
