#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Picks the Pulumi toolchain the project runs and links it into $OKOME_HOME/toolchain/bin, which
# scripts/lib/env.sh puts first on PATH (with PULUMI_HOME=$OKOME_HOME/pulumi-home, the
# project's own plugin cache):
#
#   pulumi, pulumi-language-nodejs  an official install (on PATH or in ~/.pulumi/bin) when it is
#                                   at least the version pinned in scripts/toolchain/go.mod;
#                                   otherwise our builds of scripts/toolchain
#   pulumi-resource-pulumi-nodejs   the one beside an official language host; otherwise our shim
#   resource plugin command         the real @pulumi/command provider when `pulumi plugin
#                                   install` can get it (tried once, bounded and quiet); otherwise
#                                   our local-only stand-in
#
# Official files are linked, never copied over or changed: everything this script writes is
# under $OKOME_HOME. Our builds (scripts/toolchain/build.sh) are made only for what is missing.
# OKOME_TOOLCHAIN_PREBUILT=<dir> names another toolchain's build dir ($OKOME_HOME/toolchain/build):
# stand-ins there whose stamp matches are copied instead of built (the tests use it).
#
# Our CLI is v3.274.1 although package.json uses @pulumi/pulumi 3.276.0: the module proxy serves
# no source for pkg/v3 v3.275.0 or v3.276.0, and the npm registry has no @pulumi/pulumi between
# 3.270.0 and 3.276.0, so the two cannot be the same version (docs/DECISIONS.md). An official CLI
# may be newer. Pulumi's language host and the command provider modules are not served at all,
# hence our own implementations in scripts/toolchain/cmd.
#
# A second run with nothing changed only checks a stamp and takes seconds.
set -euo pipefail

COMMAND_PLUGIN_VERSION=1.2.1 # the version @pulumi/command in package.json asks for

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
toolchain="$here/toolchain"
source "$here/lib/env.sh"

tc="$OKOME_HOME/toolchain"
bin="$tc/bin"     # on PATH: links to what was picked
build="$tc/build" # our builds, valid while build/.stamp matches the sources
stamp="$tc/.stamp"
# What we put in the plugin cache, to tell it from the real one; kept beside that cache.
standin_record="$PULUMI_HOME/.okome-command-standin.sha256"
plugin_dir="$PULUMI_HOME/plugins/resource-command-v$COMMAND_PLUGIN_VERSION"
plugin_bin="$plugin_dir/pulumi-resource-command"
official_home_bin="$HOME/.pulumi/bin" # where the official installer puts pulumi

log() { echo "[bootstrap-pulumi] $*"; }
die() {
  echo "[bootstrap-pulumi] error: $*" >&2
  exit 1
}

pulumi_version="$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2 }' "$toolchain/go.mod")"
[ -n "$pulumi_version" ] || die "no github.com/pulumi/pulumi/pkg/v3 requirement in $toolchain/go.mod"
min_version="${pulumi_version#v}"

# The build stamp covers every input of our builds (build.sh included), not this script: picking
# differently never rebuilds.
build_hash="$(
  cd "$toolchain"
  {
    echo "$pulumi_version $COMMAND_PLUGIN_VERSION"
    find . -type f | LC_ALL=C sort | xargs sha256sum
  } | sha256sum | cut -d' ' -f1
)"

