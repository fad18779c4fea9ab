# shellcheck shell=sh
# Removes a transaction dir the provider has read to the end, unless a failed rollback kept
# its backups there for the operator. Arguments: <base dir> <txn name>; the name is checked so
# nothing outside the base can be named.
set -u
base=$1 name=$2
case $name in */* | .* | "") exit 2 ;; esac
if [ -e "$base/$name/kept" ]; then
  # Reported to this run's provider: later runs leave it to the operator without a warning.
  : >"$base/$name/reported"
else
  rm -rf -- "${base:?}/$name"
fi
