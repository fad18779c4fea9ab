# shellcheck shell=sh
# Reads the managed paths listed on stdin (one per line) for `pulumi refresh`: content, mode
# and owner of each regular file. A link is reported, never followed, so a planted link cannot
# pull /etc/shadow into state or a diff.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
i=0
while IFS= read -r path; do
  if [ -L "$path" ]; then
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
