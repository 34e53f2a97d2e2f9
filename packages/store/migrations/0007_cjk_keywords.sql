-- Chinese and Japanese write words without spaces between them, so PostgreSQL's text search
-- parser took a whole run of Han or kana characters, up to the next punctuation, as one word:
-- a query matched a chunk only by repeating that run exactly, and keyword search found nothing.
-- Korean spaces its words but writes particles onto them (펌프를, 펌프는: "the pump"), so
-- "펌프" found neither. herd_search_text reads runs of these scripts as Lucene's CJK analyzer
-- does: overlapping two-character pieces, which meet wherever query and chunk share a word; a
-- chunk also gets each character alone, so that a one-character query (泵 pump, 阀 valve) finds
-- it. Other text passes unchanged.
CREATE FUNCTION herd_search_text(t text, indexing boolean) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN t !~ '[\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]' THEN t ELSE (
    SELECT string_agg(
             CASE WHEN m.part[1] !~ '^[\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]' THEN m.part[1]
                  WHEN length(m.part[1]) = 1 THEN ' ' || m.part[1] || ' '
                  ELSE ' ' || (SELECT string_agg(CASE WHEN indexing THEN substr(m.part[1], i, 1) || ' ' ELSE '' END || substr(m.part[1], i, 2), ' ' ORDER BY i)
                                 FROM generate_series(1, length(m.part[1]) - 1) AS i)
                           || CASE WHEN indexing THEN ' ' || right(m.part[1], 1) ELSE '' END || ' '
             END, '' ORDER BY m.n)
      FROM regexp_matches(t, '([\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+|[^\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+)', 'g') WITH ORDINALITY AS m (part, n)
  ) END
$f$;

CREATE OR REPLACE FUNCTION herd_chunk_tsv() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.tsv := to_tsvector((SELECT c.language FROM collections c WHERE c.id = NEW.collection_id), herd_search_text(coalesce(NEW.heading, '') || ' ' || NEW.text, true));
  RETURN NEW;
END
$$;

-- Chunks stored before hold the whole runs: index them again (only those with such text).
UPDATE chunks c SET tsv = to_tsvector(l.language, herd_search_text(coalesce(c.heading, '') || ' ' || c.text, true))
  FROM collections l
 WHERE l.id = c.collection_id AND (c.text ~ '[\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]' OR c.heading ~ '[\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]');
