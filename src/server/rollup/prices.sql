-- The rollup_prices rows of the events `e` that the filter below keeps: per local day (the
-- session's time zone), SKU and channel, the purchase lines that carry a unit price, counted,
-- and their unit prices summed exactly, as the channel price gap's query (catalog.toml)
-- counts and sums them. Portable SQL: the Spark build runs it too.
SELECT CAST(e.occurred_at AS DATE) AS day,
       e.sku,
       e.channel,
       count(*) AS prices,
       sum(e.unit_price) AS price_total
FROM events e
WHERE e.event_type = 'purchase' AND e.sku IS NOT NULL AND e.unit_price IS NOT NULL
  AND e.channel IS NOT NULL AND ({filter})
GROUP BY ALL
