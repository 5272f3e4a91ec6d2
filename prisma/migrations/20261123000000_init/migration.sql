-- CreateTable
CREATE TABLE "Intent" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "signalId" TEXT NOT NULL,
    "strategy" TEXT NOT NULL,
    "shadow" BOOLEAN NOT NULL DEFAULT false,
    "payload" TEXT NOT NULL,
    "evidenceHash" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "stateReason" TEXT,
    "symbol" TEXT NOT NULL,
    "secType" TEXT NOT NULL,
    "instrumentKey" TEXT NOT NULL,
    "side" TEXT NOT NULL,
    "orderType" TEXT NOT NULL,
    "quantity" REAL NOT NULL,
    "multiplier" REAL NOT NULL,
    "entryPrice" REAL,
    "stopLoss" REAL NOT NULL,
    "takeProfit" REAL NOT NULL,
    "stateAsOf" DATETIME NOT NULL,
    "ttlSec" INTEGER NOT NULL,
    "regime" TEXT,
    "cardExpiresAt" DATETIME NOT NULL,
    "filledQty" REAL NOT NULL DEFAULT 0,
    "avgFillPrice" REAL,
    "exitQty" REAL NOT NULL DEFAULT 0,
    "exitAvgPrice" REAL,
    "commissionCents" INTEGER NOT NULL DEFAULT 0,
    "realizedPnlCents" INTEGER,
    "approvedBy" TEXT,
    "approvedAt" DATETIME,
    "submittedAt" DATETIME,
    "ackedAt" DATETIME,
    "closedAt" DATETIME,
    "closedDay" TEXT,
    "createdAt" DATETIME NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "ApprovalToken" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "purpose" TEXT NOT NULL DEFAULT 'TRADE',
    "intentId" TEXT NOT NULL,
    "evidenceHash" TEXT NOT NULL,
    "issuedAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "usedAt" DATETIME,
    "expiredAt" DATETIME,
    "issuedTo" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "BrokerOrder" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "intentId" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "brokerOrderId" TEXT,
    "status" TEXT NOT NULL,
    "quantity" REAL NOT NULL,
    "filledQty" REAL NOT NULL DEFAULT 0,
    "avgFillPrice" REAL,
    "createdAt" DATETIME NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Fill" (
    "execId" TEXT NOT NULL PRIMARY KEY,
    "intentId" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "side" TEXT NOT NULL,
    "quantity" REAL NOT NULL,
    "price" REAL NOT NULL,
    "commission" REAL NOT NULL,
    "time" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Bead" (
    "seq" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "intentId" TEXT,
    "payload" TEXT NOT NULL,
    "ts" DATETIME NOT NULL,
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "KillFlag" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "setBy" TEXT NOT NULL,
    "setAt" DATETIME NOT NULL,
    "expiresAt" DATETIME,
    "clearedAt" DATETIME,
    "clearedBy" TEXT
);

-- CreateTable
CREATE TABLE "Card" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "subjectId" TEXT NOT NULL,
    "chatId" TEXT NOT NULL,
    "messageId" INTEGER,
    "status" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "renderedVersion" INTEGER NOT NULL DEFAULT 0,
    "expiresAt" DATETIME NOT NULL,
    "decidedBy" TEXT,
    "decidedAt" DATETIME,
    "createdAt" DATETIME NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Alert" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "type" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "groupKey" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PENDING',
    "messageId" TEXT,
    "sentAt" DATETIME
);

-- CreateTable
CREATE TABLE "AlertMessage" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "chatId" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "groupKey" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "alertCount" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'QUEUED',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME NOT NULL,
    "lastError" TEXT,
    "telegramMessageId" INTEGER,
    "createdAt" DATETIME NOT NULL,
    "sentAt" DATETIME
);

-- CreateTable
CREATE TABLE "Drift" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "type" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "instrumentKey" TEXT,
    "local" TEXT NOT NULL,
    "broker" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "detectedAt" DATETIME NOT NULL,
    "escalatedAt" DATETIME,
    "resolvedAt" DATETIME,
    "resolution" TEXT,
    "resolvedBy" TEXT,
    "note" TEXT
);

-- CreateTable
CREATE TABLE "Strategy" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "stage" TEXT NOT NULL,
    "since" DATETIME NOT NULL,
    "changedBy" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "JobRun" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "job" TEXT NOT NULL,
    "startedAt" DATETIME NOT NULL,
    "endedAt" DATETIME,
    "outcome" TEXT,
    "detail" TEXT
);

-- CreateTable
CREATE TABLE "SystemState" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "Intent_signalId_key" ON "Intent"("signalId");

-- CreateIndex
CREATE INDEX "Intent_state_idx" ON "Intent"("state");

-- CreateIndex
CREATE INDEX "Intent_closedDay_idx" ON "Intent"("closedDay");

-- CreateIndex
CREATE INDEX "Intent_strategy_idx" ON "Intent"("strategy");

-- CreateIndex
CREATE INDEX "ApprovalToken_intentId_idx" ON "ApprovalToken"("intentId");

-- CreateIndex
CREATE INDEX "ApprovalToken_usedAt_expiresAt_idx" ON "ApprovalToken"("usedAt", "expiresAt");

-- CreateIndex
CREATE INDEX "BrokerOrder_brokerOrderId_idx" ON "BrokerOrder"("brokerOrderId");

-- CreateIndex
CREATE UNIQUE INDEX "BrokerOrder_intentId_role_key" ON "BrokerOrder"("intentId", "role");

-- CreateIndex
CREATE INDEX "Fill_intentId_idx" ON "Fill"("intentId");

-- CreateIndex
CREATE UNIQUE INDEX "Bead_id_key" ON "Bead"("id");

-- CreateIndex
CREATE INDEX "Bead_intentId_idx" ON "Bead"("intentId");

-- CreateIndex
CREATE INDEX "Bead_type_seq_idx" ON "Bead"("type", "seq");

-- CreateIndex
CREATE INDEX "Bead_ts_idx" ON "Bead"("ts");

-- CreateIndex
CREATE INDEX "KillFlag_clearedAt_idx" ON "KillFlag"("clearedAt");

-- CreateIndex
CREATE INDEX "Card_subjectId_idx" ON "Card"("subjectId");

-- CreateIndex
CREATE INDEX "Card_status_expiresAt_idx" ON "Card"("status", "expiresAt");

-- CreateIndex
CREATE INDEX "Alert_status_createdAt_idx" ON "Alert"("status", "createdAt");

-- CreateIndex
CREATE INDEX "Alert_messageId_idx" ON "Alert"("messageId");

-- CreateIndex
CREATE INDEX "AlertMessage_status_nextAttemptAt_idx" ON "AlertMessage"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "Drift_resolvedAt_idx" ON "Drift"("resolvedAt");

-- CreateIndex
CREATE INDEX "Drift_fingerprint_idx" ON "Drift"("fingerprint");

-- CreateIndex
CREATE INDEX "JobRun_job_startedAt_idx" ON "JobRun"("job", "startedAt");


-- Audit log is append-only (SPEC 13): the database itself refuses edits and deletions.
CREATE TRIGGER "Bead_no_update" BEFORE UPDATE ON "Bead"
BEGIN
  SELECT RAISE(ABORT, 'beads are append-only: UPDATE refused');
END;

CREATE TRIGGER "Bead_no_delete" BEFORE DELETE ON "Bead"
BEGIN
  SELECT RAISE(ABORT, 'beads are append-only: DELETE refused');
END;
