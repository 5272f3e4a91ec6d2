/**
 * Every key of the store's small key/value table (SystemState), in one place. The Store port's
 * KvRepo takes only a `KvKey`, so a key spelled by hand anywhere else does not compile. Values
 * are strings; what each holds is said here.
 */
export const KV = {
  /** epoch ms of the last finished reconciliation */
  reconcileLastRunAt: 'reconcile.lastRunAt',
  /** JSON {at, scope, reason, fingerprints}: the last reconciliation's findings */
  reconcileLast: 'reconcile.last',
  /** JSON string[]: fingerprints of drifts resolved as ACKNOWLEDGED whose mismatch still persists */
  reconcileAcknowledged: 'reconcile.acknowledged',
  /** write-and-read probe of the heartbeat (the database answers and takes writes) */
  heartbeatProbe: 'heartbeat.probe',
  /** epoch ms of the last OK/DEGRADED beat */
  heartbeatLastAt: 'heartbeat.lastAt',
  /** the last beat's status */
  heartbeatStatus: 'heartbeat.status',
  /** the lastAt a missed-heartbeat gap was already reported for */
  heartbeatMissedFor: 'heartbeat.missedFor',
  /** epoch ms of the last delivered alert message */
  telegramLastSentAt: 'telegram.lastSentAt',
  /** last delivery error, with how long it has been failing (absent while healthy) */
  telegramLastError: 'telegram.lastError',
  /** epoch ms of the first failure of the current failing streak (absent while healthy) */
  telegramFailingSince: 'telegram.failingSince',
  /** epoch ms since which TELEGRAM_DOWN is raised (absent while healthy) */
  telegramDown: 'telegram.down',
  /** JSON: what each alert group last said (repeat suppression across restarts) */
  alertGroups: 'alerts.groups',
  /** JSON Snooze[]: snoozed alert types */
  alertSnooze: 'alerts.snooze',
  /** epoch ms of the last /reconnect request, and of the last one the job handled */
  reconnectRequestedAt: 'broker.reconnectRequestedAt',
  reconnectHandledAt: 'broker.reconnectHandledAt',
  /** epoch ms of a drop inside the restart window not yet followed by READY ('' = none) */
  gatewayExpectedOutage: 'gateway.expectedOutageSince',
  /** epoch ms of the weekly login the last reminder was for */
  gatewayLoginReminder: 'gateway.loginReminderFor',
  /** '1' while the restart window is open (the job re-renders held cards on a change) */
  gatewayWindowOpen: 'gateway.restartWindowOpen',
  /** the trading day (YYYY-MM-DD) the daily reset last ran for */
  dailyResetLastDay: 'dailyReset.lastDay',
  /** JSON {url, pid, startedAt}: the running service's intake address, for the CLI */
  serviceEndpoint: 'service.endpoint',
} as const;

/** Keys that carry an id. */
export const kvKeyOf = {
  /** JSON: the contract details the broker confirmed for one instrument (contract-lookup.ts) */
  contract: (instrumentKey: string) => `contract:${instrumentKey}` as const,
};

export type KvKey = (typeof KV)[keyof typeof KV] | ReturnType<(typeof kvKeyOf)[keyof typeof kvKeyOf]>;
