#!/usr/bin/env bash
# The README's test command: installs everything on a fresh machine, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/prepare.sh
source scripts/lib/prepare.sh

step "static checks: types, lint, format, shell"
npm run --silent typecheck
npm run --silent lint
npm run --silent format:check
git ls-files -z '*.sh' .ci/run | xargs -0 shellcheck -x

step "unit tests and the real Pulumi engine"
npx mocha 'test/unit/**/*.test.ts' 'test/okome/**/*.test.ts' 'test/toolchain/**/*.test.ts' 'test/loopback/**/*.test.ts'
