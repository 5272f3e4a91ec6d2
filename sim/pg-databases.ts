/**
 * Fresh PostgreSQL databases for a simulation run (one per world), created on the server a URL
 * names (its database is the one connected to for CREATE/DROP DATABASE) and dropped after.
 */
import pg from 'pg';
import type { SimDatabases } from './run.js';

let n = 0;

export function pgDatabases(serverUrl: string): SimDatabases {
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  return {
    async create() {
      const name = `phoenix_sim_${process.pid}_${Date.now().toString(36)}_${++n}`;
      await admin(`CREATE DATABASE "${name}"`);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async drop(url) {
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
