# shellcheck shell=sh
# okome-cache config transaction, step 1 of 3 on the host (as root, via `sh -c`): receives the
# whole transaction on stdin, checks its digest, unpacks it into a private dir and starts
# txn.sh detached from the SSH session, so a dropped connection cannot cut it short.
# Arguments: <base dir> <sha256 of stdin> <txn name>, a fresh name from the provider, so that it
# can find the transaction again when this command's answer is lost. Prints `@okome txn <dir>`.
# Nothing is written outside <base dir> here: a cut upload leaves the host's config unchanged.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
umask 077
base=$1 sum=$2 name=$3

refuse() {
  echo "@okome failed upload $*"
  exit 1
}
[ ! -L "$base" ] || refuse "$base is a symbolic link"
mkdir -p -- "$base" || refuse "cannot create $base"
{ chown root:root -- "$base" && chmod 0700 -- "$base"; } || refuse "cannot secure $base"
# The dir comes first, so a provider that reconnects while this still reads or unpacks finds
# the transaction starting (wait.sh), not missing.
case $name in */* | .* | "") refuse "bad transaction name $name" ;; esac
T=$base/$name
mkdir -- "$T" || refuse "cannot create $T"
upload=$T/upload
cat >"$upload"
got=$(sha256sum <"$upload" | cut -d ' ' -f 1)
if [ "$got" != "$sum" ]; then
  rm -rf -- "$T"
  refuse "digest mismatch (got $got): the transaction arrived incomplete"
fi
mkdir "$T/new"
# Sections: a `--okome-file NAME` line, then NAME's content in base64. Names are the
# provider's own (manifest, txn.sh, new/<n>), never a path from the set.
awk -v d="$T" '
  $1 == "--okome-file" { if (out != "") close(out); out = d "/" $2 ".b64"; next }
  $1 == "--okome-end" { exit }
  out != "" { print > out }
' "$upload"
rm -f -- "$upload"
for f in "$T"/*.b64 "$T"/new/*.b64; do
  [ -e "$f" ] || continue
  if ! base64 -d <"$f" >"${f%.b64}"; then
    rm -rf -- "$T"
    refuse "cannot unpack $f"
  fi
  rm -f -- "$f"
done

# systemd-run puts the job in a unit of its own, outside the SSH session's scope; without
# systemd (a test sshd on the deploy machine) a new session keeps it from the SIGHUP.
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --quiet --collect --unit="okome-txn-$(basename -- "$T")" \
    /bin/sh "$T/txn.sh" run "$T" >"$T/start.out" 2>&1 ||
    { cat -- "$T/start.out"; rm -rf -- "$T"; refuse "systemd-run could not start the transaction"; }
else
  setsid /bin/sh "$T/txn.sh" run "$T" </dev/null >/dev/null 2>&1 &
  echo $! >"$T/runner.pid"
fi
echo "@okome txn $T"
