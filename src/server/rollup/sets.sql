-- The rollup_sets rows of the events `e` that the filter below keeps, as lists of the
-- dense numbers of their customers and orders (rollup_customer_numbers, rollup_order_numbers);
-- `customer_ids` and `order_keys` count the distinct raw values, so a value without a number
-- shows as a list shorter than its count (verify reports it). Days are local (the session's
-- time zone), given as days since 1970-01-01 for the appender.
SELECT CAST(CAST(e.occurred_at AS DATE) - DATE '1970-01-01' AS INTEGER) AS day,
       e.event_type,
       e.channel,
       e.store_id,
       e.campaign_id,
       e.category,
       e.touchpoint,
       e.topic,
       e.customer_id IS NOT NULL AS identified,
       list(DISTINCT CAST(c.n AS UINTEGER))
           FILTER (WHERE c.n IS NOT NULL) AS customers,
       list(DISTINCT CAST(o.n AS UINTEGER))
           FILTER (WHERE o.n IS NOT NULL) AS orders,
       count(DISTINCT e.customer_id) AS customer_ids,
       count(DISTINCT e.order_key) AS order_keys
-- The order key computed once per event (NULL but for purchases and returns), so that both
-- joins are plain equalities (hash joins).
FROM (SELECT e.*,
             CASE WHEN e.event_type IN ('purchase', 'return')
                  THEN coalesce(e.order_id, e.source || ':' || e.event_id) END AS order_key
      FROM events e
      WHERE {filter}) e
LEFT JOIN rollup_customer_numbers c ON c.customer_id = e.customer_id
LEFT JOIN rollup_order_numbers o ON o.order_key = e.order_key
GROUP BY ALL
HAVING count(DISTINCT e.customer_id) > 0 OR count(e.order_key) > 0
