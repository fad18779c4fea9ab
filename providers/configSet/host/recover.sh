#!/bin/sh
# okome-txn-recover: at boot, before the services start, restores the config files of every
# okome-cache transaction that never finished: a dead-man switch that was never confirmed, or
# an apply that the reboot cut short. Installed by the config transaction (txn.sh).
# Argument: the transaction base dir (tests); default the one the provider uses.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
base=${1:-/var/lib/okome/txn}
[ -d "$base" ] || exit 0
# The same lock as a transaction: nothing else can run this early, but the rule has no exception.
exec 9>>"$base/.lock"
flock -w 60 9 || exit 1
for d in "$base"/*/; do
  d=${d%/}
  case $(cat -- "$d/state" 2>/dev/null) in
  running | armed)
    # The services start after this unit, on the restored files: no activation here.
    sh "$d/txn.sh" rollback "$d" --no-activate
    echo "okome-txn-recover: $d: $(cat -- "$d/state")"
    ;;
  queued)
    # It never got the lock, so it wrote nothing; its new contents may be secrets.
    rm -rf -- "$d"
    echo "okome-txn-recover: $d: never started, removed"
    ;;
  esac
done
