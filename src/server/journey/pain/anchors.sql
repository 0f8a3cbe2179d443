-- The anchors of a failure rule (and its reference anchors), each judged: failed, converted,
-- whether its failure and outcome windows are over. `anchors` in anchors.rs fills the slots in
-- braces: cond keeps the journeys, anchor_steps and reference select the first anchor step of
-- each, failed and converted are the rule's predicates on it, fw and ow its failure and outcome
-- windows, needs_order an optional extra condition, firsts the store and campaign of each
-- journey's first step that has one (for the breakdown; no rows when only the numbers are
-- wanted). Values are bound as $n parameters.
WITH clock AS (SELECT max(occurred_at) AS as_of FROM events),
jj AS (SELECT j.journey_id FROM journeys j WHERE {cond}),
anchor_steps AS ({anchor_steps}),
a AS (SELECT * FROM anchor_steps {reference}),
firsts AS ({firsts})
SELECT a.journey_id, a.customer_id, a.source, a.event_id, CAST(a.at AS VARCHAR),
       strftime(CAST(a.at AS TIMESTAMP), '%Y-%m'), a.reference,
       {failed}, {converted},
       a.at + {fw} <= c.as_of, a.at + {ow} <= c.as_of,
       a.channel, coalesce(a.store_id, f.store_id),
       coalesce(a.campaign_id, f.campaign_id)
FROM a LEFT JOIN firsts f USING (journey_id), clock c
WHERE true {needs_order}
ORDER BY a.at, a.journey_id
