-- The rollup_sets rows of the relation `e` below (one row per event, or per distinct
-- customer, order or anonymous visitor of a key: the Spark build's pairs) with the columns of
-- the key (`day`, the local day), `customer_id`, `order_key` (NULL but for purchases and
-- returns) and `visitor_key` (NULL but for anonymous events with a cookie or a device), as
-- lists of the dense numbers of their customers, orders and visitors (rollup_customer_numbers,
-- rollup_order_numbers, rollup_visitor_numbers); `customer_ids`, `order_keys` and
-- `visitor_keys` count the distinct raw values, so a value without a number shows as a list
-- shorter than its count (verify reports it). Days are given as days since 1970-01-01 for the
-- appender.
SELECT CAST(e.day - DATE '1970-01-01' AS INTEGER) AS day,
       e.event_type,
       e.channel,
       e.store_id,
       e.campaign_id,
       e.category,
       e.touchpoint,
       e.topic,
       e.identified,
       list(DISTINCT CAST(c.n AS UINTEGER))
           FILTER (WHERE c.n IS NOT NULL) AS customers,
       list(DISTINCT CAST(o.n AS UINTEGER))
           FILTER (WHERE o.n IS NOT NULL) AS orders,
       list(DISTINCT CAST(v.n AS UINTEGER))
           FILTER (WHERE v.n IS NOT NULL) AS visitors,
       count(DISTINCT e.customer_id) AS customer_ids,
       count(DISTINCT e.order_key) AS order_keys,
       count(DISTINCT e.visitor_key) AS visitor_keys
FROM {events} e
LEFT JOIN rollup_customer_numbers c ON c.customer_id = e.customer_id
LEFT JOIN rollup_order_numbers o ON o.order_key = e.order_key
LEFT JOIN rollup_visitor_numbers v ON v.visitor_key = e.visitor_key
GROUP BY ALL
HAVING count(DISTINCT e.customer_id) > 0 OR count(e.order_key) > 0 OR count(e.visitor_key) > 0
