-- Finer statistics on the full-text column: the planner's list of frequent lexemes then reaches
-- down to ~0.1% of rows (from ~7% at the default target), which lets search leave out terms that
-- occur in thousands of chunks (see COMMON_TERM_ROWS in queries/search.ts).
ALTER TABLE chunks ALTER COLUMN tsv SET STATISTICS 1000;
