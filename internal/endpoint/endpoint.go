package endpoint

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/lanfind/lanfind/beacon"
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

	// mu serializes plan changes and guards conns, joined and watch.
	mu     sync.Mutex
	conns  []udp.Conn // opened by Listen; closed by Close
	joined []udp.Conn // the ones whose memberships follow the plan
	watch  *Watcher

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

// Listen opens the socket s describes, bound to the empty IPv4 address,
// on the calling goroutine. A socket that joins fails only when no join
// succeeded and broadcast is off too. Close closes the socket.
func (e *Endpoint) Listen(s Socket) (udp.Conn, error) {
	listen := e.cfg.Seam.Listen
	if listen == nil {
		listen = udp.Listen
	}
	addr := netip.AddrPortFrom(netip.IPv4Unspecified(), s.Port)
	opts := udp.Options{ListenPacket: e.cfg.ListenPacket, ReadBuffer: s.ReadBuffer}
	c, err := listen(context.Background(), addr, opts)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.Join && !e.cfg.NoMulticast {
		p := e.Plan()
		if err := JoinAll(c, p.Selected, p.Group, e.log); err != nil && e.cfg.NoBroadcast {
			c.Close()
			return nil, err
		}
		e.joined = append(e.joined, c)
	}
	e.conns = append(e.conns, c)
	return c, nil
}

// Watch starts following interface changes (see [Watch]): each new plan
// has the joined sockets' memberships follow it, replaces [Endpoint.Plan],
// and is then passed to onPlan, one call at a time, on the watcher's
// goroutine. Call it once, after the sockets are open.
func (e *Endpoint) Watch(onPlan func(*Plan)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.watch = Watch(e.cfg, *e.Plan(), e.log, func(p Plan) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if !e.cfg.NoMulticast {
			old := e.Plan().Selected
			for _, c := range e.joined {
				Rejoin(c, old, p.Selected, p.Group, e.log)
			}
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
	if e.cfg.OnLinkOnly && !plan.Arrivals.OnLink(m.IfIndex, src.Addr()) {
		// Routed here, or a forged source: lanfind talks to neighbours only.
		e.Drops.Count(OffLink)
		e.log.Debug("dropped datagram from an off-link source",
			"src", src.String(), "ifindex", m.IfIndex)
		return Datagram{}, false
	}
	b, drop, err := e.Codec.Decode(p)
	switch {
	case drop == Foreign:
		e.log.Debug("dropped foreign datagram", "src", src.String(), "len", len(p))
	case drop != Keep:
		e.log.Debug("dropped datagram", "src", src.String(), "err", err)
	default:
		return Datagram{Beacon: b, Src: src, Meta: m, Plan: plan}, true
	}
	e.Drops.Count(drop)
	return Datagram{}, false
}
