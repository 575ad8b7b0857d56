/**
 * Test databases on the local PostgreSQL: each one has a random name (`durun_test_<random>`) and
 * is dropped (WITH (FORCE)) by `drop()`. Nothing else on the server is touched.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

/** The admin connection used to create and drop test databases. */
export const PG_ADMIN_URL = process.env.DURUN_TEST_PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A database created for a test file. */
export interface TestDatabase {
  readonly name: string;
  /** A URL that connects to it. */
  readonly url: string;
  /** Drops it, closing what is still connected. */
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (e) {
    throw new Error(
      `the PostgreSQL tests need a server at ${PG_ADMIN_URL} (start it: pg_ctlcluster --skip-systemctl-redirect 15 main start): ${String(e)}`,
      { cause: e },
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database with a random name. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `durun_test_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
