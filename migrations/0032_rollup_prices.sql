-- Purchase prices per local day, SKU and channel (issue #21, docs/rollups.md section 10): what
-- the channel price gap needs, so that it reads a small table instead of every purchase of
-- the period. One row per day, SKU and channel with `price_total`, the exact sum of the
-- purchase lines' unit prices, and `prices`, how many lines carry one. A reader sums
-- `price_total` into a DECIMAL(38, 2), as the raw query sums the prices; the column itself is
-- a DECIMAL(18, 2) (up to 10^16 a day, SKU and channel) because DuckDB 1.5 decodes a
-- DECIMAL(38, 2) column of varied values about 15 times slower (127 ms against 8 ms for a
-- year's rows at 10M events). A row depends on its events' instant, type, SKU,
-- channel and unit price, which no write changes after the load (stitching, splits and
-- erasures change customers and identifiers), so only loads add to it
-- (src/server/rollup/prices.rs); it is rebuilt with the rollups and checked by `rollup verify`.
CREATE TABLE rollup_prices (
    day           DATE NOT NULL,
    sku           VARCHAR NOT NULL,
    channel       VARCHAR NOT NULL,
    price_total   DECIMAL(18, 2) NOT NULL,
    prices        BIGINT NOT NULL
);

-- Built at the next start with every rollup (rollup::follow_time_zone): an empty zone never
-- matches, and until then the KPIs read `events`.
UPDATE rollup_state SET time_zone = '';
