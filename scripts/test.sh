#!/usr/bin/env bash
# The README's test command: installs everything on a fresh machine, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n[test] %s\n' "$*"; }

step "system packages"
bash scripts/install-system-packages.sh

step "Node 22"
bash scripts/bootstrap-node.sh
# shellcheck source=scripts/lib/env.sh
source scripts/lib/env.sh

step "npm ci"
npm ci --no-audit --no-fund

step "Pulumi toolchain"
bash scripts/bootstrap-pulumi.sh

step "static checks: types, lint, format"
npm run --silent typecheck
npm run --silent lint
npm run --silent format:check

step "unit tests"
npx mocha 'test/unit/**/*.test.ts' 'test/okome/**/*.test.ts' 'test/toolchain/**/*.test.ts'
