-- Every batch adds to the counts of its issues' tag values and hourly buckets. No index covers
-- the columns it changes, so PostgreSQL can update such a row "HOT" (heap-only: the new
-- version goes beside the old one on its page, and no index gains an entry) when the page has
-- room, and prunes the old versions as it goes. At the default fillfactor (100) a page is full
-- once written and every update was a new tuple elsewhere plus one entry in each index; 70
-- leaves room on each page. It applies to pages written from now on.
ALTER TABLE issue_tag_values SET (fillfactor = 70);
ALTER TABLE issue_hourly SET (fillfactor = 70);
