/**
 * Reading /metrics the way Prometheus does: the exposition text goes through a real parser
 * (npm parse-prometheus-text-format), then tests look metrics up by name and labels.
 */
import parsePrometheus from 'parse-prometheus-text-format';

export interface PromSample {
  readonly labels?: Record<string, string>;
  readonly value?: string;
  readonly buckets?: Record<string, string>;
  readonly count?: string;
  readonly sum?: string;
}

export interface PromFamily {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly metrics: readonly PromSample[];
}

export class Scrape {
  readonly families: ReadonlyMap<string, PromFamily>;
  constructor(readonly text: string) {
    this.families = new Map((parsePrometheus(text) as PromFamily[]).map((f) => [f.name, f]));
  }

  family(name: string): PromFamily {
    const f = this.families.get(name);
    if (!f) throw new Error(`metric ${name} is not in the scrape (have: ${[...this.families.keys()].filter((k) => k.startsWith('phoenix_')).join(', ')})`);
    return f;
  }

  private sample(name: string, labels: Record<string, string>): PromSample | undefined {
    return this.family(name).metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  }

  /** A counter's or gauge's value (0 when no sample has these labels). */
  value(name: string, labels: Record<string, string> = {}): number {
    const s = this.sample(name, labels);
    return s?.value === undefined ? 0 : Number(s.value);
  }

  /** Sum over every sample matching `labels`. */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.family(name)
      .metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
      .reduce((n, m) => n + Number(m.value ?? 0), 0);
  }

  /** Every sample as `labelvalue…` → value, for exact comparisons of a whole family. */
  byLabel(name: string, label: string, where: Record<string, string> = {}): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.family(name).metrics) {
      if (!Object.entries(where).every(([k, v]) => m.labels?.[k] === v)) continue;
      const key = m.labels?.[label] ?? '';
      out[key] = (out[key] ?? 0) + Number(m.value ?? 0);
    }
    return out;
  }

  histogram(name: string, labels: Record<string, string> = {}): { count: number; sum: number; buckets: Record<string, number> } {
    const s = this.sample(name, labels);
    if (!s || s.count === undefined) return { count: 0, sum: 0, buckets: {} };
    return { count: Number(s.count), sum: Number(s.sum), buckets: Object.fromEntries(Object.entries(s.buckets ?? {}).map(([k, v]) => [k, Number(v)])) };
  }
}
