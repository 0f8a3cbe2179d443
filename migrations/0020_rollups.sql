-- Rollups (docs/rollups.md): measures pre-aggregated at write time, so views read small tables
-- instead of scanning `events`. Every write keeps them current in its own transaction.

-- Additive measures per local day (in the zone of rollup_state.time_zone) and per value of the
-- event's own filter dimensions. A row exists only while it counts at least one event.
CREATE TABLE rollup_daily (
    day             DATE NOT NULL,
    event_type      VARCHAR NOT NULL,
    channel         VARCHAR,
    store_id        VARCHAR,
    campaign_id     VARCHAR,
    category        VARCHAR,
    touchpoint      VARCHAR,
    topic           VARCHAR,
    identified      BOOLEAN NOT NULL,
    event_count     BIGINT NOT NULL,
    amount          DECIMAL(38, 2) NOT NULL,
    cost            DECIMAL(38, 2) NOT NULL,
    -- Σ quantity, 1 for an event without one: impressions and views arrive as daily totals.
    units           BIGINT NOT NULL,
    nps_promoters   BIGINT NOT NULL,
    nps_detractors  BIGINT NOT NULL,
    nps_scored      BIGINT NOT NULL,
    csat_satisfied  BIGINT NOT NULL,
    csat_scored     BIGINT NOT NULL
);

-- What the rollups hold: the time zone their days are in, and the highest load whose events
-- they count. An empty zone never matches, so the first start builds them (rollup::follow_time_zone).
CREATE TABLE rollup_state (
    time_zone       VARCHAR NOT NULL,
    loaded_through  BIGINT NOT NULL
);

INSERT INTO rollup_state VALUES ('', 0);
