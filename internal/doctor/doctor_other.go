//go:build !linux

package doctor

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
)

// udpSocketsOn cannot list sockets here: the caller still learns whether
// the port can be bound.
func udpSocketsOn(port uint16) ([]udpSocket, error) { return nil, errNotSupported }

// igmpGroups cannot list memberships here: joins are checked only by
// their result.
func igmpGroups() (map[string][]netip.Addr, error) { return nil, errNotSupported }

// igmp6Groups cannot list IPv6 memberships here either.
func igmp6Groups() (map[string][]netip.Addr, error) { return nil, errNotSupported }

// checkFirewall does not read pf or ipfw rules.
func checkFirewall(_ context.Context, r *report, port uint16) {
	r.add(LevelNote, "firewall", "",
		"firewall not checked on %s: if nothing is heard, check that the firewall allows UDP port "+
			"%d", runtime.GOOS, port)
}

var errNotSupported = errors.New("not supported on this system")
