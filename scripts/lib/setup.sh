# Shared by scripts/run and scripts/test: installs what the build needs, idempotently, saying what it does.
# Sourced, not run. Nothing here downloads from GitHub: crates.io, npm and Debian only.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130   # must equal the `wasm-bindgen = "=…"` pin in Cargo.toml
export PATH="$ROOT/end2end/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  say "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_rust_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown Rust target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(cargo-leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION from crates.io (about 20 minutes on 2 cores, once)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION from crates.io (about 8 minutes, once)"
    # Not --locked: a dependency version in its lock file is no longer on the registry.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
}

build_site() {
  say "building the server and the WASM front end (cargo leptos build; the first build takes a few minutes)"
  (cd "$ROOT" && cargo leptos build)
}

# Chromium, the sqlite3 CLI (the Receive tests seed and read SQLite files with it) and the npm packages of
# end2end/ (no browser download).
ensure_e2e_tools() {
  if ! [ -x /usr/bin/chromium ]; then apt_install chromium; fi
  if ! command -v sqlite3 >/dev/null 2>&1; then
    say "the end-to-end tests need the sqlite3 command-line tool"
    apt_install sqlite3
  fi
  if ! [ -d "$ROOT/end2end/node_modules/@playwright/test" ] || ! [ -d "$ROOT/end2end/node_modules/pg" ]; then
    say "installing the end-to-end test packages (npm ci; no browser download)"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}

# wasm-opt (binaryen, pinned in end2end/package.json): `cargo leptos build --release` runs it on the WASM and
# cargo-leptos is built without downloads, so it must be on PATH (end2end/node_modules/.bin, above).
ensure_wasm_opt() {
  if ! command -v wasm-opt >/dev/null 2>&1; then
    say "installing wasm-opt for the release build (binaryen from npm: npm ci in end2end/, no browser download)"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}

# The release build: target/release/db-transfer and target/site (WASM built with the wasm-release profile and
# optimised by wasm-opt). Needs ensure_rust_tools and ensure_wasm_opt first.
build_release_site() {
  say "building the release server and WASM front end (cargo leptos build --release; the first build takes 10+ minutes on 2 cores)"
  (cd "$ROOT" && cargo leptos build --release)
}
