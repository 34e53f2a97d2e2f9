-- Document ids are stored composed (NFC) from now on: "Prüfung.md" uploaded from macOS (which
-- lists file names decomposed, "u" + a combining diaeresis) and from elsewhere is one document,
-- not two. Existing ids are composed too, unless the composed id is taken (both forms were
-- uploaded): those twins keep their ids, and the API still finds an id as written first.
WITH renamed AS (
  SELECT id, collection_id, normalize(external_id, NFC) AS composed,
         row_number() OVER (PARTITION BY collection_id, normalize(external_id, NFC) ORDER BY updated_at DESC, id DESC) AS rank
    FROM documents
   WHERE external_id IS NOT NFC NORMALIZED
)
UPDATE documents d SET external_id = r.composed
  FROM renamed r
 WHERE d.id = r.id
   AND r.rank = 1
   AND NOT EXISTS (SELECT 1 FROM documents o WHERE o.collection_id = r.collection_id AND o.external_id = r.composed);
