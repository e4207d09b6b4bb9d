#!/usr/bin/env bash
# Makes a fresh clone ready to run: installs the npm packages (npm ci, from the lockfile) and,
# when Dawn finds no WebGPU adapter, Mesa's lavapipe (a CPU Vulkan driver) on Debian/Ubuntu
# as root or with sudo; elsewhere it prints the command to run. Idempotent: a second run only
# checks. Used by `npm run demo` and `npm test` (and so by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'bootstrap: %s\n' "$*" >&2; }

# 1. npm packages (bun itself comes from npm, so Node and npm are all a machine needs).
if ! node_modules/.bin/bun --version >/dev/null 2>&1 || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing the npm packages from package-lock.json (npm ci): bun, webgpu (Dawn), tiktoken, yaml, yargs"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error  # no package's script runs...
  # ...except bun's: its bin/bun.exe is a stub until install.js moves in the binary from the optional
  # package @oven/bun-<os>-<arch> (already installed by npm ci, so nothing is downloaded).
  (cd node_modules/bun && node install.js)
fi
BUN=node_modules/.bin/bun

# 2. A WebGPU adapter. `longrl info` exits 1 with "no WebGPU adapter" when Dawn finds none.
probe() { "$BUN" src/cli.ts info --json >/dev/null 2>/tmp/longrl-probe.$$ && return 0; return 1; }
if [ -z "${LONGRL_FORCE_LAVAPIPE_INSTALL:-}" ] && probe; then rm -f /tmp/longrl-probe.$$; exit 0; fi
if [ -s /tmp/longrl-probe.$$ ] && ! grep -q "no WebGPU adapter\|no suitable backends" /tmp/longrl-probe.$$ && [ -z "${LONGRL_FORCE_LAVAPIPE_INSTALL:-}" ]; then
  say "longrl info failed for a reason other than a missing adapter:"; cat /tmp/longrl-probe.$$ >&2; rm -f /tmp/longrl-probe.$$; exit 1
fi
rm -f /tmp/longrl-probe.$$

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="none"; fi
fi
. /etc/os-release 2>/dev/null || true
BACKPORTS=""
if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then BACKPORTS=bookworm-backports; fi
INSTALL_CMD="apt-get update && apt-get install -y mesa-vulkan-drivers libvulkan1"
if [ -n "$BACKPORTS" ]; then
  INSTALL_CMD="printf 'Types: deb\\nURIs: http://deb.debian.org/debian\\nSuites: bookworm-backports\\nComponents: main\\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\\n' > /etc/apt/sources.list.d/backports.sources && apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1"
fi

if ! command -v apt-get >/dev/null || [ "$SUDO" = none ]; then
  say "no WebGPU adapter found, and this script can only install a driver on Debian/Ubuntu as root or with sudo."
  say "With a GPU: install its Vulkan (Linux), Metal (macOS) or D3D12 (Windows) driver."
  say "Without one, on Debian/Ubuntu: sudo sh -c \"$INSTALL_CMD\""
  exit 1
fi

say "no WebGPU adapter found: installing Mesa's lavapipe (CPU Vulkan driver; packages mesa-vulkan-drivers libvulkan1${BACKPORTS:+ from $BACKPORTS, as the Mesa 22.3 of Debian 12 is too old for Dawn})"
export DEBIAN_FRONTEND=noninteractive
if [ -n "$BACKPORTS" ]; then
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' | ${SUDO:+$SUDO} tee /etc/apt/sources.list.d/backports.sources >/dev/null
  ${SUDO:+$SUDO} apt-get update -qq
  ${SUDO:+$SUDO} apt-get install -y -qq -t "$BACKPORTS" mesa-vulkan-drivers libvulkan1 >/dev/null
else
  ${SUDO:+$SUDO} apt-get update -qq
  ${SUDO:+$SUDO} apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
fi
if probe; then
  say "lavapipe installed; WebGPU adapter found"
else
  say "installed lavapipe, but Dawn still finds no adapter; run 'node_modules/.bin/bun src/cli.ts info' for details"
  exit 1
fi
