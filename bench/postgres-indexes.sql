-- What a competent DBA adds for these queries: every KPI filters events on a time range, most
-- of them on event_type too, and group or join by customer.
CREATE INDEX events_occurred_at ON events (occurred_at);
CREATE INDEX events_customer ON events (customer_id);
CREATE INDEX events_channel_time ON events (channel, occurred_at);
CREATE INDEX events_type_time ON events (event_type, occurred_at) INCLUDE (customer_id, amount);
CREATE INDEX events_customer_type_time ON events (customer_id, event_type, occurred_at);
VACUUM ANALYZE events;
ANALYZE event_types;
ANALYZE settings;
