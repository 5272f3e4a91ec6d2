/**
 * Times shown to people (SPEC 12): in the constitution's time zone with its abbreviation
 * ("15:57 EST"). ISO UTC stays for beads and logs.
 */
const formats = new Map<string, Intl.DateTimeFormat>();

function format(timeZone: string, withDay: boolean): Intl.DateTimeFormat {
  const key = `${timeZone}|${withDay}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, ...(withDay ? { weekday: 'short' } : {}), hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' });
    formats.set(key, f);
  }
  return f;
}

/** "15:57 EST" */
export function clockTime(epochMs: number, timeZone: string): string {
  return format(timeZone, false).format(epochMs);
}

/** "Tue 15:57 EST" */
export function dayClockTime(epochMs: number, timeZone: string): string {
  return format(timeZone, true).format(epochMs).replace(',', '');
}
