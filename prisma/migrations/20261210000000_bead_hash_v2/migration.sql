-- SAFE-12 (SPEC 13, INV-AUDIT-ANCHOR-1): bead hash version 2 covers every stored column.
-- Written by hand: Prisma's diff would rebuild the table (copy, DROP, RENAME), which drops the
-- append-only triggers. ADD COLUMN keeps the table, its rows and its triggers; every existing
-- bead keeps hash version 1 (the triggers forbid rewriting it, and it verifies under v1).
--
-- No INSERT trigger checks that an append links onto the head (seq, prevHash, version): SQLite
-- cannot compute SHA-256, so a forger passes it anyway (the anchor catches that), and any
-- trigger on the table costs ~10 µs per bead here, ~0.3 ms (20%) on the approval path.
-- `phoenix audit verify` refuses a v1 bead after v2 beads, a gap or a bad link, naming it.
ALTER TABLE "Bead" ADD COLUMN "hashVersion" INTEGER NOT NULL DEFAULT 1;
