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
npx mocha 'test/unit/**/*.test.ts' 'test/okome/**/*.test.ts' 'test/toolchain/**/*.test.ts' 'test/loopback/**/*.test.ts' 'test/preview/**/*.test.ts'

step "lab lifecycle, both drivers (ends with the lab down)"
npx mocha test/lab/lab-lifecycle.test.ts

# Needs the golden image the lifecycle's bring-up built; runs its own qemu (loopback only)
# while no lab VM holds a core.
step "golden image procedure: capture, restore, boot on loop-backed cards"
golden_started=$SECONDS
npx mocha test/lab/golden-image.test.ts
echo "[test] golden image test: $((SECONDS - golden_started)) s"

step "lab up (qemu, the lab of record)"
bash lab/lab.sh up --driver qemu
trap 'bash lab/lab.sh down' EXIT

step "config transactions and the model cache on the lab, with the real pulumi"
npx mocha --timeout 900000 test/lab/config-set.test.ts test/lab/model-cache.test.ts test/lab/hostkeys.test.ts

step "the README's main command on the lab stack"
bash scripts/lab-deploy.sh
