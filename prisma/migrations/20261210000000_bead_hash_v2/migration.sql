-- SAFE-12 (SPEC 13, INV-AUDIT-ANCHOR-1): bead hash version 2 covers every stored column.
-- Written by hand: Prisma's diff would rebuild the table (copy, DROP, RENAME), which drops the
-- append-only triggers. ADD COLUMN keeps the table, its rows and its triggers; every existing
-- bead keeps hash version 1 (the triggers forbid rewriting it, and it verifies under v1).
ALTER TABLE "Bead" ADD COLUMN "hashVersion" INTEGER NOT NULL DEFAULT 1;

-- Appends must link onto the head: no hash version below the head's (a forger cannot add a
-- v1 bead, whose hash does not cover seq or intentId, after v2 beads), and a v2 bead carries
-- the next sequence number and the head's hash as prevHash. SQLite cannot compute SHA-256,
-- so the hash itself is checked by `phoenix audit verify` (and the anchor catches a
-- well-formed forgery); this refuses the careless and the buggy at the door.
CREATE TRIGGER "Bead_append_links_head" BEFORE INSERT ON "Bead"
WHEN NEW."hashVersion" < COALESCE((SELECT "hashVersion" FROM "Bead" ORDER BY "seq" DESC LIMIT 1), 1)
  OR (NEW."hashVersion" >= 2 AND (
       NEW."seq" IS NOT COALESCE((SELECT "seq" FROM "Bead" ORDER BY "seq" DESC LIMIT 1), 0) + 1
    OR NEW."prevHash" IS NOT COALESCE((SELECT "hash" FROM "Bead" ORDER BY "seq" DESC LIMIT 1), '0000000000000000000000000000000000000000000000000000000000000000')))
BEGIN
  SELECT RAISE(ABORT, 'beads are a hash chain: append refused (hash version below the head''s, or seq/prevHash not linked to the head)');
END;
