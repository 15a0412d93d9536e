#!/usr/bin/env bash
# The whole test suite from a fresh machine: system packages, format and lint gates, then every
# test (unit, property, golden, CLI, and end-to-end against a real ClickHouse and Kafka-protocol
# broker that the tests start on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
