# shellcheck shell=sh
# okome-cache config transaction, step 2 of 3 on the host (as root, detached from SSH):
#   txn.sh run <dir>        lock -> back up -> write -> validate -> activate -> verify, and on any
#                           failure restore the backups and re-activate
#   txn.sh rollback <dir> [--no-activate]
#                           restore a transaction that never finished (its runner died, or the
#                           host rebooted: okome-txn-recover runs this before services start)
# <dir> holds what begin.sh unpacked: manifest, new/<n> (file contents), the step commands
# (validate, activate, verify; each optional but activate), recover.sh and recover.service.
# Progress goes to <dir>/log as `@okome ...` lines and <dir>/state says where it stands:
# queued (waiting for the lock), preparing (backing up: nothing written yet), running, armed
# (waiting for the dead-man confirmation), then one of done, failed, expired, rolled-back,
# rollback-failed. The provider reads both (wait.sh) and removes the dir.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
umask 077
mode=$1 T=$2
base=$(dirname -- "$T")
LOG=$T/log
# A finished transaction whose provider has not collected it after this long is reported and
# removed by the next one (the provider reconnects within a minute of a dropped connection).
ORPHAN_GRACE_MINUTES=2

say() { printf '@okome %s\n' "$*" >>"$LOG"; }
dec() { printf %s "$1" | base64 -d; }
setstate() { printf '%s\n' "$1" >"$T/state.tmp" && mv -f -- "$T/state.tmp" "$T/state"; }
setting() { awk -v k="$1" '$1 == k { print $2; exit }' "$T/manifest"; }

SERVICE=$(setting service)
STEP_TIMEOUT=$(setting step_timeout)
LOCK_WAIT=$(setting lock_wait)
DEADMAN=$(setting deadman)
ALLOW_LIST=$T/allow.list
awk '$1 == "allow" { print $2 }' "$T/manifest" | while read -r d; do dec "$d" && echo; done >"$ALLOW_LIST"
# shellcheck source=providers/configSet/host/lib.sh
. "$T/lib.sh"
# Seconds since boot: a deadline that a clock step at first time sync cannot move (Pis have no RTC).
now() { cut -d . -f 1 /proc/uptime; }

# The top-most missing parent of $1, so a rollback removes exactly the dirs the set created.
topmissing() {
  d=$(dirname -- "$1") t=""
  while [ ! -e "$d" ]; do t=$d d=$(dirname -- "$d"); done
  printf '%s' "$t"
}
prune() {
  [ -n "$2" ] || return 0
  d=$(dirname -- "$1")
  while rmdir -- "$d" 2>/dev/null; do [ "$d" = "$2" ] && break; d=$(dirname -- "$d"); done
  return 0
}

# Each op line: op <n> write|restore <path> <mode> <owner> <group> <dirmode>, or
# op <n> remove <path> <created dir or ->; paths in base64.
ops() { awk '$1 == "op"' "$T/manifest"; }

