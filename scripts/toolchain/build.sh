#!/usr/bin/env bash
# Builds okome's stand-ins for the Pulumi toolchain from Go modules (nothing can be downloaded
# from Pulumi's own release servers here), for scripts/bootstrap-pulumi.sh:
#
#   build.sh <out dir> <pulumi version> <command plugin version> <name>...
#
#   pulumi                         the CLI, pinned in go.mod (about 5 minutes on 2 cores when cold)
#   pulumi-language-nodejs         our NodeJS language host (cmd/pulumi-language-nodejs)
#   pulumi-resource-pulumi-nodejs  shim that runs @pulumi/pulumi's dynamic provider
#   pulumi-resource-command        our stand-in for the @pulumi/command provider
#
# This file lives beside the sources so that the bootstrap's build stamp (a hash of this
# directory) covers the build recipe too.
set -euo pipefail

[ $# -ge 4 ] || {
  echo "usage: $0 <out dir> <pulumi version> <command plugin version> <name>..." >&2
  exit 2
}
# The pulumi version is go.mod's, which bootstrap-pulumi.sh has read already.
out=$1 pulumi_version=$2 command_version=$3
shift 3
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { echo "[bootstrap-pulumi] $*"; }
die() {
  echo "[bootstrap-pulumi] error: $*" >&2
  exit 1
}

version_flag="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version"

build() { # build <output name> <ldflags> <package>
  go build -buildvcs=false -trimpath -ldflags "-s -w $2" -o "$out/$1" "$3" ||
    die "go build of $3 failed (see above)"
}

cd "$here"
mkdir -p "$out"
downloaded=false
for name in "$@"; do
  if [ "$name" = pulumi-resource-pulumi-nodejs ]; then
    install -m 0755 pulumi-resource-pulumi-nodejs "$out/"
    continue
  fi
  if ! $downloaded; then
    command -v go >/dev/null ||
      die "go is not installed; install Go >= $(awk '$1 == "go" { print $2 }' go.mod) and rerun"
    # Only the module proxy is reachable: never fall back to cloning repositories.
    GOPROXY="$(go env GOPROXY | sed -E 's/[,|]direct$//')"
    export GOPROXY
    log "downloading Go modules for pulumi $pulumi_version ..."
    go mod download ||
      die "the Go module proxy did not serve a module listed in $here/go.mod (see above);
  pick a version it serves, update go.mod/go.sum with 'go get', and rerun"
    downloaded=true
  fi
  case "$name" in
    pulumi)
      log "building the pulumi CLI $pulumi_version (about 5 minutes on 2 cores when cold) ..."
      build pulumi "$version_flag" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
      ;;
    pulumi-language-nodejs)
      log "building pulumi-language-nodejs $pulumi_version ..."
      build pulumi-language-nodejs "$version_flag" ./cmd/pulumi-language-nodejs
      ;;
    pulumi-resource-command)
      log "building the command provider stand-in $command_version ..."
      build pulumi-resource-command "-X main.version=$command_version" ./cmd/pulumi-resource-command
      ;;
    *) die "build.sh: no stand-in called $name" ;;
  esac
done
