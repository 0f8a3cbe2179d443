-- Anchor facts of the failure pain rules (rules 1 to 4, issue #21, docs/rollups.md section 7):
-- per rule and journey, its first anchor (or reference) step, with the journey's start, and
-- the instants that decide the rule: `fail_at` the first event at or after the anchor that
-- the rule's failure looks for (a purchase, the order's pickup, a return, complaint or
-- detractor answer), `outcome_at` the first that converts it. The windows (failure_days,
-- outcome_days) and the data's clock are applied when the pain points are read, so neither an
-- override of a window nor a new latest event changes a row. The journeys page and the pain
-- point page read them when no filter narrows the journeys. Kept by the journey builder for
-- the customers a write touches and the owners of the orders its events name
-- (src/server/journey/pain/facts.rs), rebuilt with the journey rollup, checked by
-- `rollup verify`.
CREATE TABLE journey_anchor_facts (
    rule          VARCHAR NOT NULL,
    journey_id    BIGINT NOT NULL,
    customer_id   BIGINT NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    reference     BOOLEAN NOT NULL,
    source        VARCHAR NOT NULL,
    event_id      VARCHAR NOT NULL,
    anchored_at   TIMESTAMPTZ NOT NULL,
    order_id      VARCHAR,
    channel       VARCHAR,
    store_id      VARCHAR,
    campaign_id   VARCHAR,
    fail_at       TIMESTAMPTZ,
    outcome_at    TIMESTAMPTZ
);

-- Per fixed funnel of the journeys page (the cross-channel and the store funnel) and journey,
-- one row per funnel step the journey reached (0 the first), with the journey's start, customer
-- and entry channel, and the hours since the step before (NULL for the first): computed by the
-- same walk as the funnels read from the steps (src/server/journey/funnel/facts.rs). The
-- journeys page reads them when no filter narrows the journeys; its medians are taken from
-- these hours. Kept by the journey builder for the customers it cuts again.
CREATE TABLE journey_funnel_facts (
    funnel         VARCHAR NOT NULL,
    journey_id     BIGINT NOT NULL,
    customer_id    BIGINT NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,
    entry_channel  VARCHAR,
    step           INTEGER NOT NULL,
    hours          DOUBLE
);

-- What the facts were computed for: `anchors` the failure rules' definitions as the binary has
-- them, with the instance's overrides that change which events count (a detractor's
-- threshold); `funnels` the fixed funnels' steps. Another text never matches, so those facts
-- are not read until they are rebuilt (the next start or write, or `omnikpi rollup rebuild`).
CREATE TABLE journey_facts_state (
    anchors  VARCHAR NOT NULL,
    funnels  VARCHAR NOT NULL
);
INSERT INTO journey_facts_state VALUES ('', '');
