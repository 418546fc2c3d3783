// The browser side of the flows the Receive tests repeat: signing in, the Send page's code, and the Receive page
// (a page object over the element ids of its UI contract).

import { expect, type Locator, type Page } from "@playwright/test";
import { ADMIN, PASSWORD } from "../playwright.config";

export type Strategy = "skip" | "overwrite" | "merge" | "append";
export type Status = "new" | "different" | "same";

/** The page's WASM has hydrated: only then do clicks run client code. */
export async function hydrated(page: Page) {
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
}

/** Signs in through the login form of the instance at `url`; ends on its overview. */
export async function signIn(page: Page, url: string) {
  await page.goto(`${url}/login`);
  await hydrated(page);
  await page.getByLabel("Username").fill(ADMIN);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${url}/admin/db-transfer`);
}

/** Switches transfers on (they are off on a new install), through the overview's server function. */
export async function enableTransfers(page: Page, url: string) {
  const response = await page.request.post(`${url}/api/set-transfers-enabled`, { form: { enabled: "true" } });
  expect(response.status(), await response.text()).toBe(200);
}

/** Opens the Send page (which holds the send session while it stays open) and returns a fresh code. */
export async function connectionCode(page: Page, url: string): Promise<string> {
  await page.goto(`${url}/admin/db-transfer/send`);
  await hydrated(page);
  await expect(page.locator("#live-status")).toContainText("Connected");
  await page.locator("#generate-code").click();
  await expect(page.locator("#code")).toHaveText(/^\s*[23456789A-HJKMNP-Z]{8}\s*$/);
  return (await page.locator("#code").textContent())!.trim();
}

/** The first integer of a `DONE / TOTAL` cell. */
export function doneOf(text: string | null): number {
  const m = /^\s*([\d,]+)/.exec(text ?? "");
  return m ? Number(m[1].replace(/,/g, "")) : NaN;
}

export interface ProgressExpectation {
  state?: "waiting" | "running" | "done" | "cancelled" | "failed";
  rows?: string;
  created?: number;
  updated?: number;
  skipped?: number;
  errors?: number;
}

export interface PreviewFilter {
  kind: "all" | "key_range" | "keys";
  from?: string | number;
  to?: string | number;
  keys?: (string | number)[];
}

/** `/admin/db-transfer/receive` of one receiving instance. */
export class ReceivePage {
  constructor(readonly page: Page, readonly url: string) {}

  // ---- connecting ----
  get senderUrl(): Locator {
    return this.page.locator("#sender-url");
  }
  get code(): Locator {
    return this.page.locator("#connection-code");
  }
  get connectButton(): Locator {
    return this.page.locator("#connect");
  }
  get status(): Locator {
    return this.page.locator("#connection-status");
  }
  get connectError(): Locator {
    return this.page.locator("#connect-error");
  }
  get disconnectButton(): Locator {
    return this.page.locator("#disconnect");
  }

  async goto() {
    await this.page.goto(`${this.url}/admin/db-transfer/receive`);
    await hydrated(this.page);
  }

  /** Fills the sender's address (as typed by a person: any accepted form) and the code, and clicks Connect. */
  async submit(senderAddress: string, code: string) {
    await this.senderUrl.fill(senderAddress);
    await this.code.fill(code);
    await this.connectButton.click();
  }

  async connect(senderAddress: string, code: string) {
    await this.submit(senderAddress, code);
    await expect(this.status).toContainText("Connected to", { timeout: 15_000 });
    await expect(this.connectError).toBeHidden();
  }

  // ---- the Bulk tab ----
  get compare(): Locator {
    return this.page.locator("table#compare");
  }
  get tableRows(): Locator {
    return this.compare.locator("tr.table-row");
  }
  get createMissing(): Locator {
    return this.page.locator("input#create-missing");
  }
  get pageRows(): Locator {
    return this.page.locator("input#page-rows");
  }
  get defaultStrategy(): Locator {
    return this.page.locator("select#default-strategy");
  }
  get startButton(): Locator {
    return this.page.locator("#start");
  }
  get cancelButton(): Locator {
    return this.page.locator("#cancel");
  }

  async bulkTab() {
    await this.page.locator("#tab-bulk").click();
    await expect(this.compare).toBeVisible();
  }

  row(table: string): Locator {
    return this.compare.locator(`tr.table-row[data-table="${table}"]`);
  }

  pick(table: string): Locator {
    return this.row(table).locator("input.pick");
  }

  strategy(table: string): Locator {
    return this.row(table).locator("select.strategy");
  }

  /** Waits for the comparison to settle on exactly these tables with these statuses (comparisons may take a
   * moment: checksums over whole tables). */
  async expectStatuses(expected: Record<string, Status>) {
    await expect(this.tableRows).toHaveCount(Object.keys(expected).length, { timeout: 30_000 });
    for (const [table, status] of Object.entries(expected)) {
      await expect(this.row(table).locator("td.status"), `status of ${table}`).toHaveText(status, { timeout: 30_000 });
    }
  }

  async expectPicked(picked: string[], all: string[]) {
    for (const table of all) {
      if (picked.includes(table)) await expect(this.pick(table), `${table} picked`).toBeChecked();
      else await expect(this.pick(table), `${table} not picked`).not.toBeChecked();
    }
  }

  /** Picks exactly these tables, each with its strategy. */
  async choose(strategies: Record<string, Strategy>) {
    await this.page.locator("#select-none").click();
    for (const [table, strategy] of Object.entries(strategies)) {
      await this.pick(table).check();
      await this.strategy(table).selectOption(strategy);
      await expect(this.strategy(table)).toHaveValue(strategy);
    }
  }

  /** Starts the bulk transfer of the picked tables. */
  async start() {
    await this.startButton.click();
  }

  // ---- the shared progress panel ----
  progress(table: string): Locator {
    return this.page.locator(`table#progress tr.progress-row[data-table="${table}"]`);
  }

  get summary(): Locator {

    return this.page.locator("#transfer-summary");

  }
  get transferError(): Locator {
    return this.page.locator("#transfer-error");
  }

  /** Waits for the transfer's end (`Transfer finished`, `Transfer cancelled`, `Transfer failed`). */
  async expectSummary(text: string, timeout = 90_000) {
    await expect(this.summary).toContainText(text, { timeout });
  }

  async expectProgress(table: string, expected: ProgressExpectation, timeout?: number) {
    const row = this.progress(table);
    await expect(row, `progress row of ${table}`).toBeVisible({ timeout });
    const cells: [keyof ProgressExpectation, string][] = [
      ["state", "td.state"], ["rows", "td.rows"], ["created", "td.created"],
      ["updated", "td.updated"], ["skipped", "td.skipped"], ["errors", "td.errors"],
    ];
    for (const [key, selector] of cells) {
      if (expected[key] !== undefined) {
        await expect(row.locator(selector), `${key} of ${table}`).toHaveText(String(expected[key]), { timeout });
      }
    }
  }

  /** The DONE figure of the table's progress row. */
  async done(table: string): Promise<number> {
    return doneOf(await this.progress(table).locator("td.rows").textContent());
  }

  /** Polls (every 50 ms) until the table's progress row shows at least `rows` done. */
  async waitForDone(table: string, rows: number, timeout = 60_000) {
    await expect
      .poll(() => this.done(table), { message: `rows done of ${table}`, timeout, intervals: [50] })
      .toBeGreaterThanOrEqual(rows);
  }

  // ---- the Details tab ----
  get detailTable(): Locator {
    return this.page.locator("select#detail-table");
  }
  get schemaCompare(): Locator {
    return this.page.locator("table#schema-compare");
  }
  get columnRows(): Locator {
    return this.schemaCompare.locator("tr.column-row");
  }
  get localMissing(): Locator {
    return this.page.locator("#local-missing");
  }
  get createTableButton(): Locator {
    return this.page.locator("#create-table");
  }
  /** The Details tab's structure view: what creating a missing table here will run. */
  get structure(): Locator {
    return this.page.locator("#structure-ddl");
  }

  get createResult(): Locator {
    return this.page.locator("#create-result");
  }
  get filterKind(): Locator {
    return this.page.locator("select#filter-kind");
  }
  get filterFrom(): Locator {
    return this.page.locator("input#filter-from");
  }
  get filterTo(): Locator {
    return this.page.locator("input#filter-to");
  }
  get filterKeys(): Locator {
    return this.page.locator("textarea#filter-keys");
  }
  get previewRows(): Locator {
    return this.page.locator("input#preview-rows");
  }
  get previewButton(): Locator {
    return this.page.locator("#preview");
  }
  get previewTable(): Locator {
    return this.page.locator("table#preview-table");
  }
  /** The first cell of every preview row: the first column's value (the key, for the fixture's tables). */
  get previewKeys(): Locator {
    return this.previewTable.locator("tr.preview-row td:first-child");
  }
  get previewNext(): Locator {
    return this.page.locator("#preview-next");
  }
  get previewPrev(): Locator {
    return this.page.locator("#preview-prev");
  }
  get previewPage(): Locator {
    return this.page.locator("#preview-page");
  }
  get detailStrategy(): Locator {
    return this.page.locator("select#detail-strategy");
  }
  get transferOneButton(): Locator {
    return this.page.locator("#transfer-one");
  }

  /** Opens the Details tab on one of the sender's tables. */
  async details(table: string) {
    await this.page.locator("#tab-details").click();
    await expect(this.detailTable.locator(`option[value="${table}"]`)).toHaveCount(1, { timeout: 30_000 });
    await this.detailTable.selectOption(table);
    await expect(this.detailTable).toHaveValue(table);
  }

  columnRow(column: string): Locator {
    return this.schemaCompare.locator(`tr.column-row[data-column="${column}"]`);
  }

  /** Sets the row filter of the Details tab (used by both the preview and the single-table transfer). */
  async setFilter(filter: PreviewFilter) {
    await this.filterKind.selectOption(filter.kind);
    if (filter.kind === "key_range") {
      await this.filterFrom.fill(filter.from === undefined ? "" : String(filter.from));
      await this.filterTo.fill(filter.to === undefined ? "" : String(filter.to));
    } else if (filter.kind === "keys") {
      await this.filterKeys.fill((filter.keys ?? []).join("\n"));
    }
  }

  /** Sets the filter, clicks Preview and waits for exactly these first-column values. */
  async preview(filter: PreviewFilter, expectedKeys: (string | number)[]) {
    await this.setFilter(filter);
    await this.previewButton.click();
    await this.expectPreviewKeys(expectedKeys);
  }

  async expectPreviewKeys(keys: (string | number)[]) {
    await expect(this.previewKeys).toHaveText(keys.map(String));
  }
}

/** `[from, from+1, …, to]`. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
