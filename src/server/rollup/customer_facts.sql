-- The customer_facts rows of the customers whose events `{events}` holds (every event of each
-- of them: `events` itself, or a copy of some customers' events). Each KPI's hit is the
-- EXISTS or the bool_or of its raw query in src/server/kpi/catalog.toml, over the same
-- customer's events:
-- - roas: a purchase whose customer clicked an ad in the 168 hours before it;
-- - webrooming_rate: a store order (anchored at its first store line) whose customer
--   interacted on an online channel in the 168 hours before the anchor;
-- - showrooming_rate: an online order (anchored at its first online line) whose customer
--   visited a store in the 168 hours before the anchor;
-- - email_open_rate, email_ctr: per campaign (order_key) and instant, the e-mails sent to the
--   customer (lines) and the customer's opens or clicks (hit_lines);
-- - chat_to_purchase_rate: a chat whose customer bought within the 168 hours from its start
--   (it looks ahead: a later purchase changes an earlier chat's row).
-- One row per KPI, customer, order or campaign (roas: none) and instant.
WITH purchases AS (
    SELECT customer_id, coalesce(order_id, source || ':' || event_id) AS order_key,
           occurred_at, amount, channel,
           channel IN (SELECT channel FROM channels WHERE online) AS online
    FROM {events}
    WHERE event_type = 'purchase' AND customer_id IS NOT NULL
),
clicked AS (
    SELECT p.customer_id, p.occurred_at, p.amount,
           EXISTS (SELECT 1 FROM {events} c
                   WHERE c.customer_id = p.customer_id AND c.event_type = 'click'
                     AND c.channel = 'ads'
                     AND c.occurred_at >= p.occurred_at - INTERVAL 168 HOUR
                     AND c.occurred_at < p.occurred_at) AS hit
    FROM purchases p
),
store_orders AS (
    SELECT o.*, EXISTS (
               SELECT 1 FROM {events} i
               WHERE i.customer_id = o.customer_id
                 AND i.channel IN (SELECT channel FROM channels WHERE online)
                 AND i.event_type IN (SELECT event_type FROM event_types WHERE interaction)
                 AND i.occurred_at >= o.anchor - INTERVAL 168 HOUR AND i.occurred_at < o.anchor)
               AS hit
    FROM (SELECT customer_id, order_key, min(occurred_at) AS anchor
          FROM purchases WHERE channel = 'store' GROUP BY customer_id, order_key) o
),
online_orders AS (
    SELECT o.*, EXISTS (
               SELECT 1 FROM {events} v
               WHERE v.customer_id = o.customer_id AND v.channel = 'store'
                 AND v.event_type = 'visit'
                 AND v.occurred_at >= o.anchor - INTERVAL 168 HOUR AND v.occurred_at < o.anchor)
               AS hit
    FROM (SELECT customer_id, order_key, min(occurred_at) AS anchor
          FROM purchases WHERE online GROUP BY customer_id, order_key) o
)
SELECT 'roas' AS kpi, customer_id, CAST(NULL AS VARCHAR) AS order_key, occurred_at AS line_at,
       count(*) AS lines,
       count(*) FILTER (WHERE hit) AS hit_lines,
       coalesce(sum(amount) FILTER (WHERE hit), 0) AS hit_amount
FROM clicked
GROUP BY customer_id, occurred_at
UNION ALL
SELECT 'webrooming_rate', p.customer_id, p.order_key, p.occurred_at,
       count(*), count(*) FILTER (WHERE o.hit), 0
FROM purchases p JOIN store_orders o USING (customer_id, order_key)
WHERE p.channel = 'store'
GROUP BY p.customer_id, p.order_key, p.occurred_at
UNION ALL
SELECT 'showrooming_rate', p.customer_id, p.order_key, p.occurred_at,
       count(*), count(*) FILTER (WHERE o.hit), 0
FROM purchases p JOIN online_orders o USING (customer_id, order_key)
WHERE p.online
GROUP BY p.customer_id, p.order_key, p.occurred_at
UNION ALL
SELECT m.kpi, e.customer_id, e.campaign_id, e.occurred_at,
       count(*) FILTER (WHERE e.event_type = 'email_sent'),
       count(*) FILTER (WHERE e.event_type = m.hit), 0
FROM {events} e
JOIN (VALUES ('email_open_rate', 'email_open'), ('email_ctr', 'email_click')) m(kpi, hit)
  ON e.event_type IN ('email_sent', m.hit)
WHERE e.customer_id IS NOT NULL AND e.campaign_id IS NOT NULL
GROUP BY m.kpi, e.customer_id, e.campaign_id, e.occurred_at
UNION ALL
SELECT 'chat_to_purchase_rate', customer_id, NULL, occurred_at,
       count(*), count(*) FILTER (WHERE hit), 0
FROM (SELECT c.customer_id, c.occurred_at, EXISTS (
          SELECT 1 FROM {events} p
          WHERE p.customer_id = c.customer_id AND p.event_type = 'purchase'
            AND p.occurred_at >= c.occurred_at
            AND p.occurred_at <= c.occurred_at + INTERVAL 168 HOUR) AS hit
      FROM {events} c WHERE c.event_type = 'chat_start' AND c.customer_id IS NOT NULL)
GROUP BY customer_id, occurred_at
