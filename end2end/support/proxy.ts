// A WebSocket relay between the Receive page and a real sender that can misbehave on purpose, for the tests of
// what the browser does with a sender it cannot trust or that refuses something: every frame is passed on in
// order, except what the options change. The browser types the relay's address instead of the sender's.

import { WebSocket, WebSocketServer, type RawData } from "ws";
import { freePort, type Instance } from "./instance";

/** A `fetch` request as the receiver sent it (docs/protocol.md). */
export interface FetchRequest {
  id: number;
  table: string;
  format: string;
  cursor: string | null;
}

export interface RelayOptions {
  /** Answers this fetch with a `bad_request` error instead of passing it on (the reason is the error's message). */
  refuseFetch?: (fetch: FetchRequest) => string | undefined;
  /** Rewrites the `rows` of a page header (the binary frame after it is passed on untouched). */
  pageRows?: (rows: number) => number;
}

export interface Relay {
  /** What the receiver's admin types: `127.0.0.1:PORT/`. */
  address: string;
  /** The fetches refused so far. */
  refused: FetchRequest[];
  close(): Promise<void>;
}

/** Relays every WebSocket connection made to a free local port to `sender`'s `/db-transfer/websocket`. */
export async function startRelay(sender: Instance, options: RelayOptions): Promise<Relay> {
  const port = await freePort();
  const refused: FetchRequest[] = [];
  const server = new WebSocketServer({
    host: "127.0.0.1",
    port,
    // The sender picks `dbt.v1`; the relay says the same to the browser.
    handleProtocols: (protocols) => (protocols.has("dbt.v1") ? "dbt.v1" : false),
  });
  server.on("connection", (browser, request) => {
    const protocols = (request.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim()).filter(Boolean);
    const headers: Record<string, string> = {};
    if (request.headers.origin) headers.origin = request.headers.origin;
    const upstream = new WebSocket(`ws://127.0.0.1:${sender.port}${request.url ?? "/"}`, protocols, { headers });
    // What the browser says before the sender's side is open waits here, in order.
    const early: [RawData, boolean][] = [];

    const toSender = (data: RawData, binary: boolean) => {
      if (!binary) {
        const message = JSON.parse(data.toString());
        if (message.type === "request" && message.op?.name === "fetch") {
          const fetch: FetchRequest = {
            id: message.id,
            table: message.op.table,
            format: message.op.format ?? "binary",
            cursor: message.op.cursor ?? null,
          };
          const why = options.refuseFetch?.(fetch);
          if (why !== undefined) {
            refused.push(fetch);
            browser.send(JSON.stringify({ type: "error", id: fetch.id, code: "bad_request", message: why }));
            return;
          }
        }
      }
      upstream.send(data, { binary });
    };
    browser.on("message", (data, binary) => {
      if (upstream.readyState === WebSocket.OPEN) toSender(data, binary);
      else early.push([data, binary]);
    });
    upstream.on("open", () => {
      for (const [data, binary] of early.splice(0)) toSender(data, binary);
    });
    upstream.on("message", (data, binary) => {
      if (!binary && options.pageRows) {
        const message = JSON.parse(data.toString());
        if (message.type === "page") {
          message.rows = options.pageRows(message.rows);
          browser.send(JSON.stringify(message));
          return;
        }
      }
      browser.send(data, { binary });
    });
    // Close codes 1005/1006 cannot be sent: they say "no code", "no close frame".
    const sendable = (code: number) => (code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000);
    upstream.on("close", (code, reason) => browser.close(sendable(code), reason));
    browser.on("close", (code, reason) => {
      if (upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
      else upstream.close(sendable(code), reason);
    });
    upstream.on("error", () => browser.terminate());
    browser.on("error", () => upstream.terminate());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  return {
    address: `127.0.0.1:${port}/`,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}
