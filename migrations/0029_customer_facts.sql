-- Customer facts (issue #21, docs/rollups.md section 8): what the KPIs that judge a purchase,
-- an order or an e-mail by its customer's other events need, kept so that they do not join
-- `events` with itself at request time. ROAS, webrooming and showrooming judge a purchase or
-- an order by what its customer did in the 7 days before; the e-mail rates pair each
-- campaign's sends to a customer with that customer's opens or clicks of it.
-- One row per KPI, customer, order or campaign (`order_key`; NULL for ROAS, which judges each
-- purchase) and instant: `lines`, the events the KPI counts there (purchase lines, e-mails
-- sent); `hit_lines`, those judged a hit (the lines of a purchase or order preceded by an ad
-- click, an online interaction, a store visit) or the hits themselves (opens, clicks); and
-- the hit lines' revenue (ROAS). A row depends on its customer's events alone, so the journey
-- builder recomputes the rows of the customers a write touched
-- (src/server/rollup/customer_facts.rs); they are rebuilt with the journey rollup and
-- checked by `rollup verify`.
CREATE TABLE customer_facts (
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
