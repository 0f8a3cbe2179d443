-- The order_facts rows of the orders whose events `{events}` holds (every event of each of
-- them: `events` itself, or a copy of some orders' events). Each KPI's hit is the EXISTS or
-- the comparison of its raw query in src/server/kpi/catalog.toml, over the same order's events:
-- - pickup_rate: per reservation instant, the order's reservations, hits when the order was
--   picked up within the 168 hours from its first reservation (it looks ahead);
-- - cross_channel_return_rate: per return instant, the order's returns on a known channel of
--   an order with a purchase on one, hits when the return's channel class (a channel, or
--   'online' for every online channel) is not the purchases' (their first class by name).
WITH reservations AS (
    SELECT order_id, occurred_at FROM {events}
    WHERE event_type = 'reservation' AND order_id IS NOT NULL
),
picked AS (
    SELECT r.order_id, EXISTS (
               SELECT 1 FROM {events} k
               WHERE k.event_type = 'pickup' AND k.order_id = r.order_id
                 AND k.occurred_at >= r.at AND k.occurred_at <= r.at + INTERVAL 168 HOUR) AS hit
    FROM (SELECT order_id, min(occurred_at) AS at FROM reservations GROUP BY order_id) r
),
class AS (
    SELECT channel, CASE WHEN online THEN 'online' ELSE channel END AS class FROM channels
),
bought AS (
    SELECT e.order_id, min(c.class) AS class FROM {events} e JOIN class c USING (channel)
    WHERE e.event_type = 'purchase' AND e.order_id IS NOT NULL
    GROUP BY e.order_id
)
SELECT 'pickup_rate' AS kpi, r.order_id, r.occurred_at AS line_at,
       count(*) AS lines, count(*) FILTER (WHERE p.hit) AS hit_lines
FROM reservations r JOIN picked p USING (order_id)
GROUP BY r.order_id, r.occurred_at
UNION ALL
SELECT 'cross_channel_return_rate', r.order_id, r.occurred_at,
       count(*), count(*) FILTER (WHERE c.class IS DISTINCT FROM b.class)
FROM {events} r JOIN bought b ON b.order_id = r.order_id JOIN class c ON c.channel = r.channel
WHERE r.event_type = 'return'
GROUP BY r.order_id, r.occurred_at
