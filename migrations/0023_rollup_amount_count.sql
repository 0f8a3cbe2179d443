-- The number of events with an amount per rollup_daily row (docs/rollups.md section 1):
-- `amount` keeps coalesce(sum, 0), which cannot tell "no amounts" (a sum of NULLs, which the
-- KPIs' SQL shows as n/a, as in CLV) from amounts adding up to 0. Counting them tells.
ALTER TABLE rollup_daily ADD COLUMN amount_count BIGINT DEFAULT 0;
ALTER TABLE rollup_daily ALTER COLUMN amount_count SET NOT NULL;

-- Rebuilt at the next start in the instance's zone (rollup::follow_time_zone), so that every
-- row gets its count: an empty zone never matches.
UPDATE rollup_state SET time_zone = '';
