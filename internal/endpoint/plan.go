package endpoint

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/seal"
)

// Config holds the settings announce and discover share.
type Config struct {
	Port   uint16     // 0: beacon.DefaultPort
	Group  netip.Addr // invalid: beacon.DefaultGroup
	Group6 netip.Addr // invalid: beacon.DefaultGroup6
	// NoIPv4 and NoIPv6 switch a family off: its addresses are ignored
	// and no socket of it is opened. Defaults: both families on.
	NoIPv4      bool
	NoIPv6      bool
	Interfaces  []string // empty: every usable interface
	NoBroadcast bool
	NoMulticast bool
	Lister      iface.Lister // nil: iface.System for the calling goroutine's namespace

	// ExcludeInterfaces are names or globs of interfaces never to use,
	// applied after Interfaces (names or globs too); empty: none.
	ExcludeInterfaces []string

	// The rest is used by [New] only, not by [NewPlan] and [Watch].

	ListenPacket udp.ListenFunc // nil: the internal/udp opener
	Logger       *slog.Logger   // nil: discard
	Keys         seal.Keys      // empty: clear datagrams; see [Codec]
	ReplayWindow time.Duration  // 0: seal.DefaultWindow; see [Codec]
	// OnLinkOnly makes Read drop datagrams whose source lies outside every
	// subnet of their arrival interface ([OffLink]).
	OnLinkOnly bool
	// KeepOtherIface makes Read keep datagrams that arrive on interfaces
	// not selected, with their arrival interface in Meta.IfIndex, instead
	// of dropping them ([OtherIface]): the doctor reports what is heard
	// there.
	KeepOtherIface bool
	// Seam, when not nil, replaces sockets and clock in tests.
	Seam *Seam
}

// Seam is the test seam of announce and discover: their Configs carry
// one, which only this module can fill in (the type is internal).
type Seam struct {
	// Listen opens sockets instead of udp.Listen: an in-memory udptest
	// hub, or a wrapper of udp.Listen that watches what is sent.
	Listen func(ctx context.Context, addr netip.AddrPort, o udp.Options) (udp.Conn, error)
	// Now is the clock of sealing and replay windows instead of time.Now.
	Now func() time.Time
}

// Plan is where an endpoint listens and sends.
type Plan struct {
	Port     uint16
	Group    netip.Addr        // IPv4 group
	Group6   netip.Addr        // IPv6 group
	All      []iface.Interface // every interface the lister returned
	Selected []iface.Interface // the ones lanfind uses
	Targets  []iface.Target    // broadcast and multicast destinations
	Arrivals iface.Arrivals    // which received datagrams belong to Selected
}

// NewPlan checks c, fills in defaults, lists and selects interfaces, and
// computes the destinations. Errors are not prefixed; callers add theirs.
func NewPlan(c Config) (Plan, error) {
	p := Plan{Port: c.Port, Group: c.Group, Group6: c.Group6}
	if p.Port == 0 {
		p.Port = beacon.DefaultPort
	}
	if !p.Group.IsValid() {
		p.Group = beacon.DefaultGroup
	}
	if !p.Group6.IsValid() {
		p.Group6 = beacon.DefaultGroup6
	}
	if !p.Group.Is4() || !p.Group.IsMulticast() {
		return p, fmt.Errorf("group %s is not an IPv4 multicast address", p.Group)
	}
	if !p.Group6.Is6() || p.Group6.Is4In6() || !p.Group6.IsMulticast() || p.Group6.Zone() != "" {
		return p, fmt.Errorf("group %s is not an IPv6 multicast address", p.Group6)
	}
	if c.NoBroadcast && c.NoMulticast {
		return p, errors.New("both broadcast and multicast are disabled")
	}
	if c.NoIPv4 && c.NoIPv6 {
		return p, errors.New("both IPv4 and IPv6 are disabled")
	}
	lister := c.Lister
	if lister == nil {
		sys, closeSys, err := iface.System()
		if err != nil {
			return p, err
		}
		defer closeSys() // interfaces are listed once, here
		lister = sys
	}
	all, err := lister.Interfaces()
	if err != nil {
		return p, fmt.Errorf("list interfaces: %w", err)
	}
	if p, err = c.plan(p, all); err != nil {
		return p, err
	}
	if len(p.Targets) == 0 {
		var names []string
		for _, i := range p.Selected {
			names = append(names, i.Name)
		}
		return p, fmt.Errorf("no broadcast or multicast destination on %s",
			strings.Join(names, ", "))
	}
	return p, nil
}

// plan selects from all with c's rules and computes the arrivals and
// targets, for the port and group of p. err says why nothing was
// selected; the plan is complete all the same.
func (c Config) plan(p Plan, all []iface.Interface) (Plan, error) {
	q := Plan{Port: p.Port, Group: p.Group, Group6: p.Group6, All: all}
	var err error
	include, exclude := slices.Clone(c.Interfaces), slices.Clone(c.ExcludeInterfaces)
	// A family switched off is as if its addresses were not there.
	q.Selected, err = iface.Select(iface.Families(all, !c.NoIPv4, !c.NoIPv6), include, exclude)
	q.Arrivals = iface.NewArrivals(q.All, q.Selected)
	o := iface.TargetOptions{
		Port:        q.Port,
		NoBroadcast: c.NoBroadcast || c.NoIPv4,
		NoMulticast: c.NoMulticast,
	}
	if !c.NoIPv4 {
		o.Group = q.Group
	}
	if !c.NoIPv6 {
		o.Group6 = q.Group6
	}
	q.Targets = iface.Targets(q.Selected, o)
	return q, err
}

// group returns the plan's group of family f.
func (p *Plan) group(f Family) netip.Addr {
	if f == IPv6 {
		return p.Group6
	}
	return p.Group
}

// Uses reports whether a selected interface has a usable address of
// family f.
func (p *Plan) Uses(f Family) bool {
	return slices.ContainsFunc(p.Selected, func(i iface.Interface) bool {
		return f == IPv6 && i.Has6() || f == IPv4 && i.Has4()
	})
}

// HasIndex returns a test for [slices.ContainsFunc] and its kind: whether
// an interface has index.
func HasIndex(index int) func(iface.Interface) bool {
	return func(i iface.Interface) bool { return i.Index == index }
}

// JoinAll joins group on every multicast-capable interface of ifs. It fails
// only when no join succeeded; the other failures are logged.
func JoinAll(c udp.Conn, ifs []iface.Interface, group netip.Addr, log *slog.Logger) error {
	var errs []error
	joined := 0
	for _, ifc := range ifs {
		if ifc.Flags&iface.FlagMulticast == 0 {
			continue
		}
		if err := c.JoinGroup(ifc.Index, group); err != nil && !alreadyMember(err) {
			err = fmt.Errorf("join %s on %s: %w", group, ifc.Name, err)
			log.Warn(err.Error())
			errs = append(errs, err)
			continue
		}
		joined++
	}
	if joined == 0 && len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// RandomID returns a random non-zero 64-bit ID from crypto/rand (zero
// means "no request" on the wire).
func RandomID() uint64 {
	for {
		var b [8]byte
		rand.Read(b[:]) // never fails on supported systems (crypto/rand docs)
		if id := binary.BigEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}

// IfName returns the name of the interface with index among all the
// interfaces the lister returned, and whether there is one.
func (p *Plan) IfName(index int) (string, bool) {
	for _, i := range p.All {
		if i.Index == index {
			return i.Name, true
		}
	}
	return "", false
}
