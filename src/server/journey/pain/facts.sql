-- The anchor facts (journey_anchor_facts, migration 0027) of one failure rule for the journeys
-- meeting `cond`. `facts.rs` fills the slots in braces: rule the rule's key as a literal,
-- steps and events the tables read (the whole ones, or the writer's copies of the rows of the
-- customers it redoes), anchor_steps and reference as in anchors.sql, fail_at and outcome_at
-- the first event at or after the anchor that the rule's failure and outcome look for, and
-- journeys the table of journeys (`journeys`, or the writer's copy of some customers').
WITH jj AS (SELECT j.journey_id, j.started_at FROM {journeys} j WHERE {cond}),
anchor_steps AS ({anchor_steps}),
a AS (SELECT * FROM anchor_steps {reference}),
firsts AS ({firsts})
SELECT '{rule}' AS rule, a.journey_id, a.customer_id, jj.started_at, a.reference, a.source,
       a.event_id, a.at AS anchored_at, a.order_id, a.channel,
       coalesce(a.store_id, f.store_id) AS store_id,
       coalesce(a.campaign_id, f.campaign_id) AS campaign_id,
       {fail_at} AS fail_at, {outcome_at} AS outcome_at
FROM a JOIN jj USING (journey_id) LEFT JOIN firsts f USING (journey_id)
WHERE true {needs_order}
