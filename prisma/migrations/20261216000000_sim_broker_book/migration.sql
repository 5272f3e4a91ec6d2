-- Issue 16: the simulated broker's book (orders, executions, positions, next ids) in Phoenix's
-- database, so a restart of a BROKER=sim service finds the broker as it left it (no invented drift).
-- CreateTable
CREATE TABLE "SimBook" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "nextOrderId" INTEGER NOT NULL,
    "nextExecId" INTEGER NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "SimOrder" (
    "brokerOrderId" TEXT NOT NULL PRIMARY KEY,
    "seq" INTEGER NOT NULL,
    "orderRef" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "instrument" TEXT NOT NULL,
    "side" TEXT NOT NULL,
    "quantity" REAL NOT NULL,
    "type" TEXT NOT NULL,
    "limitPrice" REAL,
    "stopPrice" REAL,
    "parentId" TEXT,
    "ocaGroup" TEXT,
    "status" TEXT NOT NULL,
    "filledQty" REAL NOT NULL,
    "avgFillPrice" REAL
);

-- CreateTable
CREATE TABLE "SimExecution" (
    "execId" TEXT NOT NULL PRIMARY KEY,
    "seq" INTEGER NOT NULL,
    "brokerOrderId" TEXT NOT NULL,
    "orderRef" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "side" TEXT NOT NULL,
    "quantity" REAL NOT NULL,
    "price" REAL NOT NULL,
    "commission" REAL NOT NULL,
    "time" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "SimPosition" (
    "instrumentKey" TEXT NOT NULL PRIMARY KEY,
    "instrument" TEXT NOT NULL,
    "quantity" REAL NOT NULL,
    "avgCost" REAL NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "SimOrder_seq_key" ON "SimOrder"("seq");

-- CreateIndex
CREATE INDEX "SimOrder_status_idx" ON "SimOrder"("status");

-- CreateIndex
CREATE UNIQUE INDEX "SimExecution_seq_key" ON "SimExecution"("seq");

