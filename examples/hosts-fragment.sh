#!/usr/bin/env bash
# hosts-fragment.sh: write an /etc/hosts or ssh_config fragment for the
# services lanfind finds on the local network.
#
#   hosts-fragment.sh [-f hosts|ssh] [-d DOMAIN] [-T TYPE] [-t TIMEOUT] FILE
#
# hosts (the default) writes "ADDR NAME.DOMAIN NAME" lines (DOMAIN defaults
# to lan), one per service name; ssh writes one "Host NAME" block with
# HostName and Port per service of type ssh (-T picks another type, whose
# port then goes into the Port line). Include the result from your real
# files, e.g. in ~/.ssh/config:
#
#   Include ~/.ssh/lanfind.conf
#
# FILE is replaced atomically. The script never writes /etc/hosts itself:
# names come from the network, so only names that are valid host names
# (ASCII letters, digits and inner hyphens, up to 63) are written; the
# others (spaces, quotes, "#", non-ASCII letters, ...) are skipped with a
# warning. lanfind prints the name last, after a tab it escapes inside
# names, so a space in a name never shifts the address or port. Needs
# lanfind on PATH.
set -euo pipefail
# Byte-wise matching: [A-Za-z] must not take in letters of another script.
export LC_ALL=C

prog=${0##*/}

usage() {
	echo "usage: $prog [-f hosts|ssh] [-d DOMAIN] [-T TYPE] [-t TIMEOUT] FILE" >&2
	echo "  writes an /etc/hosts-style (default) or ssh_config fragment for the services lanfind finds" >&2
	exit 2
}

format=hosts
domain=lan
type=
timeout=3s
while getopts 'f:d:T:t:h' opt; do
	case $opt in
	f) format=$OPTARG ;;
	d) domain=$OPTARG ;;
	T) type=$OPTARG ;;
	t) timeout=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 1 ]] || usage
file=$1
case $format in hosts | ssh) ;; *) usage ;; esac
label='[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
if ! [[ $domain =~ ^$label(\.$label)*$ ]]; then
	echo "$prog: -d \"$domain\": not a domain name (letters, digits, hyphens, dots)" >&2
	exit 2
fi
# An ssh_config Port line for a database or web server would send ssh to it.
[[ $format == ssh && -z $type ]] && type=ssh
if [[ $(realpath -m -- "$file") == /etc/hosts ]]; then
	echo "$prog: refusing to overwrite /etc/hosts; write a fragment and merge it yourself" >&2
	exit 2
fi

# The name goes last: "read" gives the last variable the rest of the line.
args=(list --timeout "$timeout" --format $'{{.Addr}}\t{{.Port}}\t{{.Name}}')
[[ -n $type ]] && args+=(--type "$type")
status=0
out=$(lanfind "${args[@]}") || status=$?
if [[ $status -gt 1 ]]; then # 1: nothing found, an empty fragment
	echo "$prog: lanfind failed (exit $status)" >&2
	exit 1
fi

tmp=$(mktemp "$(dirname -- "$file")/.${prog}.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
{
	echo "# Written by $prog from lanfind list on $(date -u +%Y-%m-%dT%H:%M:%SZ); do not edit."
	declare -A seen=()
	while IFS=$'\t' read -r addr port name; do
		[[ -n $addr ]] || continue
		if ! [[ $name =~ ^$label$ ]]; then
			echo "$prog: skipping \"$name\" at $addr: not a host name" >&2
			continue
		fi
		if ! [[ $port =~ ^[0-9]+$ ]]; then
			echo "$prog: skipping \"$name\" at $addr: bad port \"$port\"" >&2
			continue
		fi
		[[ -z ${seen[$name]:-} ]] || continue # the first instance of a name wins
		seen[$name]=1
		if [[ $format == hosts ]]; then
			printf '%s\t%s.%s %s\n' "$addr" "$name" "$domain" "$name"
		else
			printf 'Host %s\n\tHostName %s\n\tPort %s\n\n' "$name" "$addr" "$port"
		fi
	done <<<"$out"
} >"$tmp"
chmod 644 "$tmp"
mv -f -- "$tmp" "$file"
trap - EXIT
echo "$prog: wrote ${#seen[@]} entries to $file" >&2
