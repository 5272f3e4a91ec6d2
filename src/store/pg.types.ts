/**
 * How `pg` hands values back to the store (its own module: the CLI's read-only inspection,
 * src/store/inspect.ts, reads rows the same way without loading Prisma).
 */
import pg from 'pg';

const TIMESTAMP = 1114; // timestamp without time zone: Prisma's DateTime on PostgreSQL, always UTC
const TIMESTAMPTZ = 1184;
const INT8 = 20;

/**
 * Raw rows as the SQLite rows look: timestamps as epoch-ready ISO text in UTC (pg would read
 * `timestamp` in the process's local zone), counts as numbers.
 */
export const rawTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === TIMESTAMP) return (s: string) => `${s.replace(' ', 'T')}Z`;
    if (oid === TIMESTAMPTZ) return (s: string) => new Date(s).toISOString();
    if (oid === INT8) return (s: string) => Number(s);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};
