// CPU accounting for the benchmark (BENCH_CPU=1): the CPU seconds each process group used during one line,
// from /proc/<pid>/stat sampled every 100 ms (a process that ends between samples loses at most that much). The
// groups name what a line's time went to on a machine where every side shares the same cores: the sender and
// receiver servers, the CLI, the PostgreSQL backends by database, Chromium, pg_dump/psql, the rest.

import fs from "node:fs";

const TICKS = 100; // USER_HZ on Linux

interface Seen {
  label: string;
  first: number;
  last: number;
}

function ticks(pid: string): { comm: string; ticks: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the comm.
    return { comm, ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

function cmdline(pid: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
  } catch {
    return "";
  }
}

export class CpuMeter {
  private seen = new Map<string, Seen>();
  private timer?: NodeJS.Timeout;
  private started = 0;

  /** `names`: pid → label for the processes the caller knows (the servers); `databases`: database name
   * prefix → label, for the backends. */
  constructor(private names: Record<number, string>, private databases: Record<string, string>) {}

  /** The label of `pid` or of its nearest known ancestor (a browser's renderer and GPU processes). */
  private known(pid: string): string | undefined {
    let at = pid;
    for (let depth = 0; depth < 6 && at && at !== "0" && at !== "1"; depth++) {
      const known = this.names[Number(at)];
      if (known) return known;
      try {
        const stat = fs.readFileSync(`/proc/${at}/stat`, "utf8");
        at = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1];
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  private label(pid: string, comm: string): string {
    const known = this.known(pid);
    const line = cmdline(pid);
    if (known && /chrom/i.test(comm + line)) {
      // A browser's processes by role: the browser process, its renderers, GPU, network service.
      const type = / --type=(\S+)/.exec(line)?.[1];
      const sub = / --utility-sub-type=(\S+)/.exec(line)?.[1];
      return `${known}: ${sub ? sub.replace(/^.*\./, "") : (type ?? "browser")}`;
    }
    if (known) return known;
    if (line.startsWith("postgres: ")) {
      // "postgres: [15/main: ]<user> <db> <host>(<port>) <state>" for a backend; else an auxiliary process
      // (named after what it does: checkpointer, walwriter, …).
      const parts = line.replace(/^postgres: (\d+\/\w+: )?/, "").split(/\s+/);
      if (parts.length >= 3 && parts[2].includes("(")) {
        const db = parts[1];
        const known = Object.entries(this.databases).find(([prefix]) => db.startsWith(prefix));
        return `pg backend ${known ? known[1] : db}`;
      }
      return `pg ${parts.slice(0, 2).join(" ")}`;
    }
    if (comm === "db-transfer") return "CLI (db-transfer)";
    if (/chrom/i.test(comm) || /chromium/.test(line)) return "chromium";
    if (comm === "psql" || comm === "pg_dump") return comm;
    if (comm === "node" || comm.startsWith("node")) return "node (playwright)";
    return `other (${comm})`;
  }

  private sample(initial: boolean) {
    for (const pid of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      const t = ticks(pid);
      if (!t) continue;
      const s = this.seen.get(pid);
      if (s) s.last = t.ticks;
      else this.seen.set(pid, { label: this.label(pid, t.comm), first: initial ? t.ticks : 0, last: t.ticks });
    }
  }

  start() {
    this.started = Date.now();
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), 100);
  }

  /** CPU seconds per group since `start`, largest first, and the wall seconds. */
  stop(): { wall: number; groups: [string, number][] } {
    clearInterval(this.timer);
    this.sample(false);
    const groups = new Map<string, number>();
    for (const s of this.seen.values()) {
      const used = (s.last - s.first) / TICKS;
      if (used > 0) groups.set(s.label, (groups.get(s.label) ?? 0) + used);
    }
    return {
      wall: (Date.now() - this.started) / 1000,
      groups: [...groups.entries()].sort((a, b) => b[1] - a[1]),
    };
  }
}

export function describeCpu(m: { wall: number; groups: [string, number][] }): string {
  const total = m.groups.reduce((a, [, s]) => a + s, 0);
  return (
    `CPU ${total.toFixed(2)} s over ${m.wall.toFixed(2)} s wall: ` +
    m.groups.filter(([, s]) => s >= 0.02).map(([g, s]) => `${g} ${s.toFixed(2)}`).join(", ")
  );
}
