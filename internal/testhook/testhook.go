// Package testhook lets the tests of one package reach the unexported test
// seam of another: discover's tests run real announce Senders on an
// in-memory udptest hub, and announce's tests real discover Listeners.
//
// Packages announce and discover fill these variables in init; nothing
// here changes behaviour unless a test calls them. Production code never
// calls them.
package testhook

import (
	"context"
	"net/netip"
	"time"

	"github.com/lanfind/lanfind/internal/udp"
)

// Listen has the signature of [udp.Listen].
type Listen = func(ctx context.Context, addr netip.AddrPort, o udp.Options) (udp.Conn, error)

var (
	// AnnounceListen makes an *announce.Config open its conn with f.
	AnnounceListen func(cfg any, f Listen)
	// DiscoverListen makes a *discover.Config open its conns with f.
	DiscoverListen func(cfg any, f Listen)
	// AnnounceClock makes an *announce.Config seal and check replay
	// windows with the clock now.
	AnnounceClock func(cfg any, now func() time.Time)
	// DiscoverClock makes a *discover.Config seal and check replay
	// windows with the clock now.
	DiscoverClock func(cfg any, now func() time.Time)
)
