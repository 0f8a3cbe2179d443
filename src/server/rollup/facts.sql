-- The rollup_facts rows of the purchase events `e` (of events, or of a load's rows set
-- aside: the events slot) that the filter below keeps: per local day
-- (the session's time zone), filter dimensions, customer number and order number, the sum of
-- the amounts (0 when none) and how many there are. Events whose customer id or order key
-- has no number yet are left out (the numbers are given first; verify of rollup_sets reports
-- a value without one).
SELECT CAST(e.occurred_at AS DATE) AS day,
       e.channel,
       e.store_id,
       e.campaign_id,
       e.category,
       e.touchpoint,
       e.topic,
       c.n AS customer_no,
       o.n AS order_no,
       coalesce(sum(e.amount), 0) AS amount,
       count(e.amount) AS amount_count
FROM (SELECT e.*, coalesce(e.order_id, e.source || ':' || e.event_id) AS order_key
      FROM {events} e
      WHERE e.event_type = 'purchase' AND e.customer_id IS NOT NULL AND ({filter})) e
JOIN rollup_customer_numbers c ON c.customer_id = e.customer_id
JOIN rollup_order_numbers o ON o.order_key = e.order_key
GROUP BY ALL
