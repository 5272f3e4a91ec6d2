/**
 * IBKR execution ids: a correction keeps everything but the last `.NN`
 * (`0000e0d5.6553a3b2.01.01` → `….01.02`). One execution per base; the latest correction wins.
 */
export function execBase(execId: string): string {
  return /\.\d{2}$/.test(execId) ? execId.slice(0, -3) : execId;
}

/** Keep one record per execution base (the highest correction), in the original order. */
export function latestPerBase<T extends { readonly execId: string }>(fills: readonly T[]): T[] {
  const best = new Map<string, T>();
  for (const f of fills) {
    const b = execBase(f.execId);
    const seen = best.get(b);
    if (!seen || f.execId > seen.execId) best.set(b, f);
  }
  const keep = new Set(best.values());
  return fills.filter((f) => keep.has(f));
}
