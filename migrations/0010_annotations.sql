-- Dated notes on a KPI or on a whole view ("Black Friday campaign started"), shown on the
-- charts and listed on the pages. `kpi` NULL: the note is about the whole view `view_key`
-- ('company', 'dept:stores'); otherwise about that KPI (view_key 'kpi').
CREATE SEQUENCE annotation_id_seq START 1;

CREATE TABLE annotations (
    id          BIGINT PRIMARY KEY DEFAULT nextval('annotation_id_seq'),
    kpi         VARCHAR,
    view_key    VARCHAR NOT NULL,
    day         DATE NOT NULL,
    text        VARCHAR NOT NULL,
    author      VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE INDEX annotations_day ON annotations (day);
