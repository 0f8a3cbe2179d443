-- The online department's KPIs from the rollups (issue #21, docs/rollups.md sections 1 and 2):
-- unique visitors, online conversion and cart abandonment count visitors, the customer when
-- known and else the cookie or the device, and on-time delivery compares a delivery's local
-- day with the promised date in its attributes. Both read `events` at request time before.

-- The dense number of each anonymous visitor seen, `'k:' || cookie_id` or else
-- `'d:' || device_id` of an event with no customer (the KPIs' visitor key). Append-only, as
-- the other numbering tables: a cookie later linked to a customer keeps its number, which
-- then appears only in the sets of the days it stayed anonymous.
CREATE SEQUENCE rollup_visitor_number_seq START 1;
CREATE TABLE rollup_visitor_numbers (
    visitor_key VARCHAR NOT NULL,
    n           BIGINT NOT NULL
);

-- `visitors`: the numbers of the anonymous visitors of the key's events (empty when the key
-- is identified: its visitors are its customers). A row now also exists while only this set
-- is not empty. The table is created again rather than altered: DuckDB refuses to commit a
-- transaction that both empties a table and adds a column to it, and its rows are rebuilt at
-- the next start anyway (below).
DROP TABLE rollup_sets;
CREATE TABLE rollup_sets (
    day             DATE NOT NULL,
    event_type      VARCHAR NOT NULL,
    channel         VARCHAR,
    store_id        VARCHAR,
    campaign_id     VARCHAR,
    category        VARCHAR,
    touchpoint      VARCHAR,
    topic           VARCHAR,
    identified      BOOLEAN NOT NULL,
    customers       BLOB NOT NULL,
    orders          BLOB NOT NULL,
    visitors        BLOB NOT NULL
);

-- Deliveries that carry a promised date (`attributes.promised_date`, a date or an instant),
-- and those of them that arrived on or before it (local day).
ALTER TABLE rollup_daily ADD COLUMN deliveries_promised BIGINT DEFAULT 0;
ALTER TABLE rollup_daily ALTER COLUMN deliveries_promised SET NOT NULL;
ALTER TABLE rollup_daily ADD COLUMN deliveries_on_time BIGINT DEFAULT 0;
ALTER TABLE rollup_daily ALTER COLUMN deliveries_on_time SET NOT NULL;

-- The data's clock, the latest `occurred_at` of the events, kept by every load (no write takes
-- an event out or moves it in time), so that the pain points' windows need no
-- `max(occurred_at)` over `events` at request time, nor the journey builder in a writer's
-- transaction, where it is a scan of every event.
ALTER TABLE rollup_state ADD COLUMN clock TIMESTAMPTZ;
UPDATE rollup_state SET clock = (SELECT max(occurred_at) FROM events);

-- Built at the next start with every rollup (rollup::follow_time_zone): an empty zone never
-- matches, and until then the KPIs read `events`.
UPDATE rollup_state SET time_zone = '';
