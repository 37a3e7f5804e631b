package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
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

// parseProcNetUDP returns the sockets of /proc/net/udp (text) bound to
// port. Lines it cannot parse are skipped.
func parseProcNetUDP(text string, port uint16) []udpSocket {
	var out []udpSocket
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
		if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
			continue
		}
		local, ok := parseHexAddrPort(f[1])
		if !ok || local.Port() != port {
			continue
		}
		uid, err1 := strconv.Atoi(f[7])
		inode, err2 := strconv.ParseUint(f[9], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		s := udpSocket{Local: local, UID: uid, Inode: inode}
		if len(f) >= 13 {
			s.Drops, _ = strconv.ParseUint(f[12], 10, 64) // 0 when absent or odd
		}
		out = append(out, s)
	}
	return out
}

// parseHexAddrPort parses /proc/net/udp's "0100007F:6EB7": the IPv4
// address as the kernel's 32-bit value in host byte order, printed in hex,
// then the port in hex.
func parseHexAddrPort(s string) (netip.AddrPort, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || len(a) != 8 {
		return netip.AddrPort{}, false
	}
	v, err := strconv.ParseUint(a, 16, 32)
	if err != nil {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	var ip [4]byte
	binary.NativeEndian.PutUint32(ip[:], uint32(v))
	return netip.AddrPortFrom(netip.AddrFrom4(ip), uint16(port)), true
}

// describe says who holds s, e.g. `pid 812 ("lanfind announce --name db")`.
func (s udpSocket) describe() string {
	var who []string
	for _, p := range s.Procs {
		who = append(who, fmt.Sprintf("pid %d (%q)", p.PID, clean(p.Command, 80)))
	}
	out := strings.Join(who, ", ")
	if out == "" {
		out = fmt.Sprintf("a socket of uid %d (its process is not visible; run as root to see it)", s.UID)
	}
	if !s.Local.Addr().IsUnspecified() {
		out += " bound to " + s.Local.String()
	}
	return out
}

func reportPortBlocked(r *report, port uint16, owners []udpSocket, ownersErr, err error) {
	if !errors.Is(err, syscall.EADDRINUSE) {
		r.add(levelProblem, "port", "", "cannot bind UDP port %d: %v", port, err)
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
	r.add(levelProblem, "port",
		"stop that program, or use another port on every lanfind host (--discovery-port or LANFIND_PORT)",
		"UDP port %d is taken by %s without sharing it (SO_REUSEADDR): lanfind cannot listen", port, holder)
}

func reportPortShared(r *report, port uint16, owners []udpSocket, ownersErr error) {
	switch {
	case ownersErr != nil:
		r.add(levelOK, "port", "", "UDP port %d can be bound (could not list other sockets on it: %v)", port, ownersErr)
		return
	case len(owners) == 0:
		r.add(levelOK, "port", "", "UDP port %d is free", port)
		return
	}
	for _, s := range owners {
		r.add(levelNote, "port", "", "UDP port %d is shared with %s: fine, every socket on it gets its own copy of each beacon", port, s.describe())
		if s.Drops > 0 {
			r.add(levelNote, "port", "", "that socket dropped %d datagrams because its receive buffer was full", s.Drops)
		}
	}
}
