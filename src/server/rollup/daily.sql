-- The rollup_daily rows of the events `e` that the filter below keeps, each measure times the
-- sign (1 to add them, -1 to take them away). Days are local: the session's time zone. The
-- promised date of a delivery is read as on-time delivery's KPI reads it (catalog.toml): an
-- instant's local day, else a date. Macros as in the catalog (kpi/dialect.rs).
SELECT CAST(e.occurred_at AS DATE) AS day,
       e.event_type,
       e.channel,
       e.store_id,
       e.campaign_id,
       e.category,
       e.touchpoint,
       e.topic,
       e.customer_id IS NOT NULL AS identified,
       {sign} * count(*) AS event_count,
       {sign} * coalesce(sum(e.amount), 0) AS amount,
       {sign} * count(e.amount) AS amount_count,
       {sign} * coalesce(sum(e.cost), 0) AS cost,
       {sign} * sum(coalesce(e.quantity, 1)) AS units,
       {sign} * count(*) FILTER (WHERE e.score_scale = 'nps' AND e.score >= 9) AS nps_promoters,
       {sign} * count(*) FILTER (WHERE e.score_scale = 'nps' AND e.score <= 6) AS nps_detractors,
       {sign} * count(*) FILTER (WHERE e.score_scale = 'nps' AND e.score IS NOT NULL) AS nps_scored,
       {sign} * count(*) FILTER (WHERE e.score_scale = 'csat' AND e.score >= 4) AS csat_satisfied,
       {sign} * count(*) FILTER (WHERE e.score_scale = 'csat' AND e.score IS NOT NULL) AS csat_scored,
       {sign} * count(*) FILTER (WHERE e.event_type = 'delivery' AND e.promised IS NOT NULL)
           AS deliveries_promised,
       {sign} * count(*) FILTER (WHERE e.event_type = 'delivery'
                                   AND CAST(e.occurred_at AS DATE) <= e.promised)
           AS deliveries_on_time
FROM (SELECT e.*,
             CASE WHEN e.event_type = 'delivery' THEN
                 coalesce(CAST({{try_instant({{json_text(e.attributes, '$.promised_date')}})}} AS DATE),
                          try_cast({{json_text(e.attributes, '$.promised_date')}} AS DATE))
             END AS promised
      FROM events e
      WHERE {filter}) e
GROUP BY ALL
