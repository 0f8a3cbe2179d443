-- Journey rollups (issue #21, docs/rollups.md section 7): the journeys of each local day of
-- their start (in the zone recorded in journey_rollup_state) and each path, with how many
-- converted or were abandoned (the rest are open) and their revenue. The journeys page's
-- summary, top paths and flow (and the average order value of the pain points) read it when
-- no filter narrows the journeys. Kept by the journey builder in the writer's transaction for
-- the journeys it cuts again or whose status the clock changes (src/server/journey/rollup.rs),
-- rebuilt with the journeys and by `omnikpi rollup rebuild`, checked by `rollup verify`.
CREATE TABLE journey_rollup_paths (
    day        DATE NOT NULL,
    path       VARCHAR NOT NULL,
    journeys   BIGINT NOT NULL,
    converted  BIGINT NOT NULL,
    abandoned  BIGINT NOT NULL,
    revenue    DECIMAL(38, 2) NOT NULL
);

-- Per local day of the journey's start and value of the significance pain rule (rule 5,
-- src/server/journey/pain/values.sql: kind touchpoint, campaign or handoff; grp the touchpoint's
-- channel and event type, else ''), the ended journeys through the value and how many
-- converted; value NULL: the ended journeys through any value of the kind and group (each
-- once). The journeys page's pain point list reads it when no filter narrows the journeys.
CREATE TABLE journey_rollup_values (
    day        DATE NOT NULL,
    kind       VARCHAR NOT NULL,
    grp        VARCHAR NOT NULL,
    value      VARCHAR,
    journeys   BIGINT NOT NULL,
    converted  BIGINT NOT NULL
);

-- Per journey and channel pair, its first hand-off (handoff_facts.sql in src/server/journey):
-- the journey's start and status, the seconds since the step before, and the customer's
-- complaints and NPS answers (count, sum of scores) within 30 days after. The hand-off matrix
-- reads it when no filter narrows the journeys (its medians are not sums). Redone for every
-- customer a write touches; keyed by the start instant, so a change of zone leaves it valid.
CREATE TABLE journey_handoff_facts (
    journey_id    BIGINT NOT NULL,
    customer_id   BIGINT NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    status        VARCHAR NOT NULL,
    from_channel  VARCHAR NOT NULL,
    to_channel    VARCHAR NOT NULL,
    seconds       DOUBLE,
    complaints    BIGINT NOT NULL,
    surveys       BIGINT NOT NULL,
    score_sum     HUGEINT
);

-- The zone the days are local to; an empty zone never matches, so the rollup is unused until
-- it is built (the next start, load or rebuild).
CREATE TABLE journey_rollup_state (
    time_zone  VARCHAR NOT NULL
);
INSERT INTO journey_rollup_state VALUES ('');
