# shellcheck shell=sh
# Reads the managed paths listed on stdin (one per line) for `pulumi refresh`: content, mode
# and owner of each regular file. A link is reported, never followed, and so is a path under a
# directory a non-root user can write (who could swap it for a link between the check and the
# read), so a planted link cannot pull /etc/shadow into state or a diff. Arguments: the
# directories the set expects to be writable. Sent after lib.sh (transaction.ts).
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
ALLOW_LIST=$(mktemp)
trap 'rm -f -- "$ALLOW_LIST"' EXIT
for dir in "$@"; do printf '%s\n' "$dir"; done >"$ALLOW_LIST"
i=0
while IFS= read -r path; do
  if bad=$(unsafe_ancestor "$path"); then
    printf '@okome file %s unsafe %s\n' "$i" "$bad"
  elif [ -L "$path" ]; then
    printf '@okome file %s link %s\n' "$i" "$(printf %s "$(readlink -- "$path")" | base64 -w0)"
  elif [ -f "$path" ]; then
    printf '@okome file %s %s %s\n' "$i" "$(stat -c '%a %U %G' -- "$path")" "$(base64 -w0 <"$path")"
  elif [ -e "$path" ]; then
    printf '@okome file %s notfile\n' "$i"
  else
    printf '@okome file %s absent\n' "$i"
  fi
  i=$((i + 1))
done
