//! `HttpServerSink`: the browser's page sink (`app::receiver::adapters::ServerSink`) as a native test double. It
//! calls the very same server functions of a receiving site over HTTP with a signed-in client, with the same
//! argument structs and encodings the browser's server-function client uses (JSON for the JSON-input ones,
//! postcard for `receive/import-page`), so the one transfer driver can be run through the browser path's server
//! side without a browser.

use app::api::receive::{CreateLocalTable, FinishTable, ImportPage, PrepareTable, PreparedTable, TableExists};
use appdata::history::{TableStrategy, TransferRecord};
use engine::TableSchema;
use protocol::Strategy;
use protocol::messages::PageFormat;
use protocol::transfer::{PageOutcome, PageSink, Prepared, RawPage, Step};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::TestApp;

/// Pages into the receiving site at `base` (its URL), for its history record `transfer` (from
/// [`begin_transfer`]), through `client` (signed in there), with as many imports in flight as the Receive page
/// (`in_flight`).
#[derive(Clone)]
pub struct HttpServerSink {
    pub client: reqwest::Client,
    pub base: String,
    pub transfer: i64,
    pub in_flight: usize,
}

impl HttpServerSink {
    pub fn new(app: &TestApp, transfer: i64) -> HttpServerSink {
        let in_flight = protocol::transfer::MAX_IN_FLIGHT;
        HttpServerSink { client: app.client.clone(), base: app.url.clone(), transfer, in_flight }
    }

    fn url(&self, endpoint: &str) -> String {
        format!("{}/api/{endpoint}", self.base)
    }

    /// A JSON-input server function, as the browser's client calls it.
    async fn json<A: Serialize, R: DeserializeOwned>(&self, endpoint: &str, args: &A) -> Result<R, String> {
        let response = self
            .client
            .post(self.url(endpoint))
            .header("accept", "application/json")
            .json(args)
            .send()
            .await
            .map_err(|e| format!("{endpoint}: {e}"))?;
        answer(endpoint, response).await
    }
}

/// A server function's answer: the JSON value on 200, else the status and the body as the error.
async fn answer<R: DeserializeOwned>(endpoint: &str, response: reqwest::Response) -> Result<R, String> {
    let status = response.status();
    let text = response.text().await.map_err(|e| format!("{endpoint}: reading the answer: {e}"))?;
    if status != reqwest::StatusCode::OK {
        return Err(format!("{endpoint}: {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{endpoint}: decoding {text:?}: {e}"))
}

impl PageSink for HttpServerSink {
    type Error = String;
    type Handle = u64;

    async fn exists(&self, table: &protocol::TableName) -> Result<bool, String> {
        self.json("receive/table-exists", &TableExists { table: table.to_string() }).await
    }

    async fn create(&self, schema: &TableSchema) -> Result<Vec<String>, String> {
        self.json("receive/create-table", &CreateLocalTable { schema: schema.clone() }).await
    }

    fn in_flight(&self) -> usize {
        self.in_flight
    }

    async fn prepare(
        &self,
        schema: &TableSchema,
        strategy: Strategy,
        copy: bool,
        start: Option<&str>,
    ) -> Result<Prepared<u64>, String> {
        let start = start.map(str::to_owned);
        let args = PrepareTable { transfer: self.transfer, schema: schema.clone(), strategy, copy, start };
        let prepared: PreparedTable = self.json("receive/prepare-table", &args).await?;
        Ok(Prepared { handle: prepared.handle, copy: prepared.copy })
    }

    async fn import(
        &self,
        handle: &u64,
        page: RawPage,
        format: PageFormat,
        step: &Step,
    ) -> Result<PageOutcome, String> {
        // Relayed exactly as the sender compressed it, as the browser does (no checkpoint: the browser has none).
        let endpoint = "receive/import-page";
        let body = ImportPage {
            handle: *handle,
            format,
            rows: page.rows as u64,
            from: step.from.clone(),
            next: step.next.clone(),
            page: serde_bytes::ByteBuf::from(page.bytes),
        };
        let body = postcard::to_allocvec(&body).map_err(|e| format!("{endpoint}: encoding: {e}"))?;
        let response = self
            .client
            .post(self.url(endpoint))
            .header("content-type", "application/x-postcard")
            .header("accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("{endpoint}: {e}"))?;
        answer(endpoint, response).await
    }

    async fn finish(&self, _handle: &u64, schema: &TableSchema) -> Result<Vec<String>, String> {
        self.json("receive/finish-table", &FinishTable { schema: schema.clone() }).await
    }
}

/// Starts a history record on `app` through `receive/begin-transfer`, as the Receive page does.
pub async fn begin_transfer(app: &TestApp, sender: &str, tables: &[TableStrategy]) -> i64 {
    let body = serde_json::json!({ "sender": sender, "tables": tables });
    let response = app.client.post(app.at("/api/receive/begin-transfer")).json(&body).send().await.unwrap();
    answer("receive/begin-transfer", response).await.unwrap()
}

/// Ends a history record through `receive/finish-transfer`.
pub async fn finish_transfer(app: &TestApp, transfer: i64, outcome: &str, message: Option<&str>) {
    let body = serde_json::json!({ "transfer": transfer, "outcome": outcome, "message": message });
    let response = app.client.post(app.at("/api/receive/finish-transfer")).json(&body).send().await.unwrap();
    answer::<()>("receive/finish-transfer", response).await.unwrap()
}

/// The site's history through `receive/history`, newest first.
pub async fn history(app: &TestApp) -> Vec<TransferRecord> {
    let response = app.client.post(app.at("/api/receive/history")).send().await.unwrap();
    answer("receive/history", response).await.unwrap()
}
