// Throwaway DB Transfer instances for the tests that need more than the two fixed servers of
// playwright.config.ts: each on a free port, on a database of its own (a fresh PostgreSQL database or a fresh
// SQLite file), with SQL access to that database for seeding and for checking what landed.

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { ADMIN, PASSWORD } from "../playwright.config";

export type Engine = "sqlite" | "postgres";

export interface SpawnOptions {
  engine: Engine;
  /** More `db-transfer serve` flags, e.g. `["--exclude-tables", "x"]`. */
  extraArgs?: string[];
  /** Run on this existing PostgreSQL database (by name, on the test server) instead of a fresh one; it is kept
   * when the instance stops (the benchmark reuses one source across paths). */
  existingDatabase?: string;
}

export interface Instance {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  url: string;
  port: number;
  /** The `--database-url` the server runs on. */
  dbUrl: string;
  engine: Engine;
  /** The server's stdout and stderr. */
  logFile: string;
  /** The server process (for its memory in /proc). */
  pid: number;
  /** Runs one statement on the instance's database; every value as text (PostgreSQL's text output, SQLite's
   * CLI output), NULL as null. */
  query(sql: string): Promise<(string | null)[][]>;
  /** Runs a script of any number of statements (seeding). */
  exec(sql: string): Promise<void>;
  /** Stops the server and throws its database away (the log stays). */
  stop(): Promise<void>;
}

const END2END = path.resolve(__dirname, "..");
const TARGET = path.resolve(END2END, "../target");
/** The server binary; `DBT_E2E_BINARY` points elsewhere (e.g. a release build). */
export const BINARY = process.env.DBT_E2E_BINARY ?? path.join(TARGET, "debug/db-transfer");
const SITE_ROOT = path.join(TARGET, "site");
/** Every spawned instance lives in a directory of its own here; its log is `<name>.log` beside it. */
export const INSTANCES_DIR = path.join(TARGET, "e2e-instances");
const SQLITE3 = process.env.SQLITE3 ?? "sqlite3";
export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const READY_TIMEOUT_MS = 30_000;

