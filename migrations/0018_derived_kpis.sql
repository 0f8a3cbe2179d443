-- KPIs an admin defines as the ratio of two existing ones (docs/kpis.md, "Derived KPIs").
-- The key shares the catalog's namespace: it may not repeat a catalog key or another derived
-- one (checked by the engine before every write, since the catalog is compiled in).
CREATE TABLE derived_kpis (
    key             VARCHAR PRIMARY KEY,
    name_en         VARCHAR NOT NULL,
    name_it         VARCHAR NOT NULL,
    description_en  VARCHAR NOT NULL DEFAULT '',
    description_it  VARCHAR NOT NULL DEFAULT '',
    numerator       VARCHAR NOT NULL,
    denominator     VARCHAR NOT NULL,
    unit            VARCHAR NOT NULL,
    direction       VARCHAR NOT NULL,
    owner           VARCHAR NOT NULL REFERENCES departments (department),
    created_by      VARCHAR NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    updated_by      VARCHAR,
    updated_at      TIMESTAMPTZ
);
