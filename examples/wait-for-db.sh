#!/usr/bin/env bash
# wait-for-db.sh: wait until a service announced with lanfind answers, then
# start an application with its address in the environment.
#
#   wait-for-db.sh [-t TIMEOUT] [-T TYPE] NAME COMMAND [ARG...]
#
# Example: start a web app once the database "db" of type postgres is up:
#
#   wait-for-db.sh -t 60s -T postgres db ./webapp --listen :8080
#
# COMMAND runs with DB_ADDR (ADDR:PORT), DB_HOST and DB_PORT set. When the
# service does not answer within TIMEOUT (default 30s) the script exits 1
# without running COMMAND; a bad TIMEOUT or TYPE exits 2. Needs lanfind on PATH.
set -euo pipefail

prog=${0##*/}

usage() {
	echo "usage: $prog [-t TIMEOUT] [-T TYPE] NAME COMMAND [ARG...]" >&2
	echo "  waits up to TIMEOUT (default 30s) for the lanfind service NAME, then runs COMMAND" >&2
	echo "  with DB_ADDR=ADDR:PORT, DB_HOST and DB_PORT in its environment" >&2
	exit 2
}

timeout=30s
type=
while getopts 't:T:h' opt; do
	case $opt in
	t) timeout=$OPTARG ;;
	T) type=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -ge 2 ]] || usage
name=$1
shift

args=(resolve "$name" --wait 1 --timeout "$timeout" --format '{{.Addr}} {{.Port}}')
[[ -n $type ]] && args+=(--type "$type")

echo "$prog: waiting up to $timeout for $name..." >&2
status=0
out=$(lanfind "${args[@]}") || status=$?
if [[ $status -eq 1 ]]; then
	echo "$prog: $name did not answer within $timeout" >&2
	exit 1
elif [[ $status -ne 0 ]]; then # 2: lanfind said what is wrong (a bad -t or -T, say)
	exit 2
fi
read -r DB_HOST DB_PORT <<<"$out"
export DB_HOST DB_PORT DB_ADDR="$DB_HOST:$DB_PORT"
echo "$prog: $name is at $DB_ADDR" >&2
exec "$@"
