#!/usr/bin/env bash
# Debian packages the tests and benchmarks need, installed only when missing:
#   chromium  - headless browser for the app tests (Playwright drives it; its own browser download is unreachable)
#   wrk       - HTTP load generator for the API benchmarks
#   redis-server - fraud-mlops' online feature store (its tests start a real server)
set -euo pipefail
declare -A needed=([chromium]=chromium [wrk]=wrk [redis-server]=redis-server)  # command -> Debian package
missing=()
for cmd in "${!needed[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needed[$cmd]}")
done
# fonts-noto-color-emoji: the ✅/❌ status marks in browser screenshots (portfolio site, the apps)
command -v fc-list >/dev/null 2>&1 && ! fc-list | grep -qi "Noto Color Emoji" && missing+=(fonts-noto-color-emoji)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "missing ${missing[*]} and neither root nor sudo is available: install the Debian packages ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "Installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
  || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
for cmd in "${!needed[@]}"; do command -v "$cmd" >/dev/null; done
