# shellcheck shell=bash
# Sourced by every project script: puts the project's Node 22 and Pulumi
# toolchain on PATH. Safe to source more than once.

export OKOME_HOME="${OKOME_HOME:-$HOME/.okome}"

_okome_prepend_path() {
  case ":$PATH:" in
    *":$1:"*) ;;
    *) PATH="$1:$PATH" ;;
  esac
}

# The Pulumi toolchain scripts/bootstrap-pulumi.sh picked: links to an official pulumi and
# language host when they are new enough, else to our builds. First on PATH, so a person's own
# pulumi elsewhere on PATH (maybe older) is not what the project runs.
_okome_prepend_path "$OKOME_HOME/toolchain/bin"
# The project's own PULUMI_HOME: its plugin cache (the command provider, real or our stand-in),
# workspaces and logs, apart from a person's ~/.pulumi, which the project never writes. Said
# outright because pulumi would take the passwd entry's home, not $HOME.
export PULUMI_HOME="$OKOME_HOME/pulumi-home"

# The project needs Node >= 22; scripts/bootstrap-node.sh installs it here
# only when the system node is older.
if [ -x "$OKOME_HOME/node22/bin/node" ] &&
  [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 22 ]; then
  _okome_prepend_path "$OKOME_HOME/node22/bin"
fi
unset -f _okome_prepend_path
export PATH

# Nothing may be downloaded from outside the package registries.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

# Pulumi.yaml's file backend, under OKOME_HOME like every other okome file (pulumi itself would
# resolve Pulumi.yaml's ~ from the passwd entry, not $HOME). A caller's own backend wins: the
# tests run throw-away stacks on temp backends. pulumi refuses a state directory that is missing.
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$OKOME_HOME/pulumi-state}"
mkdir -p "$OKOME_HOME/pulumi-state"

# Types are checked by `npm run typecheck` in the tests; the engine only needs JavaScript, and
# ts-node's type check would make every preview much slower.
export PULUMI_NODEJS_TRANSPILE_ONLY=true