backup() {
  case $2 in /*) ;; *)
    say "refused $1 notfile"
    return 1
    ;;
  esac
  if [ -L "$2" ]; then
    say "refused $1 link $(printf %s "$(readlink -- "$2")" | b64)"
    return 1
  fi
  if [ -e "$2" ] && [ ! -f "$2" ]; then
    say "refused $1 notfile"
    return 1
  fi
  if bad=$(unsafe_ancestor "$2"); then
    say "refused $1 parent $bad"
    return 1
  fi
  if [ -e "$2" ]; then
    # Copied under a temp name: a half-written backup must never look like one. The dir's mode
    # too: a removal may take the dir away, and a rollback must make it as it was.
    cp -p -- "$2" "$T/bak/$1.part" && stat -c '%a %U %G' -- "$2" >"$T/bak/$1.meta" &&
      stat -c '%a %U %G' -- "$(dirname -- "$2")" >"$T/bak/$1.dir" &&
      mv -f -- "$T/bak/$1.part" "$T/bak/$1"
  else
    topmissing "$2" >"$T/bak/$1.absent"
  fi
}

# Writes new/<n> to $2 atomically with mode $3, owner $4, group $5, creating its dir with $6.
# The temp name is created exclusively (noclobber: a planted file or link makes it fail) and
# every parent is root's (checked in backup), so nothing here can be redirected.
put() {
  dir=$(dirname -- "$2")
  if [ ! -d "$dir" ]; then
    (umask 022 && mkdir -p -- "$dir") && chmod -- "$6" "$dir" || return 1
  fi
  tmp=$(mktemp -u "$dir/.okome-new.XXXXXXXX") || return 1
  if (set -C && cat -- "$T/new/$1" >"$tmp") &&
    chown -h -- "$4:$5" "$tmp" && chmod -- "$3" "$tmp" && mv -fT -- "$tmp" "$2"; then
    return 0
  fi
  rm -f -- "$tmp"
  return 1
}

# apply_op <n> write|restore <path> <mode> <owner> <group> <dirmode> | <n> remove <path> <created dir>
apply_op() {
  path=$(dec "$3")
  case $2 in
  write | restore) put "$1" "$path" "$4" "$5" "$6" "${7:-0755}" ;;
  remove)
    created=""
    [ "$4" = - ] || created=$(dec "$4")
    rm -f -- "$path" && prune "$path" "$created"
    ;;
  *) return 1 ;;
  esac
}

# Makes dir $1 again (the removal of its last file took it away) with the mode and owner recorded
# in $2; parents it needs are made 0755 root, as put() makes them.
remake_dir() {
  read -r dmode downer dgroup <"$2" &&
    (umask 022 && mkdir -p -- "$1") && chown -- "$downer:$dgroup" "$1" && chmod -- "$dmode" "$1"
}

# Puts every path back as backup() found it; a path without a backup is an error, not a skip,
# and one failure does not stop the others from being restored.
restore_backups() {
  ops | {
    ok=0
    while read -r _ n _ p _; do
      path=$(dec "$p")
      if [ -e "$T/bak/$n.absent" ]; then
        rm -f -- "$path" && prune "$path" "$(cat -- "$T/bak/$n.absent")" || ok=1
      elif [ -f "$T/bak/$n" ]; then
        dir=$(dirname -- "$path")
        if [ ! -d "$dir" ] && ! remake_dir "$dir" "$T/bak/$n.dir"; then
          ok=1
          continue
        fi
        tmp=$(mktemp "$dir/.okome-new.XXXXXXXX") || { ok=1; continue; }
        if ! { cp -p -- "$T/bak/$n" "$tmp" && mv -fT -- "$tmp" "$path"; }; then
          rm -f -- "$tmp"
          ok=1
        fi
      else
        echo "no backup of $path: left as it is"
        ok=1
      fi
    done
    exit $ok
  }
}

# Output of a step, as one protocol line: `out <step> <exit code> <base64 output>`.
emit() { say "out $1 $2 $(b64 <"$3")"; }
step() {
  [ -f "$T/$1" ] || return 0
  say "phase $1"
  # The lock fds stay here: a daemon a step leaves behind must not hold the host's lock.
  timeout -k 10 "$STEP_TIMEOUT" sh "$T/$1" >"$T/$1.out" 2>&1 </dev/null 7>&- 9>&-
  r=$?
  emit "$1" "$r" "$T/$1.out"
  return $r
}

# Restores, re-activates unless told not to (or the restore failed: a known-mixed config is
# not activated), and keeps the backups when anything failed.
rollback() {
  restore_backups >"$T/rollback.out" 2>&1
  r=$?
  if [ "$r" = 0 ] && [ "${1:-}" != --no-activate ] && [ -f "$T/activate" ]; then
    timeout -k 10 "$STEP_TIMEOUT" sh "$T/activate" >>"$T/rollback.out" 2>&1 </dev/null 7>&- 9>&- || r=1
  fi
  emit rollback "$r" "$T/rollback.out"
  if [ "$r" != 0 ]; then
    : >"$T/kept"
    say "kept $(printf %s "$T/bak" | b64)"
  fi
  return $r
}

# Secrets live in new/ and bak/: gone as soon as they are not needed.
finish() {
  [ -e "$T/kept" ] || rm -rf -- "$T/bak" "$T/new"
  rm -f -- "$base/.holder"
  setstate "$1"
  exit 0
}

# The boot-time safety net for the dead-man switch and for transactions a reboot cut short.
install_recover() {
  [ -d /run/systemd/system ] || return 0
  lib=/usr/local/lib/okome/txn-recover.sh unit=/etc/systemd/system/okome-txn-recover.service
  changed=0
  if ! cmp -s -- "$T/recover.sh" "$lib"; then
    install -D -m 0755 -- "$T/recover.sh" "$lib" || return 1
    changed=1
  fi
  if ! cmp -s -- "$T/recover.service" "$unit"; then
    install -m 0644 -- "$T/recover.service" "$unit" || return 1
    changed=1
  fi
  if [ "$changed" = 1 ]; then systemctl daemon-reload || return 1; fi
  systemctl is-enabled --quiet okome-txn-recover.service ||
    systemctl enable --quiet okome-txn-recover.service
}

last_failure() { printf %s "$(grep '^@okome failed ' "$1/log" | tail -n 1 | cut -d ' ' -f 3)" | b64; }

# Earlier transactions nobody collected: one whose runner died mid-way is rolled back now (we
# hold the lock, so no runner is alive); a finished one is reported and removed.
sweep() {
  for d in "$base"/*/; do
    d=${d%/}
    [ "$d" != "$T" ] || continue
    if [ ! -f "$d/state" ]; then
      # Unpacked but never started (begin.sh was cut off, or its runner died at once).
      [ -n "$(find "$d" -maxdepth 0 -mmin +"$ORPHAN_GRACE_MINUTES")" ] || continue
      flock -n "$d/runner.lock" true || continue
      say "orphan $(printf %s "$(basename -- "$d")" | b64) unstarted abandoned"
      rm -rf -- "$d"
      continue
    fi
    was=$(cat -- "$d/state")
    name=$(printf %s "$(basename -- "$d")" | b64)
    case $was in
    queued | preparing)
      # Its runner died before writing (waiting for the lock, or backing up): nothing to undo.
      flock -n "$d/runner.lock" true || continue
      say "orphan $name $was abandoned"
      rm -rf -- "$d"
      ;;
    running | armed)
      sh "$d/txn.sh" rollback "$d" >/dev/null 2>&1
      # A runner that cannot even run its rollback leaves the dir to the operator.
      case $(cat -- "$d/state") in running | armed)
        echo rollback-failed >"$d/state"
        : >"$d/kept"
        ;;
      esac
      [ -e "$d/kept" ] || rm -rf -- "$d"
      say "orphan $name $was $(cat -- "$d/state") $(last_failure "$d")"
      ;;
    done | failed | expired | rolled-back | rollback-failed)
      # Kept backups were reported once, to whoever collected them; they wait for the operator.
      [ ! -e "$d/reported" ] || continue
      [ -n "$(find "$d/state" -mmin +"$ORPHAN_GRACE_MINUTES")" ] || continue
      flock -n "$d/waiter.lock" true || continue
      say "orphan $name $was collected $(last_failure "$d")"
      if [ -e "$d/kept" ]; then : >"$d/reported"; else rm -rf -- "$d"; fi
      ;;
    esac
  done
}

