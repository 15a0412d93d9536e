#!/usr/bin/env bash
# The main job on the embedded default, from a fresh machine: installs what is missing, builds voc,
# and runs `voc demo` (a local ClickHouse and an embedded Kafka-protocol broker; no Docker).
# Extra arguments go to `voc demo` (e.g. --keep-running).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --locked --bin voc
exec target/release/voc demo "$@"
