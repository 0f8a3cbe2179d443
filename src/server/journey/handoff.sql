-- The hand-off matrix over rows shaped as handoff_facts.sql's (the facts slot: that
-- statement for the journeys the cond slot keeps, or journey_handoff_facts narrowed to the
-- period): per channel pair, journeys, conversions, the median hand-off time, and complaints
-- and NPS answers within 30 days after it. Filled by `matrix` in handoff.rs; values bound as
-- $n parameters.
SELECT from_channel, to_channel, count(*),
       count(*) FILTER (WHERE status = 'converted'),
       count(*) FILTER (WHERE status <> 'open'),
       median(seconds) / 3600.0,
       CAST(coalesce(sum(complaints), 0) AS BIGINT),
       CAST(coalesce(sum(surveys), 0) AS BIGINT),
       CAST(sum(score_sum) AS DOUBLE) / nullif(sum(surveys), 0)
FROM ({facts}) f
GROUP BY from_channel, to_channel
ORDER BY count(*) DESC, from_channel, to_channel
