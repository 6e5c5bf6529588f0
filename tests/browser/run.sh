#!/usr/bin/env bash
# Browser tests: real journeys, axe-core, html-validate and screenshots in headless Chromium
# (Debian's /usr/bin/chromium, driven by playwright-core; nothing downloads a browser).
#
# Builds the debug `talqy` binary, starts it on a fresh SQLite database in a temporary folder
# (mail written as .eml files there, so tests read verification and unsubscribe links), seeds
# drafts and an administrator with the CLI, runs `node --test`, and stops the server.
#
#   bash tests/browser/run.sh            # needs `npm ci` in tests/browser first
#
# Screenshots go to target/browser-screenshots (or $TALQY_SCREENSHOTS); the path is printed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "error: run 'npm ci' in tests/browser first" >&2
  exit 1
fi
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "error: $CHROMIUM not found (apt-get install chromium)" >&2
  exit 1
fi

# `cargo test --no-run` rather than `cargo build`: it reuses what the test suite compiled
# (the same feature set), and builds the binary the integration tests use.
cargo test --locked --no-run >/dev/null 2>&1 || cargo test --locked --no-run
bin="$root/target/debug/talqy"

work="$(mktemp -d "${TMPDIR:-/tmp}/talqy-browser.XXXXXX")"
shots="${TALQY_SCREENSHOTS:-$root/target/browser-screenshots}"
rm -rf "$shots"
mkdir -p "$shots"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "${KEEP_BROWSER_DATA:-}" = "" ]; then rm -rf "$work"; else echo "data kept in $work"; fi
}
trap cleanup EXIT

port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
cat >"$work/talqy.toml" <<EOF
database_url = "sqlite://$work/talqy.db"
bind = "127.0.0.1:$port"
base_url = "http://127.0.0.1:$port"
data_dir = "$work/data"
mail_transport = "file"
EOF
# Only the file above configures this server.
unset DATABASE_URL TALQY_DATABASE_URL TALQY_BIND TALQY_BASE_URL TALQY_DATA_DIR TALQY_MAIL_TRANSPORT
export TALQY_CONFIG="$work/talqy.toml"
export TALQY_LOG="${TALQY_LOG:-warn}"

# One draft per journey (each publishes its own revision) and one for the page audit.
drafts="{"
for name in desktop mobile nojs audit; do
  out="$("$bin" draft import "$here/fixtures/water.md" --kind law \
    --authority "Ministry of Ecology" --title "Law on Drinking Water Quality ($name)")"
  id="$(printf '%s\n' "$out" | sed -n 's/^created draft \([0-9][0-9]*\).*/\1/p')"
  [ -n "$id" ] || { echo "error: draft import printed: $out" >&2; exit 1; }
  "$bin" draft publish "$id" --closes 2099-12-31 >/dev/null
  drafts="$drafts\"$name\":$id,"
done
drafts="${drafts%,}}"
admin_link="$("$bin" create-admin admin@example.org --name "Site Admin" | grep -Eo 'https?://[^ ]+' | head -1)"
[ -n "$admin_link" ] || { echo "error: create-admin printed no link" >&2; exit 1; }

"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null

echo "Screenshots: $shots"
status=0
(
  cd "$here"
  TALQY_URL="http://127.0.0.1:$port" \
    TALQY_MAIL_DIR="$work/data/mail" \
    TALQY_ADMIN_LINK="$admin_link" \
    TALQY_DRAFTS="$drafts" \
    TALQY_STATE="$work/state.json" \
    TALQY_SCREENSHOTS="$shots" \
    node --test --test-concurrency=1 --test-reporter=spec browser.test.mjs
) || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- last server log lines ---" >&2
  tail -n 40 "$work/server.log" >&2 || true
fi
echo "Screenshots: $shots"
exit "$status"
