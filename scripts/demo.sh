#!/usr/bin/env bash
# demo.sh — build lanfind and show it working on a throwaway LAN.
#
# Builds ./lanfind, creates a private LAN of network namespaces (a switch
# namespace with a bridge and three hosts on 10.77.0.0/24), announces two
# services on h1 and h2, and runs list, resolve and watch on h3. Nothing
# touches this machine's own interfaces: every broadcast and multicast
# datagram stays inside the demo's namespaces, which are removed at the end
# (also on Ctrl-C). Needs root (network namespaces) and iproute2.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root to create network namespaces (try: sudo $0)" >&2
	exit 2
fi
command -v ip >/dev/null || { echo "demo: needs iproute2 (apt-get install iproute2)" >&2; exit 2; }

P=lanfind-demo-$$
SW=$P-sw
BIN=$(mktemp -d)/lanfind
PIDS=()

cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	for ns in "$SW" "$P-h1" "$P-h2" "$P-h3"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$(dirname "$BIN")"
}
trap cleanup EXIT INT TERM

echo "== building lanfind"
CGO_ENABLED=0 go build -o "$BIN" ./cmd/lanfind

echo "== creating a private LAN: bridge in $SW, hosts h1 h2 h3 on 10.77.0.0/24"
ip netns add "$SW"
ip -n "$SW" link add br0 type bridge mcast_snooping 0
ip -n "$SW" link set br0 up
for i in 1 2 3; do
	ns=$P-h$i
	ip netns add "$ns"
	ip -n "$SW" link add "v$i" type veth peer name eth0 netns "$ns"
	ip -n "$SW" link set "v$i" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	ip -n "$ns" addr add "10.77.0.$((10 + i))/24" brd 10.77.0.255 dev eth0
	ip -n "$ns" route add 224.0.0.0/4 dev eth0
done
# Wait until every bridge port forwards (carrier is up a moment after link set up).
for _ in $(seq 50); do
	if ! ip -n "$SW" -o link show master br0 | grep -q 'state DOWN\|LOWERLAYERDOWN'; then break; fi
	sleep 0.1
done

# Background processes are started with ip netns exec directly (it execs, so $! is
# lanfind's own PID); inns is for the foreground.
inns() { local ns=$P-$1; shift; ip netns exec "$ns" "$@"; }

# The namespaces share this machine's host name, so each announcer names its
# host with --hostname, as the HOST column would show on a real LAN.
echo "== h1: lanfind announce --name db --type postgres --port 5432 --meta version=16 --hostname h1"
ip netns exec "$P-h1" "$BIN" announce --name db --type postgres --port 5432 --meta version=16 --hostname h1 2>/dev/null &
PIDS+=($!)
echo "== h2: lanfind announce --service web:8080:http --service ssh:22:ssh --hostname h2 (two services, one process)"
ip netns exec "$P-h2" "$BIN" announce --service web:8080:http --service ssh:22:ssh --hostname h2 2>/dev/null &
PIDS+=($!)
KEY=$(dirname "$BIN")/key
"$BIN" keygen "$KEY"
echo "== h1: lanfind announce --name vault --port 8200 --secret-file KEY --hostname h1 (keyed: sealed, authenticated)"
ip netns exec "$P-h1" "$BIN" announce --name vault --port 8200 --secret-file "$KEY" --hostname h1 2>/dev/null &
PIDS+=($!)

echo "== h3: lanfind watch (in the background, for the rest of the demo)"
ip netns exec "$P-h3" "$BIN" watch > "$(dirname "$BIN")/watch.log" &
WATCH=$!
PIDS+=($WATCH)
sleep 0.5

echo "== h3: lanfind list"
inns h3 "$BIN" list
echo "== h3: lanfind list --json --name db"
inns h3 "$BIN" list --json --name db
echo
echo "== h3: lanfind list --format '{{.Name}} http://{{.Addr}}:{{.Port}}/' --type http"
inns h3 "$BIN" list --format '{{.Name}} http://{{.Addr}}:{{.Port}}/' --type http
echo "== h3: lanfind list --secret-file KEY --format '{{.Name}} {{.Addr}}:{{.Port}} verified={{.Verified}}'"
inns h3 "$BIN" list --secret-file "$KEY" --format '{{.Name}} {{.Addr}}:{{.Port}} verified={{.Verified}}'
echo "   (without the key, vault is invisible: sealed datagrams are dropped and counted)"
echo "== h3: lanfind resolve db"
start=$(date +%s%N)
inns h3 "$BIN" resolve db
echo "   (answered in $(( ($(date +%s%N) - start) / 1000000 )) ms, process start included)"
echo "== h3: psql-style use in a script: addr=\$(lanfind resolve db)"
addr=$(inns h3 "$BIN" resolve db)
echo "   would connect to ${addr%:*} port ${addr##*:}"

echo "== stopping the announcer on h2 (SIGTERM: it says goodbye for web and ssh)"
kill -TERM "${PIDS[1]}"
wait "${PIDS[1]}" 2>/dev/null || true
sleep 0.3
kill -INT "$WATCH"
wait "$WATCH" 2>/dev/null || true
echo "== what lanfind watch on h3 saw:"
cat "$(dirname "$BIN")/watch.log"
echo "== done; removing the LAN"
