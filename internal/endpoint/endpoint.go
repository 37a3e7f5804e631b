package endpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/udp"
)

// Endpoint is one lanfind endpoint's interfaces, sockets and read path.
// Its methods are safe for concurrent use.
type Endpoint struct {
	// Codec seals what the owner sends and opens what Read receives. It
	// must not be modified.
	Codec Codec
	// Drops counts what Read read and dropped.
	Drops Drops

	cfg         Config // with Lister set
	log         *slog.Logger
	closeLister func()
	plan        atomic.Pointer[Plan] // written under mu, read without

	// mu serializes plan changes and guards conns, joined, failed, watch
	// and closed.
	mu     sync.Mutex
	conns  []udp.Conn       // opened by Listen; closed by Close
	joined []joined         // the ones whose memberships follow the plan
	failed map[Family]bool  // families already reported as failing
	errs   map[Family]error // the first failure of each family
	watch  *Watcher
	closed bool // Close has begun: Watch starts nothing

	closeOnce sync.Once
	closeErr  error
}

// New checks cfg's keys, lists and selects interfaces (on the calling
// goroutine, so in its network namespace) and returns an Endpoint with no
// socket yet. Errors are not prefixed; callers add theirs. The caller
// must Close the Endpoint.
func New(cfg Config) (_ *Endpoint, err error) {
	if err := cfg.Keys.Validate(); err != nil {
		return nil, err
	}
	lister, closeLister, err := OpenLister(cfg.Lister)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			closeLister()
		}
	}()
	cfg.Lister = lister
	cfg.Interfaces = slices.Clone(cfg.Interfaces)
	cfg.ExcludeInterfaces = slices.Clone(cfg.ExcludeInterfaces)
	plan, err := NewPlan(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Seam == nil {
		cfg.Seam = &Seam{}
	}
	e := &Endpoint{
		Codec: Codec{
			Keys:   slices.Clone(cfg.Keys),
			Window: cfg.ReplayWindow,
			Now:    cfg.Seam.Now,
		},
		cfg:         cfg,
		log:         cfg.Logger,
		closeLister: closeLister,
		errs:        map[Family]error{},
	}
	e.plan.Store(&plan)
	return e, nil
}

// Plan returns the interface plan in force. It is replaced as a whole
// when the interfaces change and must not be modified.
func (e *Endpoint) Plan() *Plan { return e.plan.Load() }

// Socket says what socket [Endpoint.Listen] opens.
type Socket struct {
	// Port to bind on the empty address; 0: an ephemeral one.
	Port uint16
	// ReadBuffer is the receive buffer size; 0: the system's.
	ReadBuffer int
	// Join makes the socket join the group on the selected interfaces
	// (unless multicast is off) and keep its memberships following the
	// plan.
	Join bool
}

// joined is a socket whose memberships follow the plan.
type joined struct {
	c   udp.Conn
	fam Family
}

// Families returns the address families the endpoint uses: IPv4 unless
// Config.NoIPv4, IPv6 unless Config.NoIPv6, and neither once a Listen
// could not open it (see [Endpoint.FailedFamilies]).
func (e *Endpoint) Families() []Family {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Family
	if !e.cfg.NoIPv4 {
		out = append(out, IPv4)
	}
	if !e.cfg.NoIPv6 {
		out = append(out, IPv6)
	}
	return out
}

