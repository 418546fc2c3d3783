// Playwright fixtures for tests that run their own instances: `spawn` starts instances and stops every one of
// them when the test ends (pass or fail); `adminPage` gives each admin a browser context of their own (session
// cookies are per host, not per port, so two admins of two instances on 127.0.0.1 cannot share one), and
// `transferPair` sets up the whole "sender + receiver, connected" situation the Receive tests start from.

import fs from "node:fs";
import { test as base, type BrowserContext, type Page } from "@playwright/test";
import { spawnInstance, type Engine, type Instance, type SpawnOptions } from "./instance";
import { seedSender, type SenderSeed } from "./seed";
import { connectionCode, enableTransfers, ReceivePage, signIn } from "./ui";

export interface PairOptions {
  /** The receiver's engine; the sender is always PostgreSQL. */
  receiver: Engine;
  /** What the sender holds (see `seedSender`). */
  seed?: SenderSeed;
  /** Tables the receiver holds before connecting (run after it started, so after its migrations). */
  seedReceiver?: (receiver: Instance) => Promise<void>;
  /** How the receiver's admin types the sender's address. Default: `127.0.0.1:PORT/` (no scheme, trailing slash). */
  senderAddress?: (sender: Instance) => string;
}

export interface Pair {
  sender: Instance;
  receiver: Instance;
  /** The sender admin's Send page: it holds the send session; closing it ends the session (after the grace). */
  senderPage: Page;
  /** The receiver admin's Receive page, connected to the sender. */
  receive: ReceivePage;
  code: string;
}

interface Fixtures {
  spawn: (options: SpawnOptions) => Promise<Instance>;
  /** A new browser context signed in as the admin of `instance`, on its overview. */
  adminPage: (instance: Instance) => Promise<Page>;
  transferPair: (options: PairOptions) => Promise<Pair>;
}

export const test = base.extend<Fixtures>({
  spawn: async ({}, use, testInfo) => {
    const instances: Instance[] = [];
    await use(async (options) => {
      const instance = await spawnInstance(options);
      instances.push(instance);
      return instance;
    });
    const failed = testInfo.status !== testInfo.expectedStatus;
    for (const instance of instances) {
      if (failed) {
        console.log(`server log (${instance.engine}, ${instance.url}): ${instance.logFile}`);
        if (fs.existsSync(instance.logFile)) {
          await testInfo.attach(`server ${instance.url} (${instance.engine}).log`, { path: instance.logFile });
        }
      }
    }
    await Promise.all(instances.map((i) => i.stop()));
  },

  // Depends on `spawn` so that its browsers close before the instances stop.
  adminPage: async ({ browser, spawn: _spawn }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async (instance) => {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      await signIn(page, instance.url);
      return page;
    });
    await Promise.all(contexts.map((c) => c.close()));
  },

  transferPair: async ({ spawn, adminPage }, use) => {
    await use(async (options) => {
      const [sender, receiver] = await Promise.all([
        spawn({ engine: "postgres" }),
        spawn({ engine: options.receiver }),
      ]);
      await Promise.all([seedSender(sender, options.seed), options.seedReceiver?.(receiver)]);

      const senderPage = await adminPage(sender);
      await enableTransfers(senderPage, sender.url);
      const code = await connectionCode(senderPage, sender.url);

      const receive = new ReceivePage(await adminPage(receiver), receiver.url);
      await receive.goto();
      const address = options.senderAddress?.(sender) ?? `127.0.0.1:${sender.port}/`;
      await receive.connect(address, code);
      return { sender, receiver, senderPage, receive, code };
    });
  },
});

export { expect } from "@playwright/test";

/** Slows every HTTP request of `page` by `latencyMs` (Chromium's network emulation; WebSockets are not slowed).
 * The Receive page relays each page to its own server with a server function call, so this stretches a bulk
 * transfer of `big_events` to several seconds: long enough to cancel it or to end the sender's session while it
 * runs, instead of racing a transfer that may finish in a second on a fast machine. */
export async function slowRequests(page: Page, latencyMs: number) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: latencyMs,
    downloadThroughput: -1,
    uploadThroughput: -1,
  });
}
