-- Inserts the journeys of the steps numbered above $2; $1 is the window in days. The data's
-- clock (the latest event) is the builder's temporary table journey_clock.
INSERT INTO journeys
WITH clock AS (SELECT as_of FROM journey_clock),
changes AS (
    SELECT journey_id, step, coalesce(channel, 'other') AS channel,
           coalesce(channel, 'other') IS DISTINCT FROM
               lag(coalesce(channel, 'other')) OVER (PARTITION BY journey_id ORDER BY step)
               AS changed
    FROM journey_steps WHERE journey_id > $2),
paths AS (
    SELECT journey_id, string_agg(channel, ' > ' ORDER BY step) AS path
    FROM changes WHERE changed GROUP BY journey_id)
SELECT s.journey_id, any_value(s.customer_id), min(s.occurred_at), max(s.occurred_at),
       CAST(count(*) AS INTEGER),
       CASE WHEN bool_or(s.event_type = 'purchase') THEN 'converted'
            WHEN max(s.occurred_at) + to_hours(CAST($1 AS BIGINT) * 24) >= any_value(c.as_of)
                THEN 'open'
            ELSE 'abandoned' END,
       arg_min(s.channel, s.step), arg_min(s.touchpoint, s.step),
       max(s.channel) FILTER (WHERE s.event_type = 'purchase'),
       max(s.order_key) FILTER (WHERE s.event_type = 'purchase'),
       coalesce(sum(s.amount) FILTER (WHERE s.event_type = 'purchase'), 0),
       any_value(p.path)
FROM journey_steps s JOIN paths p USING (journey_id), clock c
WHERE s.journey_id > $2
GROUP BY s.journey_id
