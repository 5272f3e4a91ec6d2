-- Issue 15: promotion requests get their own table (they were JSON under the kv keys
-- `promotion:<id>`). Existing requests move over, then their kv rows go.
-- CreateTable
CREATE TABLE "PromotionRequest" (
    "id" TEXT NOT NULL,
    "strategy" TEXT NOT NULL,
    "cardId" TEXT NOT NULL,
    "bundle" TEXT NOT NULL,
    "bundleHash" TEXT NOT NULL,
    "requestedById" TEXT NOT NULL,
    "requestedByName" TEXT NOT NULL,
    "requestedVia" TEXT NOT NULL,
    "requestedAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "decisionEvent" TEXT,
    "decisionBy" TEXT,
    "decisionAt" TIMESTAMP(3),
    "decisionReason" TEXT,
    "decisionTokenId" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PromotionRequest_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "PromotionRequest_strategy_idx" ON "PromotionRequest"("strategy");

-- Move the stored requests (epoch ms → UTC timestamps)
INSERT INTO "PromotionRequest" ("id", "strategy", "cardId", "bundle", "bundleHash", "requestedById", "requestedByName", "requestedVia", "requestedAt", "expiresAt", "decisionEvent", "decisionBy", "decisionAt", "decisionReason", "decisionTokenId", "updatedAt")
SELECT
    v ->> 'id',
    v ->> 'strategy',
    v ->> 'cardId',
    (v -> 'bundle')::text,
    v ->> 'bundleHash',
    v -> 'requestedBy' ->> 'id',
    v -> 'requestedBy' ->> 'name',
    v -> 'requestedBy' ->> 'via',
    to_timestamp((v ->> 'requestedAt')::double precision / 1000) AT TIME ZONE 'UTC',
    to_timestamp((v ->> 'expiresAt')::double precision / 1000) AT TIME ZONE 'UTC',
    v -> 'decision' ->> 'event',
    v -> 'decision' ->> 'by',
    to_timestamp((v -> 'decision' ->> 'at')::double precision / 1000) AT TIME ZONE 'UTC',
    v -> 'decision' ->> 'reason',
    v -> 'decision' ->> 'tokenId',
    "updatedAt"
FROM (SELECT value::jsonb AS v, "updatedAt" FROM "SystemState" WHERE key LIKE 'promotion:%') AS kv;

DELETE FROM "SystemState" WHERE key LIKE 'promotion:%';