// Listen opens the sockets s describes on the calling goroutine, one per
// family ([Endpoint.Families]), each bound to its family's empty address
// (0.0.0.0 or [::] with IPV6_V6ONLY). A family whose socket cannot be
// opened (no IPv6 in the kernel, say), or, when s joins, whose socket
// joins the group nowhere while it has no other way to hear (IPv6, or
// IPv4 with broadcast off), is left out and reported once per endpoint as
// a warning. Listen fails when no family that the plan uses (one a
// selected interface has an address of) works. Close closes the sockets.
func (e *Endpoint) Listen(s Socket) (*Conn, error) {
	var c Conn
	var opened []joined
	var errs []error
	failed := map[Family]error{}
	working := false
	p := e.Plan()
	for _, f := range e.Families() {
		uc, join, err := e.listen(s, f)
		if err != nil {
			err = fmt.Errorf("%v: %w", f, err)
			errs = append(errs, err)
			failed[f] = err
			continue
		}
		if f == IPv6 {
			c.v6 = uc
		} else {
			c.v4 = uc
		}
		if join {
			opened = append(opened, joined{c: uc, fam: f})
		}
		working = working || p.Uses(f)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for f, err := range failed {
		if e.errs[f] == nil {
			e.errs[f] = err
		}
	}
	if !working && len(failed) > 0 {
		for _, uc := range c.Sockets() {
			uc.Close()
		}
		return nil, errors.Join(errs...)
	}
	for f, err := range failed {
		e.familyFailed(f, err)
	}
	e.conns = append(e.conns, c.Sockets()...)
	e.joined = append(e.joined, opened...)
	if c.v6 != nil {
		udp.SetSources(c.v6, Sources(e.Plan().Selected))
	}
	return &c, nil
}

// Sources returns the IPv6 source address of each interface of ifs that
// has one wider than link-local ([iface.Interface.Source6]), by index: what
// the endpoint's IPv6 sockets send from ([udp.SetSources]), so that a
// keyed listener finds the source among the addresses the records list.
func Sources(ifs []iface.Interface) map[int]netip.Addr {
	out := map[int]netip.Addr{}
	for _, i := range ifs {
		if s := i.Source6(); s.IsValid() {
			out[i.Index] = s
		}
	}
	return out
}

// familyFailed reports the first failure of family f as a warning and
// switches f off, so that plans from now on have no destination of it.
// e.mu must be held.
func (e *Endpoint) familyFailed(f Family, err error) {
	if e.failed[f] {
		e.log.Debug("address family not available", "family", f.String(), "err", err)
		return
	}
	if e.failed == nil {
		e.failed = map[Family]bool{}
	}
	e.failed[f] = true
	e.log.Warn(fmt.Sprintf("%v not available, working without it", f), "err", err)
	if f == IPv6 {
		e.cfg.NoIPv6 = true
	} else {
		e.cfg.NoIPv4 = true
	}
	if p, err := Replan(e.cfg, *e.Plan()); err == nil {
		e.plan.Store(&p)
	}
}

// FamilyErr returns why a Listen could not open a socket of family f
// (the first time), or nil.
func (e *Endpoint) FamilyErr(f Family) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.errs[f]
}

// FailedFamilies returns the families a Listen could not open (and
// switched off), IPv4 first.
func (e *Endpoint) FailedFamilies() []Family {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Family
	for _, f := range []Family{IPv4, IPv6} {
		if e.failed[f] {
			out = append(out, f)
		}
	}
	return out
}

// listen opens the socket of family f and, when s joins, joins the group;
// join reports whether the memberships are to follow the plan.
func (e *Endpoint) listen(s Socket, f Family) (c udp.Conn, join bool, err error) {
	listen := e.cfg.Seam.Listen
	if listen == nil {
		listen = udp.Listen
	}
	addr := netip.AddrPortFrom(f.unspecified(), s.Port)
	opts := udp.Options{ListenPacket: e.cfg.ListenPacket, ReadBuffer: s.ReadBuffer}
	c, err = listen(context.Background(), addr, opts)
	if err != nil {
		return nil, false, err
	}
	if !s.Join || e.cfg.NoMulticast {
		return c, false, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.Plan()
	err = JoinAll(c, Members(p.Selected, f), p.group(f), e.log)
	if err != nil && (f == IPv6 || e.cfg.NoBroadcast) {
		c.Close()
		return nil, false, err
	}
	return c, true, nil
}

// Watch starts following interface changes (see [Watch]): each new plan
// has the joined sockets' memberships follow it, replaces [Endpoint.Plan],
// and is then passed to onPlan, one call at a time, on the watcher's
// goroutine. Call it once, after the sockets are open; after Close it
// does nothing.
func (e *Endpoint) Watch(onPlan func(*Plan)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.watch = Watch(e.cfg, *e.Plan(), e.log, func(p Plan) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if !e.cfg.NoMulticast {
			old := e.Plan().Selected
			for _, j := range e.joined {
				Rejoin(j.c, Members(old, j.fam), Members(p.Selected, j.fam), p.group(j.fam), e.log)
			}
		}
		src := Sources(p.Selected)
		for _, c := range e.conns {
			udp.SetSources(c, src) // IPv6 sockets only
		}
		e.plan.Store(&p)
		onPlan(&p)
	})
}

