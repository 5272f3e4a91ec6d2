-- Issue 18: the leader lease of a desk on PostgreSQL (epoch = fencing token). SQLite has one
-- process per file and never uses it; the table exists so both databases share one model.
-- CreateTable
CREATE TABLE "LeaderLease" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "epoch" INTEGER NOT NULL,
    "holder" TEXT NOT NULL,
    "since" DATETIME NOT NULL
);
