-- Lookback facts (issue #21, docs/rollups.md section 8): the KPIs that judge a purchase or an
-- order by what its customer did in the 7 days before (ROAS's attributed revenue,
-- webrooming, showrooming) read these instead of joining `events` with itself. One row per
-- KPI, customer, order (NULL for ROAS, which judges each purchase) and purchase instant: how
-- many purchase lines are there, how many of them belong to a purchase or an order that the
-- KPI counts as a hit (an ad click, an online interaction, a store visit in the 7 days before
-- its anchor), and the hit lines' revenue. A row's hit depends only on its customer's events,
-- so the journey builder recomputes the rows of the customers a write touched
-- (src/server/rollup/lookback.rs); they are rebuilt with the journey rollup and checked by
-- `rollup verify`.
CREATE TABLE lookback_facts (
    kpi           VARCHAR NOT NULL,
    customer_id   BIGINT NOT NULL,
    order_key     VARCHAR,
    line_at       TIMESTAMPTZ NOT NULL,
    lines         BIGINT NOT NULL,
    hit_lines     BIGINT NOT NULL,
    hit_amount    DECIMAL(18, 2) NOT NULL
);

-- Built at the next start with every rollup (rollup::follow_time_zone): an empty zone never
-- matches, and until then the KPIs read `events`.
UPDATE rollup_state SET time_zone = '';
