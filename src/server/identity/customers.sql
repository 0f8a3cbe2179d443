-- Rebuilds the customer 360 headers from the stitched events.
DELETE FROM customers;
INSERT INTO customers (customer_id, first_seen, last_seen, channels, lifetime_revenue,
                       orders, identifiers, segment)
SELECT e.customer_id, min(e.occurred_at), max(e.occurred_at),
       coalesce(list_sort(list_distinct(list(e.channel) FILTER (WHERE e.channel IS NOT NULL))),
                CAST([] AS VARCHAR[])),
       coalesce(sum(e.amount) FILTER (WHERE e.event_type = 'purchase'), 0),
       count(DISTINCT coalesce(e.order_id, e.source || ':' || e.event_id))
           FILTER (WHERE e.event_type = 'purchase'),
       (SELECT count(*) FROM identities i WHERE i.customer_id = e.customer_id),
       CASE
           WHEN count(DISTINCT e.channel) FILTER (WHERE t.interaction) >= 2 THEN 'omnichannel'
           WHEN bool_and(e.channel = 'store') FILTER (WHERE t.interaction) THEN 'store'
           WHEN bool_and(c.online) FILTER (WHERE t.interaction) THEN 'online'
           ELSE 'other'
       END
FROM events e
JOIN event_types t USING (event_type)
LEFT JOIN channels c ON c.channel = e.channel
WHERE e.customer_id IS NOT NULL
GROUP BY e.customer_id;
