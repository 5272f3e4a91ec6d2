/**
 * THE formatter for what people read (SPEC 5, 9, 12): times, money and durations, used by the
 * engine's messages, the bot, the alert pipeline and the CLI alike. Pure.
 *
 * Times: every time shown to a person is in the constitution's time zone with the abbreviation
 * Intl gives it ("15:57 EST", "09:35 EDT"); ISO UTC stays for beads and logs.
 * Money: one sign rule: "-$11.25" for a loss, "$11.25" otherwise, "+$1.00" where a sign is the
 * point (P&L).
 */
const formats = new Map<string, Intl.DateTimeFormat>();

type Shape = 'hm' | 'hms' | 'day-hm' | 'date-hm';

function format(timeZone: string, shape: Shape): Intl.DateTimeFormat {
  const key = `${timeZone}|${shape}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      ...(shape === 'day-hm' ? { weekday: 'short' } : {}),
      ...(shape === 'date-hm' ? { year: 'numeric', month: '2-digit', day: '2-digit' } : {}),
      hour: '2-digit',
      minute: '2-digit',
      ...(shape === 'hms' ? { second: '2-digit' } : {}),
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    formats.set(key, f);
  }
  return f;
}

const valid = (ms: number | null | undefined): ms is number => ms !== null && ms !== undefined && Number.isFinite(ms);

/** "15:57 EST" ("—" for no time) */
export function clockTime(epochMs: number | null | undefined, timeZone: string): string {
  return valid(epochMs) ? format(timeZone, 'hm').format(epochMs) : '—';
}

/** "15:57:03 EST": alerts, where seconds tell two events apart */
export function clockTimeSec(epochMs: number | null | undefined, timeZone: string): string {
  return valid(epochMs) ? format(timeZone, 'hms').format(epochMs) : '—';
}

/** "Tue 15:57 EST" */
export function dayClockTime(epochMs: number | null | undefined, timeZone: string): string {
  return valid(epochMs) ? format(timeZone, 'day-hm').format(epochMs).replace(',', '') : '—';
}

/** "2026-11-24 15:57 EST": for times that may be days away (strategy stages, kill flags set yesterday) */
export function dateClockTime(epochMs: number | null | undefined, timeZone: string): string {
  if (!valid(epochMs)) return '—';
  const parts = Object.fromEntries(format(timeZone, 'date-hm').formatToParts(epochMs).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName}`;
}

/** The zone's abbreviation at that moment ("EST" / "EDT"). */
export function zoneAbbreviation(epochMs: number, timeZone: string): string {
  return format(timeZone, 'hm').formatToParts(epochMs).find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
}

// === machine times (logs, bead payloads, evidence bundles)

/** epoch ms → ISO-8601 UTC, "2026-12-07T16:30:00.000Z" */
export const isoUtc = (ms: number): string => new Date(ms).toISOString();

// === money

/** cents → "$11.25" / "-$11.25" */
export const usd = (cents: number): string => `${cents < 0 ? '-' : ''}$${(Math.abs(cents) / 100).toFixed(2)}`;

/** dollars → "$1500.00" / "-$3.10" (rounded to the cent first) */
export const usdAmount = (dollars: number): string => usd(Math.round(dollars * 100));

/** cents → "+$11.25" / "-$11.25" / "$0.00": P&L, where the sign is the news */
export const signedUsd = (cents: number): string => (cents === 0 ? usd(0) : `${cents > 0 ? '+' : ''}${usd(cents)}`);

// === durations

/** 45s, 4m 12s, 1h 03m, 2d 4h */
export function dur(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** "4m 12s ago" / "never" */
export const ago = (now: number, t: number | null | undefined): string => (t === null || t === undefined ? 'never' : `${dur(now - t)} ago`);

/** A countdown a phone reads at a glance: "4:12", "0:30", "1:02:03" (seconds rounded up, never below 0:00). */
export function countdown(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
