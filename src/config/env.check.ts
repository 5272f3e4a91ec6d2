/**
 * The environment checked in ONE round: every variable on its own (a bad one falls back to
 * its default in `view`, for doctor's other checks), then the rules between them on the
 * variables that did validate. Each problem says what is wrong with the value given (never a
 * secret's value) and how to fix it.
 */
import { ENV_FIXES, envSchemaFields, SECRET_ENV, type Env, type EnvKey } from './env.schema.js';
import { envRuleProblems, type EnvView } from './env.rules.js';
import { shown, type ConfigProblem } from './problems.js';

export interface EnvCheck {
  /** the validated environment, or null when there is any problem */
  readonly env: Env | null;
  /** every variable: its value, or its default when its own value is invalid */
  readonly view: Env;
  /** variables whose own value does not validate */
  readonly invalid: ReadonlySet<EnvKey>;
  readonly problems: readonly ConfigProblem[];
}

const isSecret = (k: string) => (SECRET_ENV as readonly string[]).includes(k);

function givenValue(key: EnvKey, raw: string): string {
  return isSecret(key) ? `a value of ${raw.length} characters (not shown: it is a secret)` : shown(raw);
}

/** `raw`: the merged variables (.env then the environment); empty strings count as unset. */
export function checkEnv(raw: Readonly<Record<string, string | undefined>>): EnvCheck {
  const view: Record<string, unknown> = {};
  const valid: Record<string, unknown> = {};
  const invalid = new Set<EnvKey>();
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(envSchemaFields) as EnvKey[]) {
    const schema = envSchemaFields[key];
    const value = raw[key];
    const r = schema.safeParse(value);
    if (r.success) {
      if (r.data !== undefined) view[key] = valid[key] = r.data;
      continue;
    }
    invalid.add(key);
    const d = schema.safeParse(undefined);
    view[key] = d.success ? d.data : undefined;
    const rule = [...new Set(r.error.issues.map((i) => i.message))].join('; ');
    const problem = rule.includes(', got ') || value === undefined ? rule : `${rule}, got ${givenValue(key, value)}`;
    problems.push({ where: key, problem, fix: ENV_FIXES[key] });
  }
  for (const p of envRuleProblems(valid as EnvView, (k) => raw[k] !== undefined)) problems.push({ where: p.key, problem: p.problem, fix: p.fix });
  return { env: problems.length ? null : (valid as Env), view: view as Env, invalid, problems };
}
