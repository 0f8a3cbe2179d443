-- Market benchmarks carry where each figure comes from, so a reader can check it: the
-- publication's address, when it was published (a date, a month or a year, as the source
-- states it) and what it covers (which market, industry or sample).
ALTER TABLE benchmarks ADD COLUMN url VARCHAR;
ALTER TABLE benchmarks ADD COLUMN published VARCHAR;
ALTER TABLE benchmarks ADD COLUMN scope VARCHAR;
