-- The canonical model: every touchpoint of every silo in one table, plus the reference tables
-- and the load history that the ingestion path writes. See docs/design.md.

CREATE TABLE channels (
    channel     VARCHAR PRIMARY KEY,
    online      BOOLEAN NOT NULL DEFAULT false,
    name_en     VARCHAR NOT NULL,
    name_it     VARCHAR NOT NULL
);

INSERT INTO channels VALUES
    ('web',         true,  'Web shop',    'Sito web'),
    ('app',         true,  'App',         'App'),
    ('store',       false, 'Stores',      'Negozi'),
    ('email',       false, 'E-mail',      'E-mail'),
    ('social',      false, 'Social',      'Social'),
    ('chat',        false, 'Live chat',   'Chat'),
    ('ads',         false, 'Advertising', 'Pubblicità'),
    ('call_center', false, 'Call center', 'Call center');

CREATE TABLE event_types (
    event_type  VARCHAR PRIMARY KEY,
    interaction BOOLEAN NOT NULL
);

INSERT INTO event_types VALUES
    ('impression', false), ('click', true), ('visit', true), ('product_view', true),
    ('add_to_cart', true), ('checkout', true), ('purchase', true), ('return', true),
    ('reservation', true), ('pickup', true), ('chat_start', true), ('chat_resolved', true),
    ('call', true), ('email_sent', false), ('email_open', true), ('email_click', true),
    ('unsubscribe', true), ('social_like', true), ('social_share', true),
    ('social_comment', true), ('social_mention', true), ('follow', true), ('survey', true),
    ('complaint', true), ('shipment', true), ('delivery', true), ('identify', true);

CREATE TABLE stores (
    store_id    VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL,
    region      VARCHAR NOT NULL
);

CREATE SEQUENCE load_id_seq START 1;

CREATE TABLE loads (
    load_id         BIGINT PRIMARY KEY DEFAULT nextval('load_id_seq'),
    source          VARCHAR NOT NULL,
    file            VARCHAR NOT NULL,
    checksum        VARCHAR NOT NULL,
    rows_read       BIGINT NOT NULL DEFAULT 0,
    rows_loaded     BIGINT NOT NULL DEFAULT 0,
    rows_duplicate  BIGINT NOT NULL DEFAULT 0,
    rows_rejected   BIGINT NOT NULL DEFAULT 0,
    started_at      TIMESTAMPTZ NOT NULL,
    duration_ms     BIGINT NOT NULL DEFAULT 0,
    status          VARCHAR NOT NULL,
    error           VARCHAR
);

CREATE TABLE load_rejects (
    load_id     BIGINT NOT NULL,
    line        BIGINT NOT NULL,
    column_name VARCHAR,
    reason      VARCHAR NOT NULL,
    value       VARCHAR
);

CREATE TABLE events (
    source       VARCHAR NOT NULL,
    event_id     VARCHAR NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    email        VARCHAR,
    phone        VARCHAR,
    loyalty_id   VARCHAR,
    crm_id       VARCHAR,
    device_id    VARCHAR,
    cookie_id    VARCHAR,
    customer_id  BIGINT,
    channel      VARCHAR,
    touchpoint   VARCHAR,
    event_type   VARCHAR NOT NULL,
    order_id     VARCHAR,
    amount       DECIMAL(14, 2),
    currency     VARCHAR,
    quantity     INTEGER,
    cost         DECIMAL(14, 2),
    store_id     VARCHAR,
    campaign_id  VARCHAR,
    sku          VARCHAR,
    category     VARCHAR,
    unit_price   DECIMAL(14, 2),
    score        SMALLINT,
    score_scale  VARCHAR,
    topic        VARCHAR,
    attributes   JSON,
    load_id      BIGINT,
    PRIMARY KEY (source, event_id)
);

-- Identity stitching: every identifier seen, and the customer it resolves to.
CREATE TABLE identities (
    id_type     VARCHAR NOT NULL,
    id_value    VARCHAR NOT NULL,
    customer_id BIGINT NOT NULL,
    PRIMARY KEY (id_type, id_value)
);
