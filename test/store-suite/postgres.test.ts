/**
 * The store behaviour suite on PostgreSQL (each database created with a random name and dropped
 * after), and what only a server has: unreachable hosts, missing databases, refused users.
 */
import { createServer, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { StoreError } from "../../src/errors.js";
import { openStore } from "../../src/store/open-store.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { emptyBatch } from "../../src/store/store.js";
import { defineStoreSuite } from "./behaviour.js";
import { createTestDatabase, type TestDatabase } from "./pg-database.js";

defineStoreSuite({
  name: "postgres",
  createDatabase: async () => {
    const db = await createTestDatabase();
    return { open: () => new PostgresStore({ url: db.url }), drop: () => db.drop() };
  },
});

/** Runs `fn`, expecting a StoreError within `ms`; returns it. */
async function storeErrorWithin(ms: number, fn: () => Promise<unknown>): Promise<StoreError> {
  const started = Date.now();
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreError);
  expect(Date.now() - started).toBeLessThan(ms);
  return err as StoreError;
}

describe("postgres store: connection problems", () => {
  it("postgres:// and postgresql:// URLs open the PostgreSQL store, without the password in its location", async () => {
    const a = openStore("postgres://me:s3cret@127.0.0.1:1/x");
    const b = openStore("postgresql://127.0.0.1:1/x");
    expect(a).toBeInstanceOf(PostgresStore);
    expect(b).toBeInstanceOf(PostgresStore);
    expect(a.location).toBe("postgres://me:***@127.0.0.1:1/x");
    const c = openStore("postgres://me@/x?host=/tmp&password=s3cret");
    expect(c.location).toBe("postgres://me@/x?host=%2Ftmp&password=***");
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it("an unreachable port fails quickly with a StoreError naming host:port", async () => {
    const store = openStore("postgres://postgres@127.0.0.1:1/durun");
    const err = await storeErrorWithin(6_000, () => store.listExecutions());
    expect(err.message).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1:1/);
    expect(err.message).toMatch(/check the URL/);
    expect(err.message).toMatch(/start PostgreSQL/);
    // Writes fail the same way.
    await storeErrorWithin(6_000, () => store.lookupCache([{ taskHash: "a", argsHash: "b" }]));
    await store.close();
  });

  it("a server that does not answer fails within the connect timeout, once", async () => {
    // Accepts TCP connections and never says a word, like a hung server or a wrong port behind a proxy.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const store = new PostgresStore({ url: `postgres://postgres@127.0.0.1:${port}/durun`, connectTimeoutMs: 1_000 });
      const started = Date.now();
      const err = await storeErrorWithin(3_000, () => store.getTask("x"));
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(err.message).toMatch(new RegExp(`cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}`));
      // Operations right after the failure fail at once instead of waiting again.
      await storeErrorWithin(200, () => store.write({ ...emptyBatch(), values: [{ hash: "h", text: "1" }] }));
      await store.close();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("a missing database is named, with how to create it", async () => {
    const store = openStore("postgres://postgres@127.0.0.1:5432/durun_test_does_not_exist");
    const err = await storeErrorWithin(6_000, () => store.listExecutions());
    expect(err.message).toMatch(/database "durun_test_does_not_exist" does not exist on PostgreSQL at 127\.0\.0\.1:5432/);
    expect(err.message).toMatch(/createdb/);
    await store.close();
  });

  it("a refused user is named", async () => {
    const store = openStore("postgres://durun_no_such_role:pw@127.0.0.1:5432/postgres");
    const err = await storeErrorWithin(6_000, () => store.listExecutions());
    expect(err.message).toMatch(/refused user "durun_no_such_role"/);
    expect(err.message).not.toMatch(/pw@/);
    await store.close();
  });

  it("a string that is not a URL is refused at once", () => {
    expect(() => openStore("postgres://[bad")).toThrow(StoreError);
  });
});

describe("postgres store: sharing a database", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("connects through a Unix socket URL without a host, as pg does", async () => {
    const name = new URL(db.url).pathname.slice(1);
    const store = openStore(`postgres://postgres@/${name}?host=/var/run/postgresql`);
    expect(await store.listExecutions()).toEqual([]);
    await store.close();
  });

  it("keeps its tables in the schema durun and refuses a durun schema it did not create", async () => {
    const store = new PostgresStore({ url: db.url });
    await store.listExecutions();
    await store.close();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const tables = await client.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'durun' ORDER BY 1");
      expect(tables.rows.map((r) => r.tablename)).toEqual(["arguments", "cache_entries", "calls", "executions", "migrations", "stored_values", "tasks"]);
      const ledger = await client.query<{ version: number }>("SELECT version FROM durun.migrations");
      expect(ledger.rows.map((r) => r.version)).toEqual([1]);
      expect((await client.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).rows[0]).toEqual({ n: 0 });

      // A ledger from a newer durun is refused.
      await client.query("INSERT INTO durun.migrations (version, name) VALUES (999, 'future')");
      const newer = new PostgresStore({ url: db.url });
      const err = await storeErrorWithin(6_000, () => newer.listExecutions());
      expect(err.message).toMatch(/newer durun/);
      await newer.close();

      // A schema "durun" holding other tables is not taken over.
      await client.query("DROP SCHEMA durun CASCADE; CREATE SCHEMA durun; CREATE TABLE durun.other (x int)");
      const other = new PostgresStore({ url: db.url });
      const err2 = await storeErrorWithin(6_000, () => other.listExecutions());
      expect(err2.message).toMatch(/no durun\.migrations ledger/);
      await other.close();
    } finally {
      await client.end();
    }
  });
});
