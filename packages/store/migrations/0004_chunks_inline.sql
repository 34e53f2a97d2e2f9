-- Keep a chunk's row whole when it fits a page. By default PostgreSQL starts toasting a row over
-- ~2 kB: it compresses, then moves out of line, its largest values. A real model's vector does
-- not compress, and a 768-d one is 3 kB, so every chunk's embedding went to the TOAST table and
-- every search that reads embeddings from the table (exact scans, distances recomputed for the
-- rows an index returns) paid a TOAST lookup per row. Making only the embedding column MAIN does
-- not help: the row is still over 2 kB, so its text and tsvector are pushed out instead.
-- With a target of a whole page, rows up to ~8 kB stay inline untouched; a bigger row (a
-- 4096-d embedding, 16 kB) still has its largest value moved out. Rows written before this keep
-- their layout until the table is rewritten (VACUUM FULL chunks).
ALTER TABLE chunks SET (toast_tuple_target = 8160);
