-- The hand-off matrix of the journeys the cond slot (in braces, filled by `matrix` in
-- handoff.rs; values bound as $n parameters) keeps: per channel pair, journeys, conversions,
-- the median hand-off time, and complaints and NPS answers within 30 days after it.
WITH s AS (
    SELECT s.journey_id, s.customer_id, s.step, s.occurred_at, s.channel,
           lag(s.channel) OVER w AS prev_channel,
           lag(s.occurred_at) OVER w AS prev_at
    FROM journey_steps s JOIN journeys j USING (journey_id)
    WHERE s.channel IS NOT NULL AND {cond}
    WINDOW w AS (PARTITION BY s.journey_id ORDER BY s.step)),
h AS (
    SELECT journey_id, any_value(customer_id) AS customer_id,
           prev_channel AS from_channel, channel AS to_channel,
           arg_min(occurred_at, step) AS at,
           arg_min(epoch(occurred_at) - epoch(prev_at), step) AS seconds
    FROM s WHERE prev_channel IS NOT NULL AND prev_channel <> channel
    GROUP BY journey_id, prev_channel, channel),
after AS (
    SELECT h.journey_id, h.from_channel, h.to_channel,
           count(e.event_id) FILTER (WHERE e.event_type = 'complaint') AS complaints,
           count(e.score) FILTER (WHERE e.event_type = 'survey') AS surveys,
           sum(e.score) FILTER (WHERE e.event_type = 'survey') AS score_sum
    FROM h LEFT JOIN events e
      ON e.customer_id = h.customer_id
     AND (e.event_type = 'complaint'
          OR (e.event_type = 'survey' AND e.score_scale = 'nps'))
     AND e.occurred_at >= h.at AND e.occurred_at <= h.at + INTERVAL 720 HOUR
    GROUP BY h.journey_id, h.from_channel, h.to_channel)
SELECT h.from_channel, h.to_channel, count(*),
       count(*) FILTER (WHERE j.status = 'converted'),
       count(*) FILTER (WHERE j.status <> 'open'),
       median(h.seconds) / 3600.0,
       CAST(coalesce(sum(a.complaints), 0) AS BIGINT),
       CAST(coalesce(sum(a.surveys), 0) AS BIGINT),
       CAST(sum(a.score_sum) AS DOUBLE) / nullif(sum(a.surveys), 0)
FROM h JOIN journeys j USING (journey_id)
JOIN after a ON a.journey_id = h.journey_id AND a.from_channel = h.from_channel
            AND a.to_channel = h.to_channel
GROUP BY h.from_channel, h.to_channel
ORDER BY count(*) DESC, h.from_channel, h.to_channel
