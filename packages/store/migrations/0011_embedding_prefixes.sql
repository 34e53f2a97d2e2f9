-- What a collection puts before the text it embeds: before each search query and before each
-- chunk. Retrieval models such as nomic-embed-text are trained with such task prefixes and rank
-- worse without them. Collections made before embedded none, and keep none: a query embedded
-- with a prefix would not match chunks embedded without one.
ALTER TABLE collections ADD COLUMN query_prefix text NOT NULL DEFAULT '';
ALTER TABLE collections ADD COLUMN document_prefix text NOT NULL DEFAULT '';
