# shellcheck shell=sh
# okome-cache config transaction, step 3 of 3 on the host: prints the transaction's log as it
# grows until its state is final (or `armed`, when asked), then `@okome state <state>`; after
# <seconds> it prints the state so far, and the provider calls again.
# Arguments: <txn dir> final|armed <seconds>. Holds waiter.lock so no sweep takes the dir from it,
# and touches <dir>/heartbeat while it follows.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
T=$1 until=$2 seconds=$3
if [ ! -d "$T" ]; then
  echo "@okome state missing"
  exit 0
fi
# The dir can vanish in between (collected by another waiter, or swept): then it is missing.
exec 8>>"$T/waiter.lock" 2>/dev/null || {
  echo "@okome state missing"
  exit 0
}
flock -s 8
end=$(($(date +%s) + seconds))
shown=0
while :; do
  # Tells a transaction waiting for the lock that its provider still follows it (txn.sh).
  : >"$T/heartbeat"
  # State first, then the log: a final state is written after the log's last line.
  # No state yet: the runner is starting, or begin.sh was cut off before it could start one.
  state=$(cat -- "$T/state" 2>/dev/null || echo starting)
  if [ "$state" = starting ] && [ -n "$(find "$T" -maxdepth 0 -mmin +1)" ] &&
    flock -n "$T/runner.lock" true; then
    state=unstarted
  fi
  size=$(stat -c %s -- "$T/log" 2>/dev/null || echo 0)
  if [ "$size" -gt "$shown" ]; then
    tail -c +$((shown + 1)) -- "$T/log" | head -c $((size - shown))
    shown=$size
  fi
  case $state in
  done | failed | expired | rolled-back | rollback-failed | unstarted) break ;;
  armed) [ "$until" = armed ] && break ;;
  esac
  [ "$(date +%s)" -lt "$end" ] || break
  sleep 0.2
done
echo "@okome state $state"
