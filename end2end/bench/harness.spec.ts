// The benchmark harness (issue #7), run by `./scripts/bench`, never by the test command: one PostgreSQL source
// table of BENCH_ROWS rows (bigint key, int, float8, text, timestamptz, numeric, jsonb, bool, uuid, bytea), then,
// in the same run, every path a user would compare: `pg_dump | psql`, a staged INSERT … ON CONFLICT, the CLI
// pull, the browser-relayed transfer through real Chromium, overwrite / merge / skip into a full table, and
// PostgreSQL → SQLite. Each path checks that the target equals the source, and reports rows/s, the ratio to the
// baseline and the peak RSS of the server processes. BENCH_WRITE=path writes the table as Markdown.

import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "../support/fixtures";
import { BINARY, openPostgresDatabase, withAdmin, type Database, type Instance } from "../support/instance";
import { connectionCode, enableTransfers, ReceivePage } from "../support/ui";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const PAGE_ROWS = Number(process.env.BENCH_PAGE_ROWS ?? 20000);
const DDL = `CREATE TABLE t (id bigint PRIMARY KEY, i int, f float8, s text, ts timestamptz, n numeric(12,2), j jsonb,
  b bool, u uuid, by bytea)`;
/** A fingerprint of the whole table that any difference in any row changes. */
const FINGERPRINT = "SELECT count(*)::text, coalesce(sum(hashtext(t::text)::bigint), 0)::text FROM t";

test.describe.configure({ timeout: 6 * 60 * 60 * 1000 });

interface Row {
  path: string;
  seconds: number;
  sender?: number;
  receiver?: number;
  equal: boolean;
}

