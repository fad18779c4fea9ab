# nginx-log.jq: what okome-hit-ratio and okome-prewarm share about the edge's JSON access log
# (they `include "nginx-log";` it with `jq -L`). Installed by okome-cache on the edge node as
# /usr/local/lib/okome/nginx-log.jq, beside the scripts' /usr/local/sbin.

# An entry's time ($time_iso8601) in seconds since the epoch. jq 1.6 (bookworm) parses only "Z"
# times, so the offset is applied here.
def epoch:
  (.[0:19] + "Z" | fromdateiso8601) as $utc
  | .[19:] | sub("^\\.[0-9]+"; "")
  | if . == "Z" then $utc
    else (capture("^(?<sign>[+-])(?<h>[0-9]{2}):?(?<m>[0-9]{2})$") // error("no offset"))
      | $utc - (if .sign == "-" then -1 else 1 end) * ((.h | tonumber) * 3600 + (.m | tonumber) * 60)
    end;
