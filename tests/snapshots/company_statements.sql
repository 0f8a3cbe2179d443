-- aggregates (2026-03-01, 2026-04-01, store, web, MI01)
SELECT CAST((coalesce(sum(amount) FILTER (WHERE event_type = 'purchase'), 0)) AS DOUBLE) AS "gross_revenue", CAST((coalesce(sum(amount) FILTER (WHERE event_type = 'return'), 0)) AS DOUBLE) AS "returns_value", CAST((count(DISTINCT coalesce(order_id, source || ':' || event_id)) FILTER (WHERE event_type = 'purchase')) AS DOUBLE) AS "orders", CAST((count(DISTINCT customer_id) FILTER (WHERE event_type = 'purchase')) AS DOUBLE) AS "active_customers", CAST((100.0 * (count(*) FILTER (WHERE event_type = 'survey' AND score_scale = 'nps' AND score >= 9) - count(*) FILTER (WHERE event_type = 'survey' AND score_scale = 'nps' AND score <= 6)) / nullif(count(*) FILTER (WHERE event_type = 'survey' AND score_scale = 'nps' AND score IS NOT NULL), 0)) AS DOUBLE) AS "nps" FROM events WHERE occurred_at >= CAST(CAST($1 AS DATE) AS TIMESTAMPTZ) AND occurred_at < CAST(CAST($2 AS DATE) AS TIMESTAMPTZ) AND (channel IN ($3, $4) AND store_id IN ($5))

-- churn_rate (2026-03-01, 2026-04-01, store, web, MI01)
WITH bounds AS (
             SELECT CAST(CAST($1 AS DATE) AS TIMESTAMPTZ) AS t0,
                    CAST(CAST($2 AS DATE) AS TIMESTAMPTZ) AS t1,
                    CAST($1 AS DATE) AS d0,
                    CAST($2 AS DATE) AS d1,
                    CAST(CAST($1 AS DATE) - CAST(CAST($2 AS DATE) - CAST($1 AS DATE) AS INTEGER)
                         AS TIMESTAMPTZ) AS p0,
                    (SELECT coalesce(max(try_cast(value AS DOUBLE)), 1.0) FROM settings
                     WHERE key = 'clv_margin') AS margin),
         ev AS (SELECT * FROM events WHERE channel IN ($3, $4) AND store_id IN ($5)),
         pe AS (SELECT ev.* FROM ev, bounds
                WHERE ev.occurred_at >= bounds.t0 AND ev.occurred_at < bounds.t1),
         pe_any_channel AS (SELECT events.* FROM events, bounds
                WHERE events.occurred_at >= bounds.t0 AND events.occurred_at < bounds.t1
                  AND (store_id IN ($5))),
         kpi AS (SELECT count(*) FILTER (WHERE NOT bought_now) AS numerator, count(*) AS denominator
FROM (SELECT prev.customer_id,
             EXISTS (SELECT 1 FROM pe WHERE pe.event_type = 'purchase'
                       AND pe.customer_id = prev.customer_id) AS bought_now
      FROM (SELECT DISTINCT ev.customer_id FROM ev, bounds
            WHERE ev.event_type = 'purchase' AND ev.customer_id IS NOT NULL
              AND ev.occurred_at >= bounds.p0 AND ev.occurred_at < bounds.t0) prev)
)
         SELECT * FROM kpi