/** Peak resident memory (VmHWM) of a live process, in MB. */
function peakRss(pid: number): number | undefined {
  try {
    const line = fs.readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmHWM:"));
    return line ? Number(line.split(/\s+/)[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a command to its end, sampling its peak RSS (the CLI is the receiver on its paths). */
function runMeasured(command: string, args: string[]): Promise<{ seconds: number; rss?: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let rss: number | undefined;
    const sample = setInterval(() => {
      const now = child.pid ? peakRss(child.pid) : undefined;
      if (now !== undefined) rss = Math.max(rss ?? 0, now);
    }, 50);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => {
      clearInterval(sample);
      if (code === 0) resolve({ seconds: (Date.now() - started) / 1000, rss, stdout });
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}\n${stderr}\n${stdout.slice(-2000)}`));
    });
  });
}

async function freshDatabase(prefix: string): Promise<Database> {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
  return openPostgresDatabase(name, () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)));
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const pg = execFileSync("psql", ["--version"]).toString().trim();
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}; ${pg}`;
}

test("benchmark: every path against pg_dump | psql, same run", async ({ spawn: spawnInstance, adminPage }) => {
  const rows: Row[] = [];
  const source = await freshDatabase("dbt_bench_src");
  const targets: Database[] = [];
  try {
    await source.exec(DDL);
    await source.exec(`INSERT INTO t SELECT g, g % 1000, g * 1.5, 'row ' || g, timestamptz '2026-01-01' - g * interval '1 second',
      g / 7.0, jsonb_build_object('k', g, 'tags', jsonb_build_array('a', g % 5)), g % 2 = 0, md5(g::text)::uuid,
      decode(md5(g::text), 'hex') FROM generate_series(1, ${ROWS}) g; ANALYZE t`);
    const [want] = await source.query(FINGERPRINT);
    const sourceName = new URL(source.url).pathname.slice(1);
    const equal = async (db: Database) => JSON.stringify((await db.query(FINGERPRINT))[0]) === JSON.stringify(want);
    const target = async () => {
      const db = await freshDatabase("dbt_bench_dst");
      targets.push(db);
      await db.exec(DDL);
      return db;
    };

    // 1. The baseline: pg_dump --data-only | psql into a pre-created empty table.
    const base = await target();
    const t0 = Date.now();
    execFileSync("bash", ["-c", `pg_dump --data-only -t t '${source.url}' | psql -q -X '${base.url}'`]);
    const baseline = (Date.now() - t0) / 1000;
    rows.push({ path: "baseline: pg_dump --data-only \\| psql (empty table)", seconds: baseline, equal: await equal(base) });

    // A staged upsert, the plain-SQL way to overwrite into a full table (the reference for overwrite/skip).
    const staged = async (conflict: string) => {
      const t = Date.now();
      execFileSync("bash", ["-c", `psql -q -X -v ON_ERROR_STOP=1 '${base.url}' <<'SQL'
CREATE TEMP TABLE stage (LIKE t);
\\copy stage FROM PROGRAM 'psql -X -q "${source.url}" -c "\\\\copy t TO STDOUT"'
INSERT INTO t SELECT * FROM stage ON CONFLICT (id) ${conflict};
SQL`]);
      return (Date.now() - t) / 1000;
    };
    rows.push({
      path: "reference: staged INSERT … ON CONFLICT DO UPDATE (full table)",
      seconds: await staged("DO UPDATE SET i = excluded.i, f = excluded.f, s = excluded.s, ts = excluded.ts, n = excluded.n, j = excluded.j, b = excluded.b, u = excluded.u, by = excluded.by"),
      equal: await equal(base),
    });
    rows.push({ path: "reference: staged INSERT … ON CONFLICT DO NOTHING (full table)", seconds: await staged("DO NOTHING"), equal: await equal(base) });

    // The sender: one instance on the source for all paths; a code per path from its Send page.
    const sender = await spawnInstance({ engine: "postgres", existingDatabase: sourceName });
    const senderPage = await adminPage(sender);
    await enableTransfers(senderPage, sender.url);
    const pull = async (label: string, db: string, extra: string[]) => {
      const code = await connectionCode(senderPage, sender.url);
      const run = await runMeasured(BINARY, [
        "pull", "--from", sender.url, "--code", code, "--database-url", db, "--tables", "t",
        "--batch-size", String(PAGE_ROWS), "--json", ...extra,
      ]);
      const events = run.stdout.trim().split("\n").map((line) => JSON.parse(line));
      const summary = events[events.length - 1];
      expect(summary.ok, `${label}: ${run.stdout.slice(-500)}`).toBe(true);
      // Where the pull's time went (the client's own measure): importing here vs waiting for the sender.
      const finished = events.find((e) => e.event === "finished")?.result;
      if (finished) {
        const binary = (finished.notes as string[]).some((n) => n.includes("binary COPY"));
        profile.push(
          `- ${label}: ${finished.seconds.toFixed(2)} s in the client, ${finished.import_seconds.toFixed(2)} s importing, ` +
            `${finished.wait_seconds.toFixed(2)} s waiting for the sender's next page; ${finished.pages} pages` +
            `${binary ? ", binary COPY" : ", ordinary pages"}`,
        );
      }
      return run;
    };
    const profile: string[] = [];

    // 2. CLI pull into an empty table (skip).
    const cliTarget = await target();
    const cli = await pull("cli", cliTarget.url, ["--strategy", "skip"]);
    rows.push({ path: "CLI pull, empty table (skip)", seconds: cli.seconds, sender: peakRss(sender.pid), receiver: cli.rss, equal: await equal(cliTarget) });

    // 4. Into the now full table: overwrite, merge, skip.
    for (const strategy of ["overwrite", "merge", "skip"]) {
      const run = await pull(strategy, cliTarget.url, ["--strategy", strategy]);
      rows.push({ path: `CLI pull, full table (${strategy})`, seconds: run.seconds, sender: peakRss(sender.pid), receiver: run.rss, equal: await equal(cliTarget) });
    }

    // 5. PostgreSQL → SQLite (the table is created there).
    const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), "dbt-bench-"));
    const sqliteUrl = `sqlite://${sqliteDir}/bench.sqlite`;
    const toSqlite = await pull("sqlite", sqliteUrl, ["--strategy", "skip", "--create-missing"]);
    const sqliteCount = execFileSync("sqlite3", [`${sqliteDir}/bench.sqlite`, "SELECT count(*), sum(id), sum(length(s)) FROM t"]).toString().trim();
    const [srcCount] = await source.query("SELECT count(*)::text || '|' || sum(id)::text || '|' || sum(length(s))::text FROM t");
    rows.push({ path: "CLI pull, PostgreSQL → SQLite (created)", seconds: toSqlite.seconds, sender: peakRss(sender.pid), receiver: toSqlite.rss, equal: sqliteCount === srcCount[0] });
    fs.rmSync(sqliteDir, { recursive: true, force: true });

    // 3. Browser-relayed, through headless Chromium: a receiver instance on an empty PostgreSQL table.
    const relayTarget = await target();
    const receiver = await spawnInstance({ engine: "postgres", existingDatabase: new URL(relayTarget.url).pathname.slice(1) });
    const receive = new ReceivePage(await adminPage(receiver), receiver.url);
    await receive.goto();
    await receive.connect(sender.url, await connectionCode(senderPage, sender.url));
    await receive.bulkTab();
    await receive.pageRows.fill(String(PAGE_ROWS));
    await receive.pageRows.blur();
    await receive.choose({ t: "skip" });
    const t1 = Date.now();
    await receive.start();
    await receive.expectSummary("Transfer finished", 6 * 60 * 60 * 1000);
    rows.push({ path: "browser relay (Chromium), empty table (skip)", seconds: (Date.now() - t1) / 1000, sender: peakRss(sender.pid), receiver: peakRss(receiver.pid), equal: await equal(relayTarget) });

    const table = [
      `| path | seconds | rows/s | × baseline | sender RSS MB | receiver RSS MB | target = source |`,
      `|---|---:|---:|---:|---:|---:|:---:|`,
      ...rows.map((r) =>
        `| ${r.path} | ${r.seconds.toFixed(2)} | ${Math.round(ROWS / r.seconds).toLocaleString("en")} | ` +
        `${(baseline / r.seconds).toFixed(2)} | ${r.sender?.toFixed(0) ?? "—"} | ${r.receiver?.toFixed(0) ?? "—"} | ${r.equal ? "yes" : "NO"} |`,
      ),
    ].join("\n");
    const report =
      `${ROWS.toLocaleString("en")} rows, pages of ${PAGE_ROWS}, binary ${BINARY}\n${machine()}\n\n${table}\n\n` +
      `CLI profile (from each pull's result):\n${profile.join("\n")}\n`;
    console.log(`\n${report}`);
    if (process.env.BENCH_WRITE) {
      fs.mkdirSync(path.dirname(process.env.BENCH_WRITE), { recursive: true });
      fs.appendFileSync(process.env.BENCH_WRITE, `\n## ${new Date().toISOString().slice(0, 16)} UTC — ${report}`);
    }
    for (const r of rows) expect(r.equal, `${r.path}: the target equals the source`).toBe(true);
  } finally {
    for (const t of targets) await t.drop();
    await source.drop();
  }
});
