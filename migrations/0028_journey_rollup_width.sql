-- Two 128-bit columns of the journey rollup narrow to 64 bits (docs/rollups.md section 7).
-- At 10M events DuckDB took 350 ms to read `journey_handoff_facts.score_sum` (a HUGEINT,
-- mostly NULL) for the hand-off matrix, whose other columns read in a few milliseconds:
-- 420 ms for the matrix, 47 ms after. A journey's NPS scores within 30 days after a hand-off sum far below 2^63, and a
-- day's revenue of one path fits a DECIMAL(18, 2), whose sum is still an exact
-- DECIMAL(38, 2) (as for rollup_daily in migration 0026).
ALTER TABLE journey_handoff_facts ALTER COLUMN score_sum SET DATA TYPE BIGINT;
ALTER TABLE journey_rollup_paths ALTER COLUMN revenue SET DATA TYPE DECIMAL(18, 2);
