#!/usr/bin/env bash
# The whole test suite from a fresh machine: system packages, format and lint gates, the schema on
# a current ClickHouse (chdb), then every test (unit, property, golden, CLI, and end to end against
# a real ClickHouse server and a real Kafka-protocol broker that the tests start on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --browser
# A clean clone builds once: incremental caches would only add gigabytes to a disk CI shares.
if [ "${CI:-}" = "true" ]; then
  export CARGO_INCREMENTAL=0
fi
df -h . | tail -1 | awk '{print "disk free before the build: " $4}' >&2
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

# The schema must also run on a current ClickHouse, not only on Debian's 18.16.
venv=target/pyenv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import chdb" 2>/dev/null || "$venv/bin/pip" install -q chdb-core
"$venv/bin/python" scripts/check_sql_current.py
# The scale benchmark's plan runs there too (a small year; figures are not checked, only that it runs).
cargo run --quiet --locked --bin voc -- bench scale --interactions 2000 --rounds 1 --plan target/scale-plan.json
"$venv/bin/python" scripts/bench_scale_current.py target/scale-plan.json > /dev/null

# An independent Kafka-protocol broker implementation, for the test that the streaming path does not
# depend on librdkafka's mock cluster. Built from crates.io once (about 20 minutes on 2 cores).
if ! command -v tansu >/dev/null; then
  echo "installing tansu (an independent Kafka-protocol broker) with cargo; this takes a while once" >&2
  cargo install --locked tansu@0.6.0 --features dynostore
fi

cargo test --workspace --locked
