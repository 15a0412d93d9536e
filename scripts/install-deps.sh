#!/usr/bin/env bash
# Installs the system packages voc needs, if missing (Debian/Ubuntu):
#   mecab-ipadic                        IPADIC sources; voc builds its lindera dictionary from them
#   clickhouse-server clickhouse-client a real ClickHouse for the local pipeline and the tests
#   pkg-config libssl-dev               librdkafka's TLS/SASL support (built from source by rdkafka)
# With --browser (the test suite): also
#   chromium chromium-driver            a real headless browser for the console's browser test
#   fonts-ipafont-gothic                Japanese glyphs for its screenshots
#   zookeeper                           coordination for the ClickHouse cluster tests
set -euo pipefail

packages=(mecab-ipadic clickhouse-server clickhouse-client pkg-config libssl-dev)
if [ "${1:-}" = "--browser" ]; then
  packages+=(chromium chromium-driver fonts-ipafont-gothic zookeeper)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  echo "error: Rust (cargo) is required; install the stable toolchain with rustup" >&2
  exit 1
fi
