-- The flagged customers (suspicious.rs): too many identifiers ($1), too many events in a
-- day ($2), purchases in two stores closer than $3 minutes; at most $4, the largest first.
SELECT * FROM (
    SELECT customer_id, 'identifiers' AS reason, count(*) AS value
    FROM identities GROUP BY customer_id HAVING count(*) > $1
    UNION ALL
    SELECT customer_id, 'events_per_day', max(n) FROM (
        SELECT customer_id, CAST(occurred_at AS DATE) AS day, count(*) AS n
        FROM events WHERE customer_id IS NOT NULL GROUP BY ALL)
    GROUP BY customer_id HAVING max(n) > $2
    UNION ALL
    SELECT customer_id, 'two_stores',
           min(CAST((epoch(occurred_at) - epoch(prev_at)) / 60 AS BIGINT))
    FROM (SELECT customer_id, store_id, occurred_at,
                 lag(store_id) OVER w AS prev_store, lag(occurred_at) OVER w AS prev_at
          FROM events
          WHERE event_type = 'purchase' AND store_id IS NOT NULL
            AND customer_id IS NOT NULL
          WINDOW w AS (PARTITION BY customer_id ORDER BY occurred_at, source, event_id))
    WHERE prev_store <> store_id AND occurred_at < prev_at + to_minutes($3)
    GROUP BY customer_id)
ORDER BY reason, CASE WHEN reason = 'two_stores' THEN value ELSE -value END, customer_id
LIMIT $4
