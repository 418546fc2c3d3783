// A Chromium for the benchmark's browser lines that the test drives without watching its network
// (BENCH_QUIET_BROWSER=1). Playwright sends `Network.enable` to every page it attaches to, and from then on
// Chromium copies every WebSocket frame (binary ones base64-encoded) and every request into DevTools events for
// the test process: for the relay that is each page twice over, CPU a user's browser never spends. Here Chromium
// runs on its own, Playwright connects to it over CDP through a small relay that answers `Network.enable` itself
// (success, nothing enabled), and everything else passes untouched. Locators, clicks and navigation do not need
// network events.

import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "@playwright/test";
import { WebSocket, WebSocketServer } from "ws";
import base from "../playwright.config";

export interface QuietBrowser {
  browser: Browser;
  /** The Chromium process (its CPU is the browser's share of a line). */
  pid: number;
  close(): Promise<void>;
}

async function waitFor<T>(what: string, get: () => T | undefined, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function quietBrowser(): Promise<QuietBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "dbt-bench-chromium-"));
  const args = [
    ...(base.use?.launchOptions?.args ?? []),
    "--headless=new",
    "--remote-debugging-port=0",
    `--user-data-dir=${profile}`,
    "about:blank",
  ];
  const executable = base.use?.launchOptions?.executablePath ?? "/usr/bin/chromium";
  const child: ChildProcess = spawn(executable, args, { stdio: "ignore" });
  const portFile = path.join(profile, "DevToolsActivePort");
  const [port, wsPath] = await waitFor("Chromium's DevTools port", () => {
    try {
      const lines = fs.readFileSync(portFile, "utf8").trim().split("\n");
      return lines.length >= 2 ? lines : undefined;
    } catch {
      return undefined;
    }
  });
  const upstreamUrl = `ws://127.0.0.1:${port}${wsPath}`;

  const relay = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => relay.once("listening", () => r()));
  relay.on("connection", (client) => {
    const upstream = new WebSocket(upstreamUrl, { perMessageDeflate: false, maxPayload: 1 << 30 });
    const queued: string[] = [];
    upstream.on("open", () => {
      for (const m of queued.splice(0)) upstream.send(m);
    });
    upstream.on("message", (data) => client.send(data.toString()));
    upstream.on("close", () => client.close());
    client.on("close", () => upstream.close());
    client.on("message", (data) => {
      const text = data.toString();
      const message = JSON.parse(text);
      if (message.method === "Network.enable") {
        client.send(JSON.stringify({ id: message.id, sessionId: message.sessionId, result: {} }));
        return;
      }
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
      else queued.push(text);
    });
  });
  const relayPort = (relay.address() as { port: number }).port;
  const browser = await chromium.connectOverCDP(`ws://127.0.0.1:${relayPort}${wsPath}`);
  return {
    browser,
    pid: child.pid ?? 0,
    close: async () => {
      await browser.close().catch(() => {});
      relay.close();
      child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 200));
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
