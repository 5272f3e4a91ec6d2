-- Issue 18: Phoenix on PostgreSQL. The model is prisma/schema.prisma (SQLite's), derived into
-- prisma/postgres/schema.prisma by scripts/pg-schema.mjs; the tables below are Prisma's
-- `migrate diff --from-empty` of that schema, then what a schema cannot say (end of file).
-- One migration, not SQLite's history replayed: a desk on PostgreSQL starts from here.
-- test/store/pg-schema.test.ts fails when these migrations and the schema disagree.
-- CreateTable
CREATE TABLE "Intent" (
    "id" TEXT NOT NULL,
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
    "quantity" DOUBLE PRECISION NOT NULL,
    "multiplier" DOUBLE PRECISION NOT NULL,
    "entryPrice" DOUBLE PRECISION,
    "stopLoss" DOUBLE PRECISION NOT NULL,
    "takeProfit" DOUBLE PRECISION NOT NULL,
    "stateAsOf" TIMESTAMP(3) NOT NULL,
    "ttlSec" INTEGER NOT NULL,
    "regime" TEXT,
    "cardExpiresAt" TIMESTAMP(3) NOT NULL,
    "filledQty" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "avgFillPrice" DOUBLE PRECISION,
    "exitQty" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "exitAvgPrice" DOUBLE PRECISION,
    "commissionCents" INTEGER NOT NULL DEFAULT 0,
    "realizedPnlCents" INTEGER,
    "approvedBy" TEXT,
    "approvedAt" TIMESTAMP(3),
    "submittedAt" TIMESTAMP(3),
    "ackedAt" TIMESTAMP(3),
    "closedAt" TIMESTAMP(3),
    "closedDay" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Intent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApprovalToken" (
    "id" TEXT NOT NULL,
    "purpose" TEXT NOT NULL DEFAULT 'TRADE',
    "intentId" TEXT NOT NULL,
    "evidenceHash" TEXT NOT NULL,
    "issuedAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "usedAt" TIMESTAMP(3),
    "expiredAt" TIMESTAMP(3),
    "issuedTo" TEXT NOT NULL,

    CONSTRAINT "ApprovalToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BrokerOrder" (
    "id" TEXT NOT NULL,
    "intentId" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "brokerOrderId" TEXT,
    "status" TEXT NOT NULL,
    "quantity" DOUBLE PRECISION NOT NULL,
    "filledQty" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "avgFillPrice" DOUBLE PRECISION,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "BrokerOrder_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Fill" (
    "execId" TEXT NOT NULL,
    "intentId" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "side" TEXT NOT NULL,
    "quantity" DOUBLE PRECISION NOT NULL,
    "price" DOUBLE PRECISION NOT NULL,
    "commission" DOUBLE PRECISION NOT NULL,
    "time" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Fill_pkey" PRIMARY KEY ("execId")
);

-- CreateTable
CREATE TABLE "Bead" (
    "seq" SERIAL NOT NULL,
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "intentId" TEXT,
    "payload" TEXT NOT NULL,
    "ts" TIMESTAMP(3) NOT NULL,
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "hashVersion" INTEGER NOT NULL DEFAULT 1,

    CONSTRAINT "Bead_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "KillFlag" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "setBy" TEXT NOT NULL,
    "setAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3),
    "clearedAt" TIMESTAMP(3),
    "clearedBy" TEXT,

    CONSTRAINT "KillFlag_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Card" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "subjectId" TEXT NOT NULL,
    "chatId" TEXT NOT NULL,
    "messageId" INTEGER,
    "status" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "renderedVersion" INTEGER NOT NULL DEFAULT 0,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "decidedBy" TEXT,
    "decidedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Card_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Alert" (
    "id" TEXT NOT NULL,
    "rowid" BIGSERIAL NOT NULL,
    "type" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "groupKey" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PENDING',
    "messageId" TEXT,
    "sentAt" TIMESTAMP(3),

    CONSTRAINT "Alert_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AlertMessage" (
    "id" TEXT NOT NULL,
    "chatId" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "groupKey" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "alertCount" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'QUEUED',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMP(3) NOT NULL,
    "lastError" TEXT,
    "telegramMessageId" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "sentAt" TIMESTAMP(3),
    "silent" BOOLEAN NOT NULL DEFAULT false,
    "snoozeTypes" TEXT,

    CONSTRAINT "AlertMessage_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Drift" (
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "instrumentKey" TEXT,
    "local" TEXT NOT NULL,
    "broker" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "detectedAt" TIMESTAMP(3) NOT NULL,
    "escalatedAt" TIMESTAMP(3),
    "resolvedAt" TIMESTAMP(3),
    "resolution" TEXT,
    "resolvedBy" TEXT,
    "note" TEXT,

    CONSTRAINT "Drift_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Strategy" (
    "name" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "since" TIMESTAMP(3) NOT NULL,
    "changedBy" TEXT NOT NULL,

    CONSTRAINT "Strategy_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "JobRun" (
    "id" TEXT NOT NULL,
    "job" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "endedAt" TIMESTAMP(3),
    "outcome" TEXT,
    "detail" TEXT,

    CONSTRAINT "JobRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LeaderLease" (
    "name" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "holder" TEXT NOT NULL,
    "since" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "LeaderLease_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "SystemState" (
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SystemState_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "SimBook" (
    "id" TEXT NOT NULL,
    "nextOrderId" INTEGER NOT NULL,
    "nextExecId" INTEGER NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SimBook_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SimOrder" (
    "brokerOrderId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "orderRef" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "instrument" TEXT NOT NULL,
    "side" TEXT NOT NULL,
    "quantity" DOUBLE PRECISION NOT NULL,
    "type" TEXT NOT NULL,
    "limitPrice" DOUBLE PRECISION,
    "stopPrice" DOUBLE PRECISION,
    "parentId" TEXT,
    "ocaGroup" TEXT,
    "status" TEXT NOT NULL,
    "filledQty" DOUBLE PRECISION NOT NULL,
    "avgFillPrice" DOUBLE PRECISION,

    CONSTRAINT "SimOrder_pkey" PRIMARY KEY ("brokerOrderId")
);

-- CreateTable
CREATE TABLE "SimExecution" (
    "execId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "brokerOrderId" TEXT NOT NULL,
    "orderRef" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "side" TEXT NOT NULL,
    "quantity" DOUBLE PRECISION NOT NULL,
    "price" DOUBLE PRECISION NOT NULL,
    "commission" DOUBLE PRECISION NOT NULL,
    "time" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SimExecution_pkey" PRIMARY KEY ("execId")
);

-- CreateTable
CREATE TABLE "SimPosition" (
    "instrumentKey" TEXT NOT NULL,
    "instrument" TEXT NOT NULL,
    "quantity" DOUBLE PRECISION NOT NULL,
    "avgCost" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "SimPosition_pkey" PRIMARY KEY ("instrumentKey")
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
CREATE INDEX "Intent_instrumentKey_state_idx" ON "Intent"("instrumentKey", "state");

-- CreateIndex
CREATE INDEX "Intent_submittedAt_idx" ON "Intent"("submittedAt");

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
CREATE UNIQUE INDEX "Alert_rowid_key" ON "Alert"("rowid");

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

-- CreateIndex
CREATE UNIQUE INDEX "SimOrder_seq_key" ON "SimOrder"("seq");

-- CreateIndex
CREATE INDEX "SimOrder_status_idx" ON "SimOrder"("status");

-- CreateIndex
CREATE UNIQUE INDEX "SimExecution_seq_key" ON "SimExecution"("seq");


-- Audit log is append-only (SPEC 13): the database itself refuses edits, deletions and
-- TRUNCATE from every session, Phoenix's included (removing the triggers takes the table
-- owner's DDL, which the audit anchor journal then catches as a changed head, SAFE-12).
CREATE FUNCTION "Bead_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'beads are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER "Bead_no_update" BEFORE UPDATE ON "Bead" FOR EACH ROW EXECUTE FUNCTION "Bead_append_only"();
CREATE TRIGGER "Bead_no_delete" BEFORE DELETE ON "Bead" FOR EACH ROW EXECUTE FUNCTION "Bead_append_only"();
CREATE TRIGGER "Bead_no_truncate" BEFORE TRUNCATE ON "Bead" FOR EACH STATEMENT EXECUTE FUNCTION "Bead_append_only"();
