# shellcheck shell=sh
# Path checks of txn.sh (sourced from the bundle): whether a user other than root
# could steer a path. $ALLOW_LIST names a file of directories the set expects to be writable.

b64() { base64 -w0; }

# True when a user other than root can create, rename or remove entries in directory $1.
writable_by_others() {
  s=$(stat -L -c '%u %g %a' -- "$1") || return 0
  uid=${s%% *} rest=${s#* }
  gid=${rest%% *} perm=${rest#* }
  [ "$uid" = 0 ] || return 0
  [ $((perm % 10 & 2)) -eq 0 ] || return 0
  [ "$gid" = 0 ] || [ $((perm / 10 % 10 & 2)) -eq 0 ] || return 0
  return 1
}

# Prints "<base64 dir> <owner>:<group> <mode>" of the nearest existing ancestor of the absolute
# path $1 that a non-root user could write, unless listed in $ALLOW_LIST: its owner could swap
# the file, or a parent, for a link.
unsafe_ancestor() {
  d=$(dirname -- "$1")
  while [ ! -e "$d" ]; do d=$(dirname -- "$d"); done
  while :; do
    if writable_by_others "$d" && ! grep -qxF -- "$d" "$ALLOW_LIST"; then
      printf '%s %s' "$(printf %s "$d" | b64)" "$(stat -L -c '%U:%G %a' -- "$d")"
      return 0
    fi
    [ "$d" = / ] && return 1
    d=$(dirname -- "$d")
  done
}
