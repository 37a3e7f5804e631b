#!/usr/bin/env bash
# prometheus-file-sd.sh: write a Prometheus file_sd targets file for the
# node exporters that lanfind finds on the local network.
#
#   prometheus-file-sd.sh [-T TYPE] [-t TIMEOUT] FILE
#
# Announce each exporter with, for example:
#
#   lanfind announce --name "$(hostname)" --type node-exporter --port 9100
#
# and point Prometheus at FILE, refreshed by a timer or cron job:
#
#   scrape_configs:
#     - job_name: node
#       file_sd_configs:
#         - files: [/etc/prometheus/targets/lanfind.json]
#
# Each target gets the labels lanfind_name and lanfind_host. FILE is
# replaced atomically, so Prometheus never reads half a file; when no
# exporter answers it holds an empty list. The JSON is built with
# lanfind's json template function, so no jq is needed. Needs lanfind on
# PATH.
set -euo pipefail

prog=${0##*/}

usage() {
	echo "usage: $prog [-T TYPE] [-t TIMEOUT] FILE" >&2
	echo "  writes a Prometheus file_sd JSON file for the services of TYPE (default node-exporter)" >&2
	exit 2
}

type=node-exporter
timeout=3s
while getopts 'T:t:h' opt; do
	case $opt in
	T) type=$OPTARG ;;
	t) timeout=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 1 ]] || usage
file=$1

# One JSON object per line, every string quoted by lanfind itself.
tmpl='{"targets":[{{json (printf "%s:%d" .Addr .Port)}}],"labels":{"lanfind_name":{{json .Name}},"lanfind_host":{{json .Host}}}}'
status=0
out=$(lanfind list --type "$type" --timeout "$timeout" --format "$tmpl") || status=$?
if [[ $status -gt 1 ]]; then # 1: nothing found, an empty list
	echo "$prog: lanfind failed (exit $status)" >&2
	exit 1
fi

tmp=$(mktemp "$(dirname -- "$file")/.${prog}.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
n=0
{
	echo "["
	while IFS= read -r line; do
		[[ -n $line ]] || continue
		[[ $n -eq 0 ]] || echo ","
		printf '  %s' "$line"
		n=$((n + 1))
	done <<<"$out"
	[[ $n -eq 0 ]] || echo
	echo "]"
} >"$tmp"
chmod 644 "$tmp"
mv -f -- "$tmp" "$file"
trap - EXIT
echo "$prog: wrote $n targets to $file" >&2
