-- The step rows of the events, as common table expressions for a WITH clause: base (the
-- journey-step events of known customers; the only slot in braces narrows them with a
-- condition on e), lines (the purchase lines of each order) and steps (one row per
-- non-purchase event and per order, with the order's total).
base AS (
    SELECT e.customer_id, e.source, e.event_id, e.occurred_at, e.channel, e.touchpoint,
           e.event_type, e.order_id,
           CASE WHEN e.event_type = 'purchase'
                THEN coalesce(e.order_id, e.source || ':' || e.event_id) END AS order_key,
           e.amount, e.store_id, e.campaign_id, e.category, e.sku, e.topic, e.attributes
    FROM events e JOIN event_types t USING (event_type)
    WHERE e.customer_id IS NOT NULL AND t.journey_step IS TRUE {only}),
lines AS (
    SELECT *,
           row_number() OVER (PARTITION BY customer_id, order_key
                              ORDER BY occurred_at, source, event_id) AS line,
           sum(amount) OVER (PARTITION BY customer_id, order_key) AS order_total
    FROM base WHERE event_type = 'purchase'),
steps AS (
    SELECT customer_id, source, event_id, occurred_at, channel, touchpoint, event_type,
           order_id, order_key, CAST(amount AS DECIMAL(18, 2)) AS amount, store_id,
           campaign_id, category, sku, topic, attributes
    FROM base WHERE event_type <> 'purchase'
    UNION ALL
    SELECT customer_id, source, event_id, occurred_at, channel, touchpoint, event_type,
           order_id, order_key, CAST(order_total AS DECIMAL(18, 2)), store_id, campaign_id,
           category, sku, topic, attributes
    FROM lines WHERE line = 1)
