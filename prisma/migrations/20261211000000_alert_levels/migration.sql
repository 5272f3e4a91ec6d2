-- Notification levels (SPEC 9): a message remembers whether it goes out without sound and which
-- alert types its "snooze 1 h" button snoozes (null: no button). Decided once, when composed.
ALTER TABLE "AlertMessage" ADD COLUMN "silent" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "AlertMessage" ADD COLUMN "snoozeTypes" TEXT;
