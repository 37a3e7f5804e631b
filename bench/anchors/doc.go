// Package anchors holds the small programs bench runs as the anchors of its
// side-by-side tables: other mDNS implementations announcing and browsing
// the same services as lanfind in the same lab. Each program takes the same
// command line, so the harness drives them alike:
//
//	PROG announce -host H -addr A -services NAME:PORT,...   # logs "announcing" to stderr when up
//	PROG list [-timeout D]                                 # one line per service: NAME ADDR PORT
//	PROG resolve [-timeout D] NAME                         # ADDR:PORT; exit 1 when not found
//	PROG watch                                             # browses until killed
//
// The service type is _bench._udp in the local domain. hashimdns uses
// github.com/hashicorp/mdns, pionmdns github.com/pion/mdns/v2, and
// zeroconf/anchor.py Debian's python3-zeroconf. Avahi needs no program of
// its own: bench runs avahi-daemon, avahi-browse and avahi-resolve.
//
// [Parse] reads the command line the Go anchors share.
package anchors
