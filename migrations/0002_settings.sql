-- Instance settings that computations read (admins edit them; defaults here). Values are text
-- and each reader casts its own key.
CREATE TABLE settings (
    key         VARCHAR PRIMARY KEY,
    value       VARCHAR NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

INSERT INTO settings (key, value) VALUES
    -- Gross margin applied to revenue in the customer lifetime value (KPIS.md: clv).
    ('clv_margin', '1.0');
