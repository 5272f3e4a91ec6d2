/**
 * Scheduler port: when jobs fire. One job table runs on either implementation:
 * - `ClockScheduler` (tests, and intervals in production): everything through the injected
 *   Clock, so FakeClock `advance()` drives every schedule, daily ones included;
 * - `CronScheduler` (cron.scheduler.ts, production): wall-clock-anchored daily schedules on
 *   node-cron with the session time zone; intervals (with jitter) on the Clock.
 *
 * Two kinds of schedule:
 *   interval  every `everyMs` ± `jitterMs` (uniform, drawn from the injected Random per tick);
 *             due times chain from the previous due time, not from when a run ended
 *   daily     at HH:MM local time in `timeZone` on the listed weekdays (0 = Sunday), e.g. the
 *             15:55 America/New_York flatten deadline Monday–Friday (holidays are the job's
 *             business: the calendar is in the constitution)
 * `fire(scheduledAt)` receives the due time so the runner can measure lag.
 */
import { addDays, dayStartMs, localTime, toMinutes, type Cancel, type Clock, type Random } from '../engine/index.js';

export interface IntervalSchedule {
  readonly kind: 'interval';
  readonly everyMs: number;
  readonly jitterMs?: number;
}
export interface DailySchedule {
  readonly kind: 'daily';
  /** HH:MM local time */
  readonly at: string;
  readonly timeZone: string;
  /** 0 = Sunday */
  readonly weekdays: readonly number[];
}
export type Schedule = IntervalSchedule | DailySchedule;

export interface Scheduler {
  readonly name: string;
  /** Call `fire(scheduledAt)` at every due time of `schedule` until the returned Cancel is called. */
  add(job: string, schedule: Schedule, fire: (scheduledAt: number) => void): Cancel;
  /** Cancel everything added. */
  stop(): void;
}

export const every = (everyMs: number, jitterMs = 0): IntervalSchedule => ({ kind: 'interval', everyMs, ...(jitterMs ? { jitterMs } : {}) });
export const dailyAt = (at: string, timeZone: string, weekdays: readonly number[] = [1, 2, 3, 4, 5]): DailySchedule => ({ kind: 'daily', at, timeZone, weekdays });

/** node-cron expression of a daily schedule: minute hour * * weekdays. */
export function cronExpression(s: DailySchedule): string {
  const [h, m] = s.at.split(':').map(Number);
  const days = [...s.weekdays].sort((a, b) => a - b);
  const contiguous = days.length > 1 && days.every((d, i) => i === 0 || d === (days[i - 1] ?? 0) + 1);
  const dow = days.length === 7 ? '*' : contiguous ? `${days[0]}-${days[days.length - 1]}` : days.join(',');
  return `${m ?? 0} ${h ?? 0} * * ${dow}`;
}

export function describeSchedule(s: Schedule): string {
  if (s.kind === 'interval') return `every ${s.everyMs / 1000} s${s.jitterMs ? ` ± ${s.jitterMs / 1000} s` : ''}`;
  return `${s.at} ${s.timeZone} (cron "${cronExpression(s)}")`;
}

/** The next due time of a daily schedule strictly after `after` (epoch ms; DST-safe). */
export function nextDailyAt(after: number, s: DailySchedule): number {
  const target = toMinutes(s.at);
  const today = localTime(after, s.timeZone).day;
  for (let d = 0; d < 15; d++) {
    const day = addDays(today, d);
    const weekday = new Date(`${day}T12:00:00Z`).getUTCDay();
    if (!s.weekdays.includes(weekday)) continue;
    let t = dayStartMs(day, s.timeZone) + target * 60_000;
    // a DST change between midnight and the target shifts local time by the offset change
    const lt = localTime(t, s.timeZone);
    if (lt.day === day && lt.minutes !== target) t += (target - lt.minutes) * 60_000;
    if (t > after) return t;
  }
  throw new Error(`no due time within 15 days for ${describeSchedule(s)}`);
}

/** Every schedule on the injected Clock (FakeClock in tests; SystemClock intervals in production). */
export class ClockScheduler implements Scheduler {
  readonly name: string = 'clock';
  private readonly cancels = new Set<Cancel>();

  constructor(
    protected readonly clock: Clock,
    private readonly random: Random,
  ) {}

  add(job: string, schedule: Schedule, fire: (scheduledAt: number) => void): Cancel {
    void job;
    let stopped = false;
    let cancelTimer: Cancel = () => {};
    const next = (from: number): number =>
      schedule.kind === 'interval' ? from + Math.max(1, Math.round(schedule.everyMs + (schedule.jitterMs ? (this.random.next() * 2 - 1) * schedule.jitterMs : 0))) : nextDailyAt(from, schedule);
    const arm = (due: number) => {
      cancelTimer = this.clock.schedule(Math.max(0, due - this.clock.now()), () => {
        if (stopped) return;
        let following = next(due);
        // Fell far behind (process suspended): resynchronise instead of firing a burst.
        if (schedule.kind === 'interval' && following <= this.clock.now()) following = next(this.clock.now());
        arm(following);
        fire(due);
      });
    };
    arm(next(this.clock.now()));
    const cancel = () => {
      stopped = true;
      cancelTimer();
      this.cancels.delete(cancel);
    };
    this.cancels.add(cancel);
    return cancel;
  }

  stop(): void {
    for (const c of [...this.cancels]) c();
  }
}
