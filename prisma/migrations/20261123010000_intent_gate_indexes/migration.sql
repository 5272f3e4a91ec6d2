-- CreateIndex
CREATE INDEX "Intent_instrumentKey_state_idx" ON "Intent"("instrumentKey", "state");

-- CreateIndex
CREATE INDEX "Intent_submittedAt_idx" ON "Intent"("submittedAt");

