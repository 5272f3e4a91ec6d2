-- Issue 18: Telegram updates a desk follower received on the bot webhook, for the leader to
-- handle. SQLite has one process per file and never uses it; the table exists so both
-- databases share one model.
-- CreateTable
CREATE TABLE "TelegramRelay" (
    "updateId" BIGINT NOT NULL PRIMARY KEY,
    "body" TEXT NOT NULL,
    "receivedAt" DATETIME NOT NULL,
    "receivedBy" TEXT NOT NULL,
    "takenAt" DATETIME
);

-- CreateIndex
CREATE INDEX "TelegramRelay_takenAt_updateId_idx" ON "TelegramRelay"("takenAt", "updateId");
