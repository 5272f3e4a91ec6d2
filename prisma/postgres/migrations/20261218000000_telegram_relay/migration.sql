-- Issue 18: Telegram updates a follower received on the bot webhook, for the leader to handle.
-- CreateTable
CREATE TABLE "TelegramRelay" (
    "updateId" BIGINT NOT NULL,
    "body" TEXT NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL,
    "receivedBy" TEXT NOT NULL,
    "takenAt" TIMESTAMP(3),

    CONSTRAINT "TelegramRelay_pkey" PRIMARY KEY ("updateId")
);

-- CreateIndex
CREATE INDEX "TelegramRelay_takenAt_updateId_idx" ON "TelegramRelay"("takenAt", "updateId");
