-- The rollup_sets rows of the relation `e` below (one row per event, or per distinct
-- customer or order of a key: the Spark build's pairs) with the columns of the key (`day`, the
-- local day), `customer_id` and `order_key` (NULL but for purchases and returns), as lists of
-- the dense numbers of their customers and orders (rollup_customer_numbers,
-- rollup_order_numbers); `customer_ids` and `order_keys` count the distinct raw values, so a
-- value without a number shows as a list shorter than its count (verify reports it). Days are
-- given as days since 1970-01-01 for the appender.
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
       count(DISTINCT e.customer_id) AS customer_ids,
       count(DISTINCT e.order_key) AS order_keys
FROM {events} e
LEFT JOIN rollup_customer_numbers c ON c.customer_id = e.customer_id
LEFT JOIN rollup_order_numbers o ON o.order_key = e.order_key
GROUP BY ALL
HAVING count(DISTINCT e.customer_id) > 0 OR count(e.order_key) > 0
