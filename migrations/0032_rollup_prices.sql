-- Purchase prices per local day, SKU and channel (issue #21, docs/rollups.md section 10): what
-- the channel price gap needs, so that it reads a small table instead of every purchase of
-- the period. One row per day, SKU and channel with `price_total`, the exact sum of the
-- purchase lines' unit prices (summed as the raw query sums them, into a DECIMAL(38, 2)), and
-- `prices`, how many lines carry one. A row depends on its events' instant, type, SKU,
-- channel and unit price, which no write changes after the load (stitching, splits and
-- erasures change customers and identifiers), so only loads add to it
-- (src/server/rollup/prices.rs); it is rebuilt with the rollups and checked by `rollup verify`.
CREATE TABLE rollup_prices (
    day           DATE NOT NULL,
    sku           VARCHAR NOT NULL,
    channel       VARCHAR NOT NULL,
    price_total   DECIMAL(38, 2) NOT NULL,
    prices        BIGINT NOT NULL
);

-- Built at the next start with every rollup (rollup::follow_time_zone): an empty zone never
-- matches, and until then the KPIs read `events`.
UPDATE rollup_state SET time_zone = '';