# A transaction whose provider stopped following it (Ctrl-C, a crash) while it queued must not
# apply a change that a newer run may already have superseded. wait.sh touches the heartbeat;
# a young transaction may simply not be followed yet.
HEARTBEAT_SECONDS=90
followed() {
  started=$(stat -c %Y -- "$T/manifest")
  beat=$(stat -c %Y -- "$T/heartbeat" 2>/dev/null || echo "$started")
  [ $(($(date +%s) - beat)) -lt "$HEARTBEAT_SECONDS" ]
}

lock() {
  exec 9>>"$base/.lock"
  say "phase lock"
  if ! flock -n 9; then
    say "waiting $(b64 <"$base/.holder" 2>/dev/null)"
    if ! flock -w "$LOCK_WAIT" 9; then
      say "locked $(b64 <"$base/.holder" 2>/dev/null)"
      say "failed lock"
      setstate failed
      exit 0
    fi
  fi
  printf '%s %s (%s) since %s\n' "$SERVICE" "$(basename -- "$T")" "$(dec "$(setting client)")" \
    "$(date -u +%FT%TZ)" >"$base/.holder"
}

run() {
  # Held as long as this runner lives: a sweep that can take it knows the runner is gone. The
  # state file appears only under it, so no sweep can mistake a starting runner for a dead one.
  exec 7>>"$T/runner.lock"
  flock 7
  setstate queued
  lock
  setstate preparing
  if ! followed; then
    say "failed unfollowed"
    finish failed
  fi
  sweep
  if ! install_recover; then
    say "failed recover-unit"
    finish failed
  fi
  say "phase backup"
  mkdir -p "$T/bak"
  refused=0
  while read -r _ n _ p _; do backup "$n" "$(dec "$p")" || refused=1; done <<EOF
$(ops)
EOF
  if [ "$refused" = 1 ]; then
    say "failed backup"
    finish failed
  fi
  # The backups must survive a power cut (the way out of a lockout) before anything changes.
  sync
  awk '$1 == "capture" { print $2, $3 }' "$T/manifest" | while read -r i n; do
    if [ -e "$T/bak/$n.absent" ]; then
      say "orig $i absent $(b64 <"$T/bak/$n.absent")"
    else
      say "orig $i file $(cat -- "$T/bak/$n.meta") $(b64 <"$T/bak/$n")"
    fi
  done
  setstate running
  say "phase write"
  written=0
  while read -r _ n kind p m o g dm; do
    if ! apply_op "$n" "$kind" "$p" "$m" "$o" "$g" "$dm"; then
      say "failed write"
      rollback
      finish failed
    fi
    written=1
  done <<EOF
$(ops)
EOF
  say "written $written"
  sync
  if ! step validate; then
    say "failed validate"
    rollback
    finish failed
  fi
  if [ -n "$DEADMAN" ]; then
    deadline=$(($(now) + DEADMAN))
    say "deadman $deadline"
  fi
  if ! step activate; then
    say "failed activate"
    rollback
    finish failed
  fi
  if [ -n "$DEADMAN" ]; then
    setstate armed
    say "phase armed"
    while [ ! -e "$T/confirm" ] && [ "$(now)" -lt "$deadline" ]; do sleep 0.2; done
    if [ ! -e "$T/confirm" ]; then
      say "expired"
      rollback
      finish expired
    fi
    say "confirmed"
  fi
  if ! step verify; then
    say "failed verify"
    rollback
    finish failed
  fi
  say "done"
  finish "done"
}

case $mode in
run) run ;;
rollback)
  if rollback "${3:-}"; then
    rm -rf -- "$T/bak" "$T/new"
    setstate rolled-back
  else
    setstate rollback-failed
  fi
  ;;
*)
  echo "usage: txn.sh run|rollback <dir>" >&2
  exit 2
  ;;
esac