-- clv (2026-03-01, 2026-04-01, store, web, MI01)
WITH bounds AS (
             SELECT CAST(CAST($1 AS DATE) AS TIMESTAMPTZ) AS t0,
                    CAST(CAST($2 AS DATE) AS TIMESTAMPTZ) AS t1,
                    CAST($1 AS DATE) AS d0,
                    CAST($2 AS DATE) AS d1,
                    CAST(CAST($1 AS DATE) - CAST(CAST($2 AS DATE) - CAST($1 AS DATE) AS INTEGER)
                         AS TIMESTAMPTZ) AS p0,
                    (SELECT coalesce(max(try_cast(value AS DOUBLE)), 1.0) FROM settings
                     WHERE key = 'clv_margin') AS margin),
         ev AS (SELECT * FROM events WHERE channel IN ($3, $4) AND store_id IN ($5)),
         pe AS (SELECT ev.* FROM ev, bounds
                WHERE ev.occurred_at >= bounds.t0 AND ev.occurred_at < bounds.t1),
         pe_any_channel AS (SELECT events.* FROM events, bounds
                WHERE events.occurred_at >= bounds.t0 AND events.occurred_at < bounds.t1
                  AND (store_id IN ($5))),
         kpi AS (WITH w AS (
    -- The day after `to` minus 12 months, computed from `to` so that a period ending on
    -- 28 February of a leap year does not get a window one day too long.
    SELECT CAST(CAST(bounds.d1 - INTERVAL 1 DAY - INTERVAL 12 MONTH AS DATE) + 1 AS TIMESTAMPTZ)
               AS y0,
           CAST(CAST(bounds.d1 - INTERVAL 1 DAY - INTERVAL 24 MONTH AS DATE) + 1 AS TIMESTAMPTZ)
               AS yp,
           bounds.t1, bounds.margin
    FROM bounds),
recent AS (
    SELECT ev.customer_id, sum(ev.amount) AS revenue FROM ev, w
    WHERE ev.event_type = 'purchase' AND ev.customer_id IS NOT NULL
      AND ev.occurred_at >= w.y0 AND ev.occurred_at < w.t1
    GROUP BY ev.customer_id),
before AS (
    SELECT DISTINCT ev.customer_id FROM ev, w
    WHERE ev.event_type = 'purchase' AND ev.customer_id IS NOT NULL
      AND ev.occurred_at >= w.yp AND ev.occurred_at < w.y0),
churn AS (
    SELECT count(*) AS buyers, count(*) FILTER (WHERE recent.customer_id IS NULL) AS lost
    FROM before LEFT JOIN recent ON recent.customer_id = before.customer_id)
SELECT CASE
         WHEN churn.buyers = 0 OR (SELECT count(*) FROM recent) = 0 THEN NULL
         ELSE CAST((SELECT sum(revenue) FROM recent) AS DOUBLE) / (SELECT count(*) FROM recent)
              * (SELECT margin FROM w)
              * CASE WHEN churn.lost = 0 THEN 10.0
                     ELSE least(CAST(churn.buyers AS DOUBLE) / churn.lost, 10.0) END
       END AS value
FROM churn
)
         SELECT * FROM kpi

-- omnichannel_share (2026-03-01, 2026-04-01, store, web, MI01)
WITH bounds AS (
             SELECT CAST(CAST($1 AS DATE) AS TIMESTAMPTZ) AS t0,
                    CAST(CAST($2 AS DATE) AS TIMESTAMPTZ) AS t1,
                    CAST($1 AS DATE) AS d0,
                    CAST($2 AS DATE) AS d1,
                    CAST(CAST($1 AS DATE) - CAST(CAST($2 AS DATE) - CAST($1 AS DATE) AS INTEGER)
                         AS TIMESTAMPTZ) AS p0,
                    (SELECT coalesce(max(try_cast(value AS DOUBLE)), 1.0) FROM settings
                     WHERE key = 'clv_margin') AS margin),
         ev AS (SELECT * FROM events WHERE channel IN ($3, $4) AND store_id IN ($5)),
         pe AS (SELECT ev.* FROM ev, bounds
                WHERE ev.occurred_at >= bounds.t0 AND ev.occurred_at < bounds.t1),
         pe_any_channel AS (SELECT events.* FROM events, bounds
                WHERE events.occurred_at >= bounds.t0 AND events.occurred_at < bounds.t1
                  AND (store_id IN ($5))),
         kpi AS (SELECT count(*) FILTER (WHERE bought AND channels >= 2) AS numerator,
       count(*) FILTER (WHERE bought) AS denominator
FROM (SELECT pe.customer_id, bool_or(pe.event_type = 'purchase') AS bought,
             count(DISTINCT pe.channel) FILTER (WHERE t.interaction) AS channels
      FROM pe JOIN event_types t USING (event_type)
      WHERE pe.customer_id IS NOT NULL GROUP BY pe.customer_id)
)
         SELECT * FROM kpi

