-- Issue 15: promotion requests get their own table (they were JSON under the kv keys
-- `promotion:<id>`). Existing requests move over, then their kv rows go.
-- CreateTable
CREATE TABLE "PromotionRequest" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "strategy" TEXT NOT NULL,
    "cardId" TEXT NOT NULL,
    "bundle" TEXT NOT NULL,
    "bundleHash" TEXT NOT NULL,
    "requestedById" TEXT NOT NULL,
    "requestedByName" TEXT NOT NULL,
    "requestedVia" TEXT NOT NULL,
    "requestedAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "decisionEvent" TEXT,
    "decisionBy" TEXT,
    "decisionAt" DATETIME,
    "decisionReason" TEXT,
    "decisionTokenId" TEXT,
    "updatedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "PromotionRequest_strategy_idx" ON "PromotionRequest"("strategy");

-- Move the stored requests (epoch ms → the store's DateTime text, UTC with +00:00)
INSERT INTO "PromotionRequest" ("id", "strategy", "cardId", "bundle", "bundleHash", "requestedById", "requestedByName", "requestedVia", "requestedAt", "expiresAt", "decisionEvent", "decisionBy", "decisionAt", "decisionReason", "decisionTokenId", "updatedAt")
SELECT
    json_extract(value, '$.id'),
    json_extract(value, '$.strategy'),
    json_extract(value, '$.cardId'),
    json_extract(value, '$.bundle'),
    json_extract(value, '$.bundleHash'),
    json_extract(value, '$.requestedBy.id'),
    json_extract(value, '$.requestedBy.name'),
    json_extract(value, '$.requestedBy.via'),
    strftime('%Y-%m-%dT%H:%M:%f', json_extract(value, '$.requestedAt') / 1000.0, 'unixepoch') || '+00:00',
    strftime('%Y-%m-%dT%H:%M:%f', json_extract(value, '$.expiresAt') / 1000.0, 'unixepoch') || '+00:00',
    json_extract(value, '$.decision.event'),
    json_extract(value, '$.decision.by'),
    CASE WHEN json_extract(value, '$.decision.at') IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%f', json_extract(value, '$.decision.at') / 1000.0, 'unixepoch') || '+00:00' END,
    json_extract(value, '$.decision.reason'),
    json_extract(value, '$.decision.tokenId'),
    "updatedAt"
FROM "SystemState" WHERE key LIKE 'promotion:%' AND json_valid(value);

DELETE FROM "SystemState" WHERE key LIKE 'promotion:%';
