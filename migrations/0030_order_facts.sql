-- Order facts (issue #21, docs/rollups.md section 9): what the KPIs that judge a reservation
-- or a return by the other events of its order need, so that they do not join `events` with
-- itself at request time. The pickup rate judges an order's reservations by a pickup of the
-- order within 168 hours of its first reservation; the cross-channel return rate judges a
-- return by the channel class of the order's purchases. One row per KPI, order and instant
-- (of a reservation, of a return): `lines`, the reservations or returns there, and
-- `hit_lines`, those of a picked-up order or returned on another channel class. A row
-- depends on its order's events alone, and events are never taken out or given another
-- order, so a load recomputes the rows of the orders its events name
-- (src/server/rollup/order_facts.rs); they are rebuilt with the rollups and checked by
-- `rollup verify`.
CREATE TABLE order_facts (
    kpi           VARCHAR NOT NULL,
    order_id      VARCHAR NOT NULL,
    line_at       TIMESTAMPTZ NOT NULL,
    lines         BIGINT NOT NULL,
    hit_lines     BIGINT NOT NULL
);

-- Built at the next start with every rollup (rollup::follow_time_zone): an empty zone never
-- matches, and until then the KPIs read `events`.
UPDATE rollup_state SET time_zone = '';
