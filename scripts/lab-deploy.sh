#!/usr/bin/env bash
# The README's main command: bring up the lab, deploy it with `pulumi up -s lab`, validate it.
#   OKOME_LAB_DRIVER=qemu|nspawn (default qemu, the lab of record)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/prepare.sh
source scripts/lib/prepare.sh

step "lab hosts (${OKOME_LAB_DRIVER:-qemu})"
bash lab/lab.sh up --driver "${OKOME_LAB_DRIVER:-qemu}"

step "pulumi up -s lab"
# The lab's documented passphrase (Pulumi.lab.yaml); prod's comes from the operator.
export PULUMI_CONFIG_PASSPHRASE=okome-lab
pulumi stack select lab --create --secrets-provider passphrase
# --refresh: a lab rebuilt since the last run has fresh hosts that the state does not know of.
pulumi up -s lab --yes --refresh

step "validation suite"
# `up` ran it already (the deployment gate); again here so the report is the last thing shown.
# --active: the lab takes the checks that write (a test key in the model cache).
npm run --silent validate -- --stack lab --active
