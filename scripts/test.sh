#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh Debian
# machine, then runs the whole suite (unit, property, integration, interop).
#  - Debian packages for the interop peers: python3-websockets, chromium, openssl,
#    redis-server + redis-tools (the Redis engine tests start their own servers)
#    (installed with apt-get when missing; needs root or sudo)
#  - npm packages: npm ci (also builds, through the "prepare" script)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(python3-websockets chromium openssl ca-certificates redis-server redis-tools)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "warning: apt-get not found; interop tests need: ${missing[*]}" >&2
  fi
fi

npm ci --no-audit --no-fund
npm test
