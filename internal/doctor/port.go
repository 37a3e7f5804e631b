package doctor

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"

	"github.com/lanfind/lanfind/internal/termtext"
)

// udpSocket is one UDP socket on the lanfind port, as the kernel lists it.
type udpSocket struct {
	Local netip.AddrPort
	UID   int
	Inode uint64
	Drops uint64     // datagrams dropped for a full receive buffer
	Procs []sockProc // processes holding it; empty when not visible
}

// sockProc is a process that holds a socket.
type sockProc struct {
	PID     int
	Command string // command line, or the comm name when it has none
}

// describe says who holds s, e.g. `pid 812 ("lanfind announce --name db")`.
func (s udpSocket) describe() string {
	var who []string
	for _, p := range s.Procs {
		who = append(who, fmt.Sprintf("pid %d (%q)", p.PID, termtext.Clean(p.Command, 80)))
	}
	out := strings.Join(who, ", ")
	if out == "" {
		out = fmt.Sprintf("a socket of uid %d (its process is not visible; run as root to see it)",
			s.UID)
	}
	if !s.Local.Addr().IsUnspecified() {
		out += " bound to " + s.Local.String()
	}
	return out
}

func reportPortBlocked(r *report, port uint16, owners []udpSocket, ownersErr, err error) {
	if !errors.Is(err, syscall.EADDRINUSE) {
		r.add(LevelProblem, "port", "", "cannot bind UDP port %d: %v", port, err)
		return
	}
	var who []string
	for _, s := range owners {
		who = append(who, s.describe())
	}
	holder := strings.Join(who, "; ")
	switch {
	case holder == "" && ownersErr != nil:
		holder = fmt.Sprintf("another socket (could not tell which: %v)", ownersErr)
	case holder == "":
		holder = "another socket"
	}
	r.add(LevelProblem, "port",
		"stop that program, or use another port on every lanfind host (--discovery-port or "+
			"LANFIND_PORT)",
		"UDP port %d is taken by %s without sharing it (SO_REUSEADDR): lanfind cannot listen", port,
		holder)
}

func reportPortShared(r *report, port uint16, owners []udpSocket, ownersErr error) {
	switch {
	case ownersErr != nil:
		r.add(LevelOK, "port", "",
			"UDP port %d can be bound (could not list other sockets on it: %v)", port, ownersErr)
		return
	case len(owners) == 0:
		r.add(LevelOK, "port", "", "UDP port %d is free", port)
		return
	}
	for _, s := range owners {
		r.add(LevelNote, "port", "",
			"UDP port %d is shared with %s: fine, every socket on it gets its own copy of each "+
				"beacon", port, s.describe())
		if s.Drops > 0 {
			r.add(LevelNote, "port", "",
				"that socket dropped %d datagrams because its receive buffer was full", s.Drops)
		}
	}
}

// mdnsPort is the mDNS port (RFC 6762), which "lanfind --mdns" shares.
const mdnsPort = 5353

// checkMDNS says how "lanfind --mdns" would live beside this host's own
// mDNS stack: it always shares port 5353 (see the README, "Living with
// mDNS"); whether a stack holds the port decides who answers for the
// host name's addresses.
func checkMDNS(r *report) {
	owners, err := udpSocketsOn(mdnsPort)
	switch {
	case err != nil:
		r.add(LevelOK, "mdns", "",
			"--mdns shares UDP port %d with any mDNS stack here (could not list its sockets: %v)",
			mdnsPort, err)
	case len(owners) == 0:
		r.add(LevelOK, "mdns", "",
			"no mDNS stack holds UDP port %d: announce --mdns publishes the host name's addresses itself",
			mdnsPort)
	default:
		var who []string
		for _, s := range owners {
			who = append(who, s.describe())
		}
		r.add(LevelOK, "mdns", "",
			"--mdns shares UDP port %d with %s (SO_REUSEADDR/SO_REUSEPORT); announce --mdns "+
				"leaves the host name's addresses to that stack when it answers for them",
			mdnsPort, strings.Join(who, "; "))
	}
}
