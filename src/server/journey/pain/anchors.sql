-- The anchors of a failure rule (and its reference anchors), each judged: failed, converted,
-- whether its failure and outcome windows are over. `anchors` in anchors.rs fills the slots in
-- braces: cond keeps the journeys, anchor_steps and reference select the first anchor step of
-- each, failed and converted are the rule's predicates on it, fw and ow its failure and outcome
-- windows, needs_order an optional extra condition. Values are bound as $n parameters.
WITH clock AS (SELECT max(occurred_at) AS as_of FROM events),
jj AS (SELECT j.journey_id FROM journeys j WHERE {cond}),
anchor_steps AS ({anchor_steps}),
a AS (SELECT * FROM anchor_steps {reference}),
firsts AS (
    SELECT s.journey_id,
           arg_min(s.store_id, s.step) FILTER (WHERE s.store_id IS NOT NULL) AS store_id,
           arg_min(s.campaign_id, s.step) FILTER (WHERE s.campaign_id IS NOT NULL)
               AS campaign_id
    FROM journey_steps s JOIN jj USING (journey_id) GROUP BY s.journey_id)
SELECT a.journey_id, a.customer_id, a.source, a.event_id, CAST(a.at AS VARCHAR),
       strftime(CAST(a.at AS TIMESTAMP), '%Y-%m'), a.reference,
       {failed}, {converted},
       a.at + {fw} <= c.as_of, a.at + {ow} <= c.as_of,
       a.channel, coalesce(a.store_id, f.store_id),
       coalesce(a.campaign_id, f.campaign_id)
FROM a JOIN firsts f USING (journey_id), clock c
WHERE true {needs_order}
ORDER BY a.at, a.journey_id
