-- Alerts: rules on a catalog KPI, the condition's state at the last evaluation (an alert
-- fires once when its condition becomes true and not again until it has cleared), every
-- firing with the value and the threshold it was compared with, and who has read which.
CREATE SEQUENCE alert_rule_id_seq START 1;

CREATE TABLE alert_rules (
    id           BIGINT PRIMARY KEY DEFAULT nextval('alert_rule_id_seq'),
    kpi          VARCHAR NOT NULL,
    department   VARCHAR NOT NULL,
    -- The view filters in URL query form (`channel=web&store=MI01`), '' for none.
    filters      VARCHAR NOT NULL DEFAULT '',
    -- 'threshold' | 'change' | 'off_track'
    kind         VARCHAR NOT NULL,
    -- 'above' | 'below' (threshold and change rules)
    op           VARCHAR NOT NULL DEFAULT 'above',
    -- threshold: a value in the KPI's unit; change: a percentage; off_track: unused (0)
    threshold    DOUBLE NOT NULL DEFAULT 0,
    -- 'last_7_days' | 'last_30_days' | 'month_to_date'
    time_window  VARCHAR NOT NULL DEFAULT 'last_7_days',
    -- Whether the condition held at the last evaluation.
    active       BOOLEAN NOT NULL DEFAULT false,
    evaluated_at TIMESTAMPTZ,
    created_by   VARCHAR NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- One row per firing. The rule's terms are copied so the history reads the same after the
-- rule is deleted.
CREATE SEQUENCE alert_id_seq START 1;

CREATE TABLE alerts (
    id           BIGINT PRIMARY KEY DEFAULT nextval('alert_id_seq'),
    rule_id      BIGINT NOT NULL,
    kpi          VARCHAR NOT NULL,
    department   VARCHAR NOT NULL,
    filters      VARCHAR NOT NULL DEFAULT '',
    kind         VARCHAR NOT NULL,
    op           VARCHAR NOT NULL,
    -- What was measured (the KPI; the change in percent; the projection for off track) and
    -- what it was compared with (the threshold; the percentage; the target).
    value        DOUBLE NOT NULL,
    threshold    DOUBLE NOT NULL,
    period_from  DATE NOT NULL,
    period_to    DATE NOT NULL,
    fired_at     TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE INDEX alerts_department ON alerts (department);

CREATE TABLE alert_reads (
    user_id   BIGINT NOT NULL,
    alert_id  BIGINT NOT NULL,
    read_at   TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (user_id, alert_id)
);
