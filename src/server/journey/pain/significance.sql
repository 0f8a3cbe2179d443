-- Rule 5: every ended journey of the scope (the cond slot, filled by `significance` in
-- significance.rs; values bound as $n parameters) with each touchpoint (within its channel and
-- event type), campaign and hand-off it went through (the values slot: values.sql), ordered
-- for grouping.
WITH jj AS (SELECT j.journey_id, j.status = 'converted' AS converted,
                   strftime(CAST(j.started_at AS TIMESTAMP), '%Y-%m') AS month,
                   j.customer_id, CAST(j.started_at AS VARCHAR) AS started
            FROM journeys j WHERE {cond} AND j.status <> 'open'),
s AS (SELECT s.*, lag(s.channel) OVER (PARTITION BY s.journey_id ORDER BY s.step)
                 AS prev_channel
      FROM journey_steps s JOIN jj USING (journey_id)),
v AS ({values})
SELECT v.kind, v.grp, v.value, jj.journey_id, jj.customer_id, jj.converted, jj.month,
       jj.started
FROM v JOIN jj USING (journey_id)
ORDER BY v.kind, v.grp, v.value, jj.started DESC, jj.journey_id
