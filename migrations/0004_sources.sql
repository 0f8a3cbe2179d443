-- Sources and their mappings (TOML text, validated when added): how each silo's exports
-- become canonical events. A source without a row here loads files in canonical form.
CREATE TABLE sources (
    name        VARCHAR PRIMARY KEY,
    kind        VARCHAR NOT NULL,
    mapping     VARCHAR NOT NULL,
    mapping_file VARCHAR NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
