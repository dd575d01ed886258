#!/usr/bin/env bash
# Installs what the offline e2e run needs on a clean Debian machine, using only Debian apt and
# the npm registry: Chromium + the headers VS Code's native modules build against, and
# code-server (VS Code 1.100.3 web/server build) into a cache dir inside the repo.
# Idempotent: every step is skipped when what it installs is already there.
# Env: E2E_CS_DIR (default <repo>/.e2e/code-server).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CS_DIR=${E2E_CS_DIR:-$ROOT/.e2e/code-server}
CS_VERSION=4.100.3   # newest code-server whose engines field is node 20 (VS Code 1.100.3)
APT_PKGS=(build-essential pkg-config python3 libx11-dev libxkbfile-dev libsecret-1-dev libkrb5-dev
  ripgrep chromium fonts-liberation curl)

log() { printf '[e2e install] %s\n' "$*"; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# 1. system packages (compilers + headers for code-server's native modules, Debian's rg and chromium)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  log "apt packages present"
fi

# 2. code-server
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
have_version=""
[ -f "$CS_DIR/node_modules/code-server/package.json" ] &&
  have_version=$(node -p "require('$CS_DIR/node_modules/code-server/package.json').version" 2>/dev/null || true)
if [ -x "$CS_BIN" ] && [ "$have_version" = "$CS_VERSION" ] && [ -d "$CS_DIR/node_modules/code-server/lib/vscode/node_modules" ]; then
  log "code-server $CS_VERSION present in $CS_DIR"
else
  # @vscode/ripgrep's postinstall downloads rg from GitHub: seed its download cache with Debian's rg
  # (cache dir = $TMPDIR/vscode-ripgrep-cache-<pkg version>, asset = ripgrep-<rg tag>-<target>.tar.gz;
  # both pinned by code-server 4.100.3's npm-shrinkwrap: @vscode/ripgrep 1.15.11 -> v13.0.0-10).
  RG_CACHE="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
  mkdir -p "$RG_CACHE"
  [ -f "$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" ] ||
    tar czf "$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C /usr/bin rg
  log "npm install code-server@$CS_VERSION into $CS_DIR"
  mkdir -p "$CS_DIR"
  cd "$CS_DIR"
  [ -f package.json ] || printf '{ "name": "e2e-code-server", "private": true }\n' > package.json
  # npm_config_yes: node-pty's postinstall runs `npx node-gyp`, which a `yes=false` npmrc cancels.
  # npm_config_unsafe_perm: code-server's postinstall refuses to run as root without it.
  npm_config_yes=true npm_config_unsafe_perm=true npm install --no-audit --no-fund --no-save "code-server@$CS_VERSION"
fi

# 3. the repo's own dev tools (vsce, playwright-core, mocha, esbuild) come from package.json
if [ ! -x "$ROOT/node_modules/.bin/vsce" ] || [ ! -d "$ROOT/node_modules/playwright-core" ] || [ ! -x "$ROOT/node_modules/.bin/esbuild" ]; then
  log "npm ci in $ROOT"
  (cd "$ROOT" && npm ci --no-audit --no-fund)
else
  log "repo node_modules present"
fi
log "done"