/** Starts `db-transfer serve` on a free port and a fresh database; resolves once `GET /login` answers 200. */
export async function spawnInstance(options: SpawnOptions): Promise<Instance> {
  if (!fs.existsSync(BINARY)) {
    throw new Error(`${BINARY} does not exist: build it first (cargo leptos build, or ./scripts/test)`);
  }
  const name = `dbt_e2e_${randomBytes(6).toString("hex")}`;
  const dir = path.join(INSTANCES_DIR, name);
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(INSTANCES_DIR, `${name}.log`);

  const db = options.existingDatabase
    ? openPostgresDatabase(options.existingDatabase, async () => {})
    : options.engine === "postgres"
      ? await createPostgresDatabase(name)
      : sqliteDatabase(dir);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    "serve",
    "--addr", `127.0.0.1:${port}`,
    "--database-url", db.url,
    "--site-root", SITE_ROOT,
    "--send-grace-secs", "1",
    ...(options.extraArgs ?? []),
  ];
  const log = fs.openSync(logFile, "a");
  fs.writeSync(log, `$ ${BINARY} ${args.join(" ")}\n`);
  const child = spawn(BINARY, args, {
    cwd: END2END,
    stdio: ["ignore", log, log],
    env: { ...process.env, DBT_ADMIN_USERNAME: ADMIN, DBT_ADMIN_PASSWORD: PASSWORD, RUST_LOG: "info" },
  });
  fs.closeSync(log);
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => resolve(`exited (code ${code}, signal ${signal})`));
    child.once("error", (e) => resolve(`failed to start (${e.message})`));
  });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await kill(child, exited);
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitForLogin(url, exited);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n  server log: ${logFile}\n${tail(logFile)}`);
  }
  return { url, port, dbUrl: db.url, engine: options.engine, logFile, pid: child.pid ?? 0, query: db.query, exec: db.exec, stop };
}

export interface Database {
  url: string;
  query(sql: string): Promise<(string | null)[][]>;
  exec(sql: string): Promise<void>;
  drop(): Promise<void>;
}

// ---- PostgreSQL -------------------------------------------------------------------------------------------

/** Every value comes back as PostgreSQL's text output, exactly as `value::text` would give it. */
const TEXT_ONLY = { getTypeParser: () => (value: string) => value };

export async function withAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function createPostgresDatabase(name: string): Promise<Database> {
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
  return openPostgresDatabase(name, () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)));
}

/** A database on the test server by name; `remove` runs when it is dropped. */
export function openPostgresDatabase(name: string, remove: () => Promise<unknown>): Database {
  const u = new URL(ADMIN_DATABASE_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  let client: pg.Client | undefined;
  const connected = async () => {
    if (!client) {
      client = new pg.Client({ connectionString: url, types: TEXT_ONLY });
      await client.connect();
    }
    return client;
  };
  return {
    url,
    async query(sql) {
      const c = await connected();
      const result = await c.query({ text: sql, rowMode: "array", types: TEXT_ONLY });
      return result.rows as (string | null)[][];
    },
    async exec(sql) {
      const c = await connected();
      await c.query(sql); // the simple protocol: several statements in one go
    },
    async drop() {
      await client?.end().catch(() => {});
      client = undefined;
      await remove();
    },
  };
}

// ---- SQLite -----------------------------------------------------------------------------------------------

// The sqlite3 CLI in ASCII mode: fields end with 0x1F, records with 0x1E (so values may hold newlines), and NULL
// prints as a marker no real value holds.
const FIELD = "\x1f";
const RECORD = "\x1e";
const NULL_MARK = "\x01NULL\x01";

function sqliteDatabase(dir: string): Database {
  const file = path.join(dir, "db.sqlite");
  const base = ["-bail", "-cmd", ".timeout 10000"];
  return {
    url: `sqlite://${file}`,
    async query(sql) {
      const out = await run(SQLITE3, [...base, "-ascii", "-nullvalue", NULL_MARK, file, sql]);
      const records = out.split(RECORD);
      records.pop(); // after the last separator
      return records.map((r) => r.split(FIELD).map((v) => (v === NULL_MARK ? null : v)));
    },
    async exec(sql) {
      await run(SQLITE3, [...base, file], sql);
    },
    async drop() {},
  };
}

// ---- Processes --------------------------------------------------------------------------------------------

/** Runs a command; resolves with its stdout, rejects with its stderr when it fails. */
function run(command: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (d) => out.push(d));
    child.stderr!.on("data", (d) => err.push(d));
    child.on("error", (e) => reject(new Error(`${command}: ${e.message}`)));
    child.on("close", (code) => {
      const stderr = Buffer.concat(err).toString("utf8").trim();
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else reject(new Error(`${command} failed (exit ${code}): ${stderr}\n  SQL: ${args[args.length - 1]}`));
    });
    if (input !== undefined) {
      child.stdin!.on("error", () => {}); // the exit status tells what went wrong
      child.stdin!.end(input);
    }
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForLogin(url: string, exited: Promise<string>) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let gone: string | undefined;
  exited.then((how) => (gone = how));
  let last = "no answer";
  while (Date.now() < deadline) {
    if (gone) throw new Error(`the server at ${url} ${gone} before it answered`);
    try {
      const response = await fetch(`${url}/login`, { redirect: "manual", signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return;
      last = `status ${response.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`GET ${url}/login did not answer 200 within ${READY_TIMEOUT_MS / 1000} s (last: ${last})`);
}

async function kill(child: ChildProcess, exited: Promise<string>) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** The end of a log file, indented, for error messages. */
export function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).map((l) => `    ${l}`).join("\n");
  } catch {
    return "    (no log)";
  }
}
