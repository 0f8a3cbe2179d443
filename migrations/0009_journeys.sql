-- Journeys (issue #8): each stitched customer's touchpoints cut into journeys that end at a
-- purchase or after an inactivity window, rebuilt from `events` after every load and identity
-- rebuild (src/server/journey/build.rs). The tables are derived data: a rebuild replaces them.

-- Which event types are steps of a journey. After-sale events (return, complaint, survey,
-- shipment, delivery), brand pushes (impression, email_sent) and administrative ones
-- (identify, unsubscribe) are not: the pain point rules read them from `events`.
ALTER TABLE event_types ADD COLUMN journey_step BOOLEAN DEFAULT false;
UPDATE event_types SET journey_step = false;
UPDATE event_types SET journey_step = true
WHERE event_type IN ('click', 'visit', 'product_view', 'add_to_cart', 'checkout', 'purchase',
                     'reservation', 'pickup', 'chat_start', 'chat_resolved', 'call',
                     'email_open', 'email_click', 'social_like', 'social_share',
                     'social_comment', 'social_mention', 'follow');

INSERT INTO settings (key, value) VALUES
    -- A journey without a purchase ends after this many days without a step.
    ('journey_inactivity_days', '30');

CREATE TABLE journeys (
    journey_id       BIGINT NOT NULL,
    customer_id      BIGINT NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    -- The last step (the purchase of a converted journey).
    ended_at         TIMESTAMPTZ NOT NULL,
    steps            INTEGER NOT NULL,
    -- converted, abandoned, or open (no purchase yet, inactivity window not over).
    status           VARCHAR NOT NULL,
    entry_channel    VARCHAR,
    entry_touchpoint VARCHAR,
    purchase_channel VARCHAR,
    order_key        VARCHAR,
    revenue          DECIMAL(18, 2) NOT NULL,
    -- The channels of the steps in order, consecutive repeats collapsed: 'ads > web > store'.
    path             VARCHAR NOT NULL
);

CREATE TABLE journey_steps (
    journey_id   BIGINT NOT NULL,
    step         INTEGER NOT NULL,
    customer_id  BIGINT NOT NULL,
    source       VARCHAR NOT NULL,
    event_id     VARCHAR NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    channel      VARCHAR,
    touchpoint   VARCHAR,
    event_type   VARCHAR NOT NULL,
    order_id     VARCHAR,
    -- One step per order: the lines of a purchase are summed into its first line's step.
    order_key    VARCHAR,
    amount       DECIMAL(18, 2),
    store_id     VARCHAR,
    campaign_id  VARCHAR,
    category     VARCHAR,
    sku          VARCHAR,
    topic        VARCHAR,
    attributes   JSON
);

-- The CX officer's acknowledgement and note per pain point rule (filled once users exist).
CREATE TABLE pain_point_notes (
    rule            VARCHAR PRIMARY KEY,
    acknowledged_at TIMESTAMPTZ,
    acknowledged_by VARCHAR,
    note            VARCHAR,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
