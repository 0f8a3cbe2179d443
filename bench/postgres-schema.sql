-- The omnikpi tables the company KPIs read, in PostgreSQL 15 types (DuckDB VARCHAR is text,
-- DECIMAL numeric, JSON json), with the same primary key as in DuckDB.
DROP TABLE IF EXISTS events, event_types, settings;

CREATE TABLE events (
    source       text NOT NULL,
    event_id     text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    email        text,
    phone        text,
    loyalty_id   text,
    crm_id       text,
    device_id    text,
    cookie_id    text,
    customer_id  bigint,
    channel      text,
    touchpoint   text,
    event_type   text NOT NULL,
    order_id     text,
    amount       numeric(14, 2),
    currency     text,
    quantity     integer,
    cost         numeric(14, 2),
    store_id     text,
    campaign_id  text,
    sku          text,
    category     text,
    unit_price   numeric(14, 2),
    score        smallint,
    score_scale  text,
    topic        text,
    attributes   json,
    load_id      bigint,
    PRIMARY KEY (source, event_id)
);

CREATE TABLE event_types (
    event_type  text PRIMARY KEY,
    interaction boolean NOT NULL,
    journey_step boolean
);

CREATE TABLE settings (
    key         text PRIMARY KEY,
    value       text NOT NULL,
    updated_at  timestamptz NOT NULL
);
