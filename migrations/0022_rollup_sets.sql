-- Distinct sets per day (docs/rollups.md section 5): for each rollup_daily key, the customers
-- and the orders of its events as serialised Roaring bitmaps of dense u32 numbers, so that
-- distinct counts and set algebra (active customers, orders, churn, new customers, the
-- omnichannel share) are unions and differences of small blobs instead of scans of `events`.

-- The dense number of each customer id seen: append-only, a number is never reused (an
-- erased or merged customer keeps its number, which then appears in no set).
CREATE SEQUENCE rollup_customer_number_seq START 1;
CREATE TABLE rollup_customer_numbers (
    customer_id BIGINT NOT NULL,
    n           BIGINT NOT NULL
);

-- The dense number of each order key, `coalesce(order_id, source || ':' || event_id)` of the
-- purchase and return events (the KPIs' definition of an order). Append-only as well.
CREATE SEQUENCE rollup_order_number_seq START 1;
CREATE TABLE rollup_order_numbers (
    order_key   VARCHAR NOT NULL,
    n           BIGINT NOT NULL
);

-- Keyed like rollup_daily (local day in rollup_state.time_zone × the event's own filter
-- dimensions × identified). `customers`: the numbers of the customer ids of the key's events
-- (empty when not identified); `orders`: the numbers of the order keys of its purchase and
-- return events (empty for other types). A row exists only while one of them is not empty.
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
    orders          BLOB NOT NULL
);

-- Built at the first start in the instance's zone, together with rollup_daily
-- (rollup::follow_time_zone): an empty zone never matches.
UPDATE rollup_state SET time_zone = '';
