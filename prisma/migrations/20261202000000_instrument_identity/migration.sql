-- One instrument identity (SAFE-9, INV-INSTRUMENT-ID-1): rewrite the stored instrumentKey of
-- every intent to src/engine/instrument.ts instrumentId(): secType, upper-case symbol, the
-- contract month (YYYYMM) for futures, and the currency; the exchange is left out.
UPDATE "Intent" SET "instrumentKey" =
  CASE "secType"
    WHEN 'FUT' THEN 'FUT:' || upper(trim("symbol")) || ':' || substr(COALESCE(json_extract("payload", '$.instrument.contractMonth'), ''), 1, 6) || ':' || upper(COALESCE(json_extract("payload", '$.instrument.currency'), 'USD'))
    ELSE "secType" || ':' || upper(trim("symbol")) || ':' || upper(COALESCE(json_extract("payload", '$.instrument.currency'), 'USD'))
  END;
