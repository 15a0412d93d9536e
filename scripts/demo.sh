#!/usr/bin/env bash
# The main job on the embedded default, from a fresh machine: installs what is missing, builds voc,
# and runs it end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --locked --bin voc
exec target/release/voc tag services/voc-core/tests/fixtures/golden.jsonl
