-- Inserts the journey steps of the customers the steps slot selects (the common table
-- expressions of steps.sql), numbering journeys from $2 + 1; $1 is the window in days.
INSERT INTO journey_steps
WITH {steps},
ordered AS (
    SELECT *,
           row_number() OVER w AS seq,
           lag(occurred_at) OVER w AS prev_at,
           lag(event_type) OVER w AS prev_type
    FROM steps
    WINDOW w AS (PARTITION BY customer_id
                 ORDER BY occurred_at, event_type = 'purchase', source, event_id)),
cut AS (
    SELECT *,
           sum(CASE WHEN prev_at IS NULL OR prev_type = 'purchase'
                         OR occurred_at > prev_at + to_hours(CAST($1 AS BIGINT) * 24)
                    THEN 1 ELSE 0 END)
               OVER (PARTITION BY customer_id ORDER BY seq
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS journey_no
    FROM ordered)
SELECT CAST($2 AS BIGINT) + dense_rank() OVER (ORDER BY customer_id, journey_no) AS journey_id,
       CAST(row_number() OVER (PARTITION BY customer_id, journey_no ORDER BY seq) AS INTEGER),
       customer_id, source, event_id, occurred_at, channel, touchpoint, event_type, order_id,
       order_key, amount, store_id, campaign_id, category, sku, topic, attributes
FROM cut
