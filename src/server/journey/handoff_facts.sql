-- The hand-offs of the journeys the journeys slot (in braces: a condition on j from the
-- journey builder's constants) keeps, one row per journey and channel pair (at its first
-- hand-off of the pair): when the journey started and its status, the seconds of the hand-off,
-- and the complaints and NPS answers of the customer within 30 days (720 h) after it. The
-- events slot is a condition on e that keeps at least every event of those journeys'
-- customers (true, but for a write's few customers: their events' row ids). The rows of
-- journey_handoff_facts (src/server/journey/rollup.rs), and, for the journeys of a period, of
-- the hand-off matrix (handoff.sql).
WITH jj AS (SELECT j.journey_id, j.started_at, j.status FROM journeys j WHERE {journeys}),
s AS (
    SELECT s.journey_id, s.customer_id, s.step, s.occurred_at, s.channel,
           lag(s.channel) OVER w AS prev_channel,
           lag(s.occurred_at) OVER w AS prev_at
    FROM journey_steps s JOIN jj USING (journey_id)
    WHERE s.channel IS NOT NULL
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
      ON e.customer_id = h.customer_id AND {events}
     AND (e.event_type = 'complaint'
          OR (e.event_type = 'survey' AND e.score_scale = 'nps'))
     AND e.occurred_at >= h.at AND e.occurred_at <= h.at + INTERVAL 720 HOUR
    GROUP BY h.journey_id, h.from_channel, h.to_channel)
SELECT h.journey_id, h.customer_id, jj.started_at, jj.status, h.from_channel, h.to_channel,
       h.seconds, a.complaints, a.surveys, a.score_sum
FROM h JOIN jj USING (journey_id)
JOIN after a ON a.journey_id = h.journey_id AND a.from_channel = h.from_channel
            AND a.to_channel = h.to_channel
