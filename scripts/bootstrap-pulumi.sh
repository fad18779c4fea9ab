#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the Pulumi toolchain from Go modules (nothing can be downloaded from
# Pulumi's own release servers here) and installs it where the official
# installer puts it: ~/.pulumi/bin and ~/.pulumi/plugins.
#
#   pulumi                         the CLI, pinned in scripts/toolchain/go.mod
#   pulumi-language-nodejs         our NodeJS language host (scripts/toolchain)
#   pulumi-resource-pulumi-nodejs  shim that runs @pulumi/pulumi's dynamic provider
#   resource plugin command        our stand-in for the @pulumi/command provider
#
# The CLI is pinned to v3.274.1 although package.json uses @pulumi/pulumi
# 3.276.0: the module proxy serves no source for pkg/v3 v3.275.0 or v3.276.0.
# Pulumi's language host and the command provider modules are not served at
# all, hence our own implementations in scripts/toolchain/cmd.
#
# A second run with nothing changed only checks a stamp and takes seconds.
set -euo pipefail

COMMAND_PLUGIN_VERSION=1.2.1 # the version @pulumi/command in package.json asks for

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
toolchain="$here/toolchain"
source "$here/lib/env.sh"

bin="$PULUMI_HOME/bin"
stamp="$bin/.okome-toolchain"

log() { echo "[bootstrap-pulumi] $*"; }
die() {
  echo "[bootstrap-pulumi] error: $*" >&2
  exit 1
}

pulumi_version="$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2 }' "$toolchain/go.mod")"
[ -n "$pulumi_version" ] || die "no github.com/pulumi/pulumi/pkg/v3 requirement in $toolchain/go.mod"

# The stamp covers every input of the build, so editing the toolchain
# sources or this script triggers a rebuild.
want="$(
  cd "$toolchain"
  {
    echo "$pulumi_version $COMMAND_PLUGIN_VERSION"
    cat "$here/bootstrap-pulumi.sh"
    find . -type f | LC_ALL=C sort | xargs sha256sum
  } | sha256sum | cut -d' ' -f1
)"
plugin_bin="$PULUMI_HOME/plugins/resource-command-v$COMMAND_PLUGIN_VERSION/pulumi-resource-command"
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && [ -x "$plugin_bin" ] &&
  [ -x "$bin/pulumi-language-nodejs" ] && [ -x "$bin/pulumi-resource-pulumi-nodejs" ] &&
  [ "$("$bin/pulumi" version 2>/dev/null)" = "$pulumi_version" ]; then
  log "pulumi $pulumi_version and plugins are up to date"
  exit 0
fi

command -v go >/dev/null ||
  die "go is not installed; install Go >= $(awk '$1 == "go" { print $2 }' "$toolchain/go.mod") and rerun"
# Only the module proxy is reachable: never fall back to cloning repositories.
GOPROXY="$(go env GOPROXY | sed -E 's/[,|]direct$//')"
export GOPROXY

cd "$toolchain"
log "downloading Go modules for pulumi $pulumi_version ..."
go mod download ||
  die "the Go module proxy did not serve a module listed in $toolchain/go.mod (see above);
  pick a version it serves, update go.mod/go.sum with 'go get', and rerun"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
version_flag="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version"
build() { # build <output name> <ldflags> <package>
  go build -buildvcs=false -trimpath -ldflags "-s -w $2" -o "$out/$1" "$3" || die "go build of $3 failed (see above)"
}
log "building pulumi CLI $pulumi_version (about 5 minutes on 2 cores when cold) ..."
build pulumi "$version_flag" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
log "building pulumi-language-nodejs $pulumi_version ..."
build pulumi-language-nodejs "$version_flag" ./cmd/pulumi-language-nodejs
log "building command provider $COMMAND_PLUGIN_VERSION ..."
build pulumi-resource-command "-X main.version=$COMMAND_PLUGIN_VERSION" ./cmd/pulumi-resource-command

log "installing into $bin ..."
mkdir -p "$bin"
install -m 0755 "$out/pulumi" "$out/pulumi-language-nodejs" "$toolchain/pulumi-resource-pulumi-nodejs" "$bin/"
if ! msg="$("$bin/pulumi" plugin install resource command "$COMMAND_PLUGIN_VERSION" \
  --file "$out/pulumi-resource-command" --reinstall 2>&1)"; then
  die "pulumi plugin install of the command provider failed: $msg"
fi
echo "$want" >"$stamp"
log "installed pulumi $("$bin/pulumi" version), plugins:"
"$bin/pulumi" plugin ls