-- multichannel_frequency_uplift (2026-03-01, 2026-04-01, store, web, MI01)
WITH bounds AS (
             SELECT CAST(CAST($1 AS DATE) AS TIMESTAMPTZ) AS t0,
                    CAST(CAST($2 AS DATE) AS TIMESTAMPTZ) AS t1,
                    CAST($1 AS DATE) AS d0,
                    CAST($2 AS DATE) AS d1,
                    CAST(CAST($1 AS DATE) - CAST(CAST($2 AS DATE) - CAST($1 AS DATE) AS INTEGER)
                         AS TIMESTAMPTZ) AS p0,
                    (SELECT coalesce(max(try_cast(value AS DOUBLE)), 1.0) FROM settings
                     WHERE key = 'clv_margin') AS margin),
         ev AS (SELECT * FROM events WHERE channel IN ($3, $4) AND store_id IN ($5)),
         pe AS (SELECT ev.* FROM ev, bounds
                WHERE ev.occurred_at >= bounds.t0 AND ev.occurred_at < bounds.t1),
         pe_any_channel AS (SELECT events.* FROM events, bounds
                WHERE events.occurred_at >= bounds.t0 AND events.occurred_at < bounds.t1
                  AND (store_id IN ($5))),
         kpi AS (WITH b AS (
    SELECT * FROM (
        SELECT pe.customer_id,
               count(DISTINCT pe.channel) FILTER (WHERE t.interaction) AS channels,
               count(DISTINCT coalesce(pe.order_id, pe.source || ':' || pe.event_id))
                   FILTER (WHERE pe.event_type = 'purchase') AS orders
        FROM pe JOIN event_types t USING (event_type)
        WHERE pe.customer_id IS NOT NULL GROUP BY pe.customer_id)
    WHERE orders > 0)
SELECT CAST(sum(orders) FILTER (WHERE channels >= 2) AS DOUBLE)
           / nullif(count(*) FILTER (WHERE channels >= 2), 0) AS numerator,
       CAST(sum(orders) FILTER (WHERE channels = 1) AS DOUBLE)
           / nullif(count(*) FILTER (WHERE channels = 1), 0) AS denominator
FROM b
)
         SELECT * FROM kpi

-- multichannel_value_uplift (2026-03-01, 2026-04-01, store, web, MI01)
WITH bounds AS (
             SELECT CAST(CAST($1 AS DATE) AS TIMESTAMPTZ) AS t0,
                    CAST(CAST($2 AS DATE) AS TIMESTAMPTZ) AS t1,
                    CAST($1 AS DATE) AS d0,
                    CAST($2 AS DATE) AS d1,
                    CAST(CAST($1 AS DATE) - CAST(CAST($2 AS DATE) - CAST($1 AS DATE) AS INTEGER)
                         AS TIMESTAMPTZ) AS p0,
                    (SELECT coalesce(max(try_cast(value AS DOUBLE)), 1.0) FROM settings
                     WHERE key = 'clv_margin') AS margin),
         ev AS (SELECT * FROM events WHERE channel IN ($3, $4) AND store_id IN ($5)),
         pe AS (SELECT ev.* FROM ev, bounds
                WHERE ev.occurred_at >= bounds.t0 AND ev.occurred_at < bounds.t1),
         pe_any_channel AS (SELECT events.* FROM events, bounds
                WHERE events.occurred_at >= bounds.t0 AND events.occurred_at < bounds.t1
                  AND (store_id IN ($5))),
         kpi AS (WITH b AS (
    SELECT * FROM (
        SELECT pe.customer_id,
               count(DISTINCT pe.channel) FILTER (WHERE t.interaction) AS channels,
               count(DISTINCT coalesce(pe.order_id, pe.source || ':' || pe.event_id))
                   FILTER (WHERE pe.event_type = 'purchase') AS orders,
               sum(pe.amount) FILTER (WHERE pe.event_type = 'purchase') AS revenue
        FROM pe JOIN event_types t USING (event_type)
        WHERE pe.customer_id IS NOT NULL GROUP BY pe.customer_id)
    WHERE orders > 0),
g AS (
    SELECT CAST(sum(revenue) FILTER (WHERE channels >= 2) AS DOUBLE)
               / nullif(sum(orders) FILTER (WHERE channels >= 2), 0) AS multi,
           CAST(sum(revenue) FILTER (WHERE channels = 1) AS DOUBLE)
               / nullif(sum(orders) FILTER (WHERE channels = 1), 0) AS single
    FROM b)
SELECT CASE WHEN single IS NULL OR single = 0 OR multi IS NULL THEN NULL
            ELSE multi / single - 1 END AS value
FROM g
)
         SELECT * FROM kpi