# candidates <name>: executables called <name> on PATH, then in ~/.pulumi/bin, resolved, once
# each, without ours: our own links, and builds an earlier version of this script installed in
# ~/.pulumi/bin (it left a stamp, .okome-toolchain, beside them).
candidates() {
  local p real
  {
    type -aP "$1" || true
    if [ -x "$official_home_bin/$1" ]; then echo "$official_home_bin/$1"; fi
  } | while IFS= read -r p; do
    real="$(readlink -f "$p")"
    case "$p" in "$tc"/*) continue ;; esac
    case "$real" in "$tc"/*) continue ;; esac
    [ -e "$(dirname "$p")/.okome-toolchain" ] || [ -e "$(dirname "$real")/.okome-toolchain" ] && continue
    echo "$real"
  done | awk '!seen[$0]++'
}

# The fast path's stamp: this script, our sources, every candidate (path, size, mtime) and the
# plugin in the cache. A new official install, an upgrade or a removal changes it.
inputs() {
  {
    sha256sum "$here/bootstrap-pulumi.sh"
    echo "$build_hash $OKOME_HOME $PULUMI_HOME $official_home_bin"
    local name p
    for name in pulumi pulumi-language-nodejs pulumi-resource-pulumi-nodejs; do
      candidates "$name" | while IFS= read -r p; do stat -c '%n %s %Y' "$p"; done
    done
    stat -c '%n %s %Y' "$plugin_bin" 2>/dev/null || true
  } | sha256sum | cut -d' ' -f1
}

if [ "$(head -n 1 "$stamp" 2>/dev/null)" = "$(inputs)" ] && [ -x "$plugin_bin" ] &&
  [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-language-nodejs" ] &&
  [ -x "$bin/pulumi-resource-pulumi-nodejs" ]; then
  log "up to date: $(sed -n 2p "$stamp")"
  exit 0
fi

# version_of <command>...: the version it prints (without a leading v), or nothing.
version_of() {
  timeout 20 "$@" </dev/null 2>/dev/null | head -n 1 | sed -nE 's/^v?([0-9]+\.[0-9]+\.[0-9]+[^[:space:]]*)$/\1/p' || true
}
# new_enough <version>: at least the pinned version.
new_enough() {
  [ -n "$1" ] && [ "$(printf '%s\n%s\n' "$min_version" "$1" | sort -V | head -n 1)" = "$min_version" ]
}

# pick <name> <version flag> [preferred path]: the first official <name> that is new enough, as
# "<path> <version>"; the preferred path (the language host beside the picked CLI, which pulumi
# would use) comes first. Older ones are reported and skipped.
pick() {
  local p v
  { if [ -n "${3:-}" ] && [ -x "$3" ]; then readlink -f "$3"; fi; candidates "$1"; } |
    awk '!seen[$0]++' | while IFS= read -r p; do
    v="$(version_of "$p" "$2")"
    if new_enough "$v"; then
      echo "$p $v"
      break
    fi
    if [ -n "$v" ]; then
      log "not using $p: version $v is older than $min_version" >&2
    else
      log "not using $p: it printed no version" >&2
    fi
  done
}

official_cli="$(pick pulumi version)"
official_lang="$(pick pulumi-language-nodejs -version "${official_cli:+$(dirname "${official_cli% *}")/pulumi-language-nodejs}")"

# Our builds: reused while their stamp matches, else copied from OKOME_TOOLCHAIN_PREBUILT, else
# built, each only when asked for.
if [ "$(cat "$build/.stamp" 2>/dev/null)" != "$build_hash" ]; then
  rm -rf "$build"
  mkdir -p "$build"
  echo "$build_hash" >"$build/.stamp"
fi
standin() { # standin <name>...: makes sure $build/<name> exists
  local name prebuilt="${OKOME_TOOLCHAIN_PREBUILT:-}" missing=()
  for name in "$@"; do
    [ -x "$build/$name" ] && continue
    if [ -n "$prebuilt" ] && [ "$(cat "$prebuilt/.stamp" 2>/dev/null)" = "$build_hash" ] &&
      [ -x "$prebuilt/$name" ]; then
      log "copying the prebuilt $name from $prebuilt"
      install -m 0755 "$prebuilt/$name" "$build/$name.tmp"
      mv -f "$build/$name.tmp" "$build/$name"
    else
      missing+=("$name")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    local out
    out="$(mktemp -d "$build/.new.XXXXXX")"
    bash "$toolchain/build.sh" "$out" "$pulumi_version" "$COMMAND_PLUGIN_VERSION" "${missing[@]}"
    for name in "${missing[@]}"; do mv -f "$out/$name" "$build/$name"; done
    rm -rf "$out"
  fi
}

# link <name> <target>: $bin/<name> -> <target>, replaced atomically.
link() {
  mkdir -p "$bin"
  ln -sfn "$2" "$bin/.$1.new"
  mv -Tf "$bin/.$1.new" "$bin/$1"
}

needed=()
if [ -z "$official_cli" ]; then needed+=(pulumi); fi
if [ -z "$official_lang" ]; then needed+=(pulumi-language-nodejs pulumi-resource-pulumi-nodejs); fi
# The dynamic-provider shim ships beside the official language host.
shim="${official_lang:+$(dirname "${official_lang% *}")/pulumi-resource-pulumi-nodejs}"
if [ -n "$official_lang" ] && [ ! -x "$shim" ]; then
  shim=""
  needed+=(pulumi-resource-pulumi-nodejs)
fi
if [ ${#needed[@]} -gt 0 ]; then standin "${needed[@]}"; fi

if [ -n "$official_cli" ]; then
  link pulumi "${official_cli% *}"
  cli_said="official pulumi ${official_cli##* } at ${official_cli% *}"
else
  link pulumi "$build/pulumi"
  cli_said="okome's pulumi ${pulumi_version#v} under $build"
fi
if [ -n "$official_lang" ]; then
  link pulumi-language-nodejs "${official_lang% *}"
  lang_said="official pulumi-language-nodejs ${official_lang##* } at ${official_lang% *}"
else
  link pulumi-language-nodejs "$build/pulumi-language-nodejs"
  lang_said="okome's pulumi-language-nodejs under $build"
fi
link pulumi-resource-pulumi-nodejs "${shim:-$build/pulumi-resource-pulumi-nodejs}"
if [ -n "$official_cli" ] && [ -z "$official_lang" ] &&
  [ -x "$(dirname "${official_cli% *}")/pulumi-language-nodejs" ]; then
  log "note: pulumi will warn that it uses pulumi-language-nodejs from \$PATH, not the older one beside it"
fi

# The command provider: the real one if the cache has it (not our stand-in) or pulumi can
# download it, else our stand-in, written into the project's own plugin cache the way
# `pulumi plugin install --file` does (the cache holds no one else's plugins: PULUMI_HOME is ours).
is_standin() { [ -f "$standin_record" ] && [ "$(sha256sum <"$plugin_bin")" = "$(cat "$standin_record")" ]; }
if [ -x "$plugin_bin" ] && ! is_standin; then
  command_said="real command $COMMAND_PLUGIN_VERSION in $PULUMI_HOME/plugins"
elif msg="$(timeout 60 "$bin/pulumi" plugin install resource command "$COMMAND_PLUGIN_VERSION" \
  --reinstall </dev/null 2>&1)" && [ -x "$plugin_bin" ] && ! is_standin; then
  command_said="real command $COMMAND_PLUGIN_VERSION, installed now in $PULUMI_HOME/plugins"
else
  reason="$(tail -n 1 <<<"${msg:-}" | cut -c1-160)"
  log "the real command plugin $COMMAND_PLUGIN_VERSION cannot be installed${reason:+ ($reason)}; using okome's stand-in"
  standin pulumi-resource-command
  if ! cmp -s "$build/pulumi-resource-command" "$plugin_bin"; then
    rm -rf "$plugin_dir"
    mkdir -p "$plugin_dir"
    touch "$plugin_dir.partial" # pulumi skips a plugin while this exists
    install -m 0755 "$build/pulumi-resource-command" "$plugin_bin"
    rm -f "$plugin_dir.partial"
  fi
  sha256sum <"$plugin_bin" >"$standin_record"
  command_said="okome stand-in $COMMAND_PLUGIN_VERSION under $PULUMI_HOME/plugins"
fi

said="$cli_said; $lang_said; command plugin: $command_said"
printf '%s\n%s\n' "$(inputs)" "$said" >"$stamp"
log "using $said"
