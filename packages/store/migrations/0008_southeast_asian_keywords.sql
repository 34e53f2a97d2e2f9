-- Thai, Lao, Khmer and Burmese (Myanmar) write words without spaces between them too (spaces
-- part phrases and sentences), so PostgreSQL's parser took a whole phrase as one word and keyword
-- search in them found only a phrase repeated exactly. herd_search_text now cuts runs of these
-- scripts as it cuts Han and kana (0007): overlapping pairs, plus each piece alone when indexing.
-- A piece is a letter with the vowel signs and tone marks written on it (and, in Burmese and
-- Khmer, a consonant stacked under it), never a code point alone: a pair starting with a bare
-- mark is no word to the parser, and would match across unrelated letters. So "ปั๊ม" (pump, the
-- pieces ปั๊ and ม) finds "ตรวจสอบปั๊มไฮดรอลิก". Han, kana and Hangul are cut exactly as before,
-- so no chunk of theirs needs indexing again; only chunks with text in the new scripts are.
CREATE OR REPLACE FUNCTION herd_search_text(t text, indexing boolean) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
  SELECT CASE WHEN t !~ '[\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\u0e01-\u0e3a\u0e40-\u0e4e\u0e81-\u0ece\u1000-\u103f\u1050-\u109f\u1780-\u17d3\u17dd]' THEN t ELSE (
    SELECT string_agg(
             CASE WHEN m.part[1] ~ '^[\u0e01-\u0e3a\u0e40-\u0e4e\u0e81-\u0ece\u1000-\u103f\u1050-\u109f\u1780-\u17d3\u17dd]' THEN (
                    SELECT CASE WHEN count(*) = 1 THEN ' ' || min(g.unit) || ' '
                           ELSE ' ' || string_agg(CASE WHEN indexing THEN g.unit || ' ' ELSE '' END || g.unit || g.next, ' ' ORDER BY g.n) FILTER (WHERE g.next IS NOT NULL)
                                || CASE WHEN indexing THEN ' ' || min(g.unit) FILTER (WHERE g.next IS NULL) ELSE '' END || ' '
                           END
                      FROM (SELECT c.cluster[1] AS unit, c.n, lead(c.cluster[1]) OVER (ORDER BY c.n) AS next
                              FROM regexp_matches(m.part[1], '.(?:[\u1039\u17d2][^\u1039\u17d2]|[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ece\u102b-\u103e\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d\u1071-\u1074\u1082-\u108d\u108f\u109a-\u109d\u17b4-\u17d3\u17dd])*', 'g') WITH ORDINALITY AS c (cluster, n)) AS g)
                  WHEN m.part[1] !~ '^[\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]' THEN m.part[1]
                  WHEN length(m.part[1]) = 1 THEN ' ' || m.part[1] || ' '
                  ELSE ' ' || (SELECT string_agg(CASE WHEN indexing THEN substr(m.part[1], i, 1) || ' ' ELSE '' END || substr(m.part[1], i, 2), ' ' ORDER BY i)
                                 FROM generate_series(1, length(m.part[1]) - 1) AS i)
                           || CASE WHEN indexing THEN ' ' || right(m.part[1], 1) ELSE '' END || ' '
             END, '' ORDER BY m.n)
      FROM regexp_matches(t, '([\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+|[\u0e01-\u0e3a\u0e40-\u0e4e\u0e81-\u0ece\u1000-\u103f\u1050-\u109f\u1780-\u17d3\u17dd]+|[^\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\u0e01-\u0e3a\u0e40-\u0e4e\u0e81-\u0ece\u1000-\u103f\u1050-\u109f\u1780-\u17d3\u17dd]+)', 'g') WITH ORDINALITY AS m (part, n)
  ) END
$f$;

-- Chunks stored before hold whole phrases of these scripts: index them again.
UPDATE chunks c SET tsv = to_tsvector(l.language, herd_search_text(coalesce(c.heading, '') || ' ' || c.text, true))
  FROM collections l
 WHERE l.id = c.collection_id AND (c.text ~ '[\u0e01-\u0e3a\u0e40-\u0e4e\u0e81-\u0ece\u1000-\u103f\u1050-\u109f\u1780-\u17d3\u17dd]' OR c.heading ~ '[\u0e01-\u0e3a\u0e40-\u0e4e\u0e81-\u0ece\u1000-\u103f\u1050-\u109f\u1780-\u17d3\u17dd]');
