-- The values a journey went through, for rule 5: each touchpoint (grouped by its channel and
-- event type), campaign and hand-off, once per journey. A query over s, the journey steps with
-- prev_channel (the channel of the step before); filled into significance.sql and into the
-- journey rollup's journey_rollup_values (src/server/journey/rollup.rs).
SELECT DISTINCT journey_id, 'touchpoint' AS kind,
       coalesce(channel, 'other') || ':' || event_type AS grp,
       coalesce(channel, 'other') || ':' || coalesce(touchpoint, '') AS value
FROM s WHERE event_type <> 'purchase'
UNION
SELECT DISTINCT journey_id, 'campaign', '', campaign_id
FROM s WHERE campaign_id IS NOT NULL
UNION
SELECT DISTINCT journey_id, 'handoff', '', prev_channel || ' > ' || channel
FROM s WHERE channel IS NOT NULL AND prev_channel IS NOT NULL
         AND prev_channel <> channel