// Close stops the watcher, closes the sockets and the lister the Endpoint
// opened, and returns the sockets' close errors. A read pending on a
// socket returns. Close is idempotent.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		w := e.watch
		e.closed = true
		e.mu.Unlock()
		w.Stop() // outside mu: its last apply may be waiting for it
		var errs []error
		for _, c := range e.conns {
			errs = append(errs, c.Close())
		}
		e.closeErr = errors.Join(errs...)
		e.closeLister()
	})
	return e.closeErr
}

// Datagram is a received lanfind message that Read kept.
type Datagram struct {
	Beacon beacon.Beacon
	Src    netip.AddrPort
	Meta   udp.Meta // IfIndex is the selected interface it arrived on (see KeepOtherIface)
	Plan   *Plan    // the plan that accepted it
	// Sent is when a sealed datagram was sealed, by its sender's clock;
	// zero in clear mode.
	Sent time.Time
}

// Read reads from c until a datagram is kept and returns it, or returns
// the read error. Each datagram it drops is counted in Drops and logged
// at debug level. buf is the read buffer, at least beacon.MaxSize+1
// bytes so that an oversize datagram is seen and dropped; the Datagram
// keeps nothing of it.
func (e *Endpoint) Read(c udp.Conn, buf []byte) (Datagram, error) {
	for {
		n, src, m, err := c.ReadFrom(buf)
		if err != nil {
			return Datagram{}, err
		}
		if d, ok := e.accept(buf[:n], src, m); ok {
			return d, nil
		}
	}
}

// accept classifies one received datagram: the arrival checks, then the
// codec. It counts and logs a drop.
func (e *Endpoint) accept(p []byte, src netip.AddrPort, m udp.Meta) (Datagram, bool) {
	e.Drops.received.Add(1)
	plan := e.Plan()
	arrival := m.IfIndex
	ifIndex, ok := plan.Arrivals.Accept(m.IfIndex, src.Addr())
	switch {
	case ok:
		m.IfIndex = ifIndex
	case !e.cfg.KeepOtherIface:
		e.Drops.Count(OtherIface)
		e.log.Debug("dropped datagram from an interface not selected",
			"src", src.String(), "ifindex", m.IfIndex)
		return Datagram{}, false
	}
	if a := src.Addr(); a.Is6() && a.IsLinkLocalUnicast() {
		// The socket zoned it with the arrival index; name it.
		if name, ok := plan.IfName(arrival); ok {
			src = netip.AddrPortFrom(a.WithZone(name), src.Port())
		}
	}
	if e.cfg.OnLinkOnly && !plan.Arrivals.OnLink(m.IfIndex, src.Addr()) {
		// Routed here, or a forged source: lanfind talks to neighbours only.
		e.Drops.Count(OffLink)
		e.log.Debug("dropped datagram from an off-link source",
			"src", src.String(), "ifindex", m.IfIndex)
		return Datagram{}, false
	}
	b, sent, drop, err := e.Codec.decode(p)
	switch {
	case drop == Foreign:
		e.log.Debug("dropped foreign datagram", "src", src.String(), "len", len(p))
	case drop != Keep:
		e.log.Debug("dropped datagram", "src", src.String(), "err", err)
	default:
		return Datagram{Beacon: b, Src: src, Meta: m, Plan: plan, Sent: sent}, true
	}
	e.Drops.Count(drop)
	return Datagram{}, false
}
