-- Departments, the targets their leads set for KPIs, and market benchmarks beside our figures.

CREATE TABLE departments (
    department  VARCHAR PRIMARY KEY,
    name_en     VARCHAR NOT NULL,
    name_it     VARCHAR NOT NULL
);

INSERT INTO departments VALUES
    ('company',          'Company',          'Azienda'),
    ('marketing',        'Marketing',        'Marketing'),
    ('sales',            'Sales',            'Vendite'),
    ('stores',           'Stores',           'Negozi'),
    ('online',           'Online',           'Online'),
    ('customer_service', 'Customer service', 'Servizio clienti'),
    ('logistics',        'Logistics',        'Logistica');

-- `period` is a year (2026), a quarter (2026-Q1) or a month (2026-03).
CREATE TABLE targets (
    kpi         VARCHAR NOT NULL,
    department  VARCHAR NOT NULL REFERENCES departments (department),
    period      VARCHAR NOT NULL,
    value       DOUBLE NOT NULL,
    set_by      VARCHAR NOT NULL,
    set_at      TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (kpi, department, period)
);

CREATE SEQUENCE benchmark_id_seq START 1;

CREATE TABLE benchmarks (
    benchmark_id BIGINT PRIMARY KEY DEFAULT nextval('benchmark_id_seq'),
    kpi          VARCHAR NOT NULL,
    value        DOUBLE NOT NULL,
    source       VARCHAR NOT NULL,
    year         INTEGER,
    note         VARCHAR
);

-- The figure DESIGN.md quotes for multichannel buyers.
INSERT INTO benchmarks (kpi, value, source, year, note) VALUES
    ('multichannel_frequency_uplift', 2.5, 'Medallia', NULL,
     'Multichannel buyers purchase about 2.5 times as often as single-channel buyers.');

INSERT INTO settings (key, value) VALUES
    -- A target is "at risk" when the projection misses it by at most this share.
    ('target_at_risk_within', '0.05');
