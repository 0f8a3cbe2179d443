-- The number of events with an amount per rollup_daily row (docs/rollups.md section 1):
-- `amount` keeps coalesce(sum, 0), which cannot tell "no amounts" (a sum of NULLs, which the
-- KPIs' SQL shows as n/a, as in CLV) from amounts adding up to 0. Counting them tells.
ALTER TABLE rollup_daily ADD COLUMN amount_count BIGINT DEFAULT 0;
ALTER TABLE rollup_daily ALTER COLUMN amount_count SET NOT NULL;

-- Per-customer purchase facts (docs/rollups.md section 2): per local day × the filter
-- dimensions of rollup_daily × customer number × order number (rollup_customer_numbers,
-- rollup_order_numbers), the amounts of that customer's order there: the distinct (customer,
-- order) pairs of identified purchases, so that orders and revenue per customer (repeat rate,
-- the multichannel uplifts) need no scan of `events`. Kept with rollup_sets (whole local days
-- recomputed by every write) and rebuilt with it.
CREATE TABLE rollup_facts (
    day             DATE NOT NULL,
    channel         VARCHAR,
    store_id        VARCHAR,
    campaign_id     VARCHAR,
    category        VARCHAR,
    touchpoint      VARCHAR,
    topic           VARCHAR,
    customer_no     BIGINT NOT NULL,
    order_no        BIGINT NOT NULL,
    -- Σ amount, 0 when none; amount_count tells "no amounts" (the SQL's NULL) from 0.
    amount          DECIMAL(38, 2) NOT NULL,
    amount_count    BIGINT NOT NULL
);

-- Rebuilt at the next start in the instance's zone (rollup::follow_time_zone), so that every
-- row gets its count and the facts are built: an empty zone never matches.
UPDATE rollup_state SET time_zone = '';
