/**
 * Production scheduler: daily, wall-clock-anchored schedules (flatten deadline, daily reset)
 * are node-cron tasks in the session time zone, so they follow DST and never drift;
 * intervals (heartbeat with jitter, sweeps) run on the injected Clock like in tests.
 * node-cron's own overlap handling is left off: the JobRunner's guard records skipped runs.
 */
import nodeCron, { type ScheduledTask, type TaskContext, type TaskOptions } from 'node-cron';
import type { Cancel, Clock, Random } from '../engine/index.js';
import { ClockScheduler, cronExpression, type Schedule } from './scheduler.js';

/** The part of node-cron used here (tests may pass a recorder). */
export interface CronApi {
  schedule(expression: string, fn: (ctx: TaskContext) => unknown, options?: TaskOptions): Pick<ScheduledTask, 'destroy' | 'getNextRun'>;
}

export class CronScheduler extends ClockScheduler {
  override readonly name = 'node-cron';
  private readonly tasks = new Set<Pick<ScheduledTask, 'destroy'>>();

  constructor(
    clock: Clock,
    random: Random,
    private readonly cron: CronApi = nodeCron,
  ) {
    super(clock, random);
  }

  override add(job: string, schedule: Schedule, fire: (scheduledAt: number) => void): Cancel {
    if (schedule.kind === 'interval') return super.add(job, schedule, fire);
    const task = this.cron.schedule(
      cronExpression(schedule),
      (ctx) => {
        // The minute it was due (node-cron passes the scheduled date), so lag is measurable.
        const due = ctx?.date instanceof Date ? ctx.date.getTime() : this.clock.now();
        fire(due - (due % 60_000));
      },
      { name: `phoenix:${job}`, timezone: schedule.timeZone, noOverlap: false },
    );
    this.tasks.add(task);
    return () => {
      this.tasks.delete(task);
      void task.destroy();
    };
  }

  override stop(): void {
    super.stop();
    for (const t of [...this.tasks]) void t.destroy();
    this.tasks.clear();
  }
}
