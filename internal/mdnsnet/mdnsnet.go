package mdnsnet

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/mdns"
)

// Config configures [New]. The zero value uses every usable interface of
// the calling goroutine's network namespace.
type Config struct {
	// Lister lists the interfaces. Defaults to the system's lister for
	// the calling goroutine's namespace (iface.System), which New opens
	// and Close closes. A lister that is an [iface.Subscriber] is
	// followed for changes (see "Interface changes" in the package
	// comment); it must stay open until Close.
	Lister iface.Lister
	// Interfaces names the interfaces to use (globs allowed). Defaults to
	// every usable interface (iface.Select).
	Interfaces []string
	// Exclude names interfaces not to use. Defaults to none.
	Exclude []string
	// ListenPacket opens the socket. Defaults to internal/udp's.
	ListenPacket udp.ListenFunc
	// NoReusePort opens the sockets without SO_REUSEPORT, for a one-shot
	// querier that asks for unicast answers: they then reach it, not
	// another socket of its user on port 5353 (see "Sharing port 5353"
	// in the package comment). Defaults to false: in that group, as
	// responders and continuing queriers are.
	NoReusePort bool
	// NoIPv4 leaves IPv4 (224.0.0.251) out, NoIPv6 IPv6 (ff02::fb), as
	// lanfind's own endpoint does (their addresses are ignored). Defaults
	// to false: both families, each where it works.
	NoIPv4, NoIPv6 bool
	// Logger receives debug messages about dropped datagrams. Defaults to
	// discarding them.
	Logger *slog.Logger
}

// Packet is one received mDNS message.
type Packet struct {
	Msg mdns.Message
	// Src is the sender's address and port; a port other than 5353 marks
	// a legacy unicast querier (RFC 6762 §6.7).
	Src netip.AddrPort
	// Iface is the arrival interface.
	Iface iface.Interface
	// Dst is the destination: the group, or a unicast address.
	Dst netip.Addr
	// Size is the datagram's length in bytes.
	Size int
}

// Stats counts an endpoint's traffic. All counters only grow.
type Stats struct {
	Sent, SentBytes         uint64
	Received, ReceivedBytes uint64
	// Own counts datagrams of this endpoint looped back by the kernel.
	Own uint64
	// Dropped counts datagrams that were oversize, malformed, off-link or
	// from an interface not in use.
	Dropped uint64
}

// Change is how the endpoint's interfaces changed, as [Endpoint.Loop]
// passes it on (see "Interface changes" in the package comment).
type Change struct {
	// Added holds the interfaces new to the endpoint and those whose
	// addresses changed or that gained carrier (endpoint.Diff), as they
	// are now: where a responder probes and announces again and a
	// querier asks again.
	Added []iface.Interface
	// Removed holds the interfaces no longer in use, as they were.
	Removed []iface.Interface
	// Before holds the interfaces in use before the change.
	Before []iface.Interface
}

// Endpoint is an mDNS socket joined to the group on the chosen interfaces.
// Send, SendTo, Interfaces and Stats are safe for concurrent use.
type Endpoint struct {
	conn  udp.Conn // IPv4, nil when it could not be opened or NoIPv4
	conn6 udp.Conn // IPv6, nil when it could not be opened or NoIPv6
	log   *slog.Logger
	cfg   endpoint.Config // the selection, for the watcher
	// cur is the interface set in force; replaced as a whole when the
	// interfaces change.
	cur atomic.Pointer[ifaceSet]

	sent, sentBytes, recv, recvBytes, own, dropped atomic.Uint64

	// mu guards recent.
	mu sync.Mutex
	// recent holds hashes of datagrams sent in the last ownWindow, to drop
	// their looped-back copies.
	recent []sentDatagram

	// chMu serializes interface changes and guards before, watch,
	// watching and closed.
	chMu sync.Mutex
	// before is the interface set of the oldest change Loop has not
	// passed on yet; nil when there is none.
	before   *ifaceSet
	changed  chan struct{} // 1-buffered: a change is pending
	watch    *endpoint.Watcher
	watching bool // Follow has started the watcher (or tried)
	closed   bool // Close has begun: Follow starts nothing

	closeLister func()
	closeOnce   sync.Once
	closeErr    error
}

// ifaceSet is the interfaces an endpoint uses at one time. It is never
// modified once in force.
type ifaceSet struct {
	plan   endpoint.Plan     // the selection it came from
	ifaces []iface.Interface // joined on either family, by index
	// joined4 and joined6 hold the indexes of the interfaces joined per
	// family.
	joined4, joined6 map[int]bool
}

// newSet computes the interfaces of plan p the endpoint uses: those that
// can join a family it has a socket of.
func (e *Endpoint) newSet(p endpoint.Plan) *ifaceSet {
	s := &ifaceSet{plan: p, joined4: map[int]bool{}, joined6: map[int]bool{}}
	if e.conn != nil {
		for _, i := range endpoint.Members(p.Selected, endpoint.IPv4) {
			s.joined4[i.Index] = true
		}
	}
	if e.conn6 != nil {
		for _, i := range endpoint.Members(p.Selected, endpoint.IPv6) {
			s.joined6[i.Index] = true
		}
	}
	for _, i := range p.Selected {
		if s.joined4[i.Index] || s.joined6[i.Index] {
			s.ifaces = append(s.ifaces, i)
		}
	}
	return s
}

type sentDatagram struct {
	hash uint64
	at   time.Time
}

const (
	ownWindow = 2 * time.Second
	maxRecent = 256
)

// New lists and selects the interfaces, opens a socket per family on
// port 5353 on the calling goroutine, joins 224.0.0.251 and ff02::fb on
// each chosen interface with an address of the family, and starts
// It fails if no interface could join. [Endpoint.Follow] starts
// following interface changes.
func New(ctx context.Context, cfg Config) (_ *Endpoint, err error) {
	if cfg.NoIPv4 && cfg.NoIPv6 {
		return nil, errors.New("mdnsnet: both IPv4 and IPv6 are disabled")
	}
	lister, closeLister, err := endpoint.OpenLister(cfg.Lister)
	if err != nil {
		return nil, fmt.Errorf("mdnsnet: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Endpoint{
		log:         log,
		changed:     make(chan struct{}, 1),
		closeLister: closeLister,
		cfg: endpoint.Config{
			Port:              mdns.Port,
			Group:             mdns.GroupV4,
			Group6:            mdns.GroupV6,
			NoIPv4:            cfg.NoIPv4,
			NoIPv6:            cfg.NoIPv6,
			Interfaces:        slices.Clone(cfg.Interfaces),
			ExcludeInterfaces: slices.Clone(cfg.Exclude),
			NoBroadcast:       true,
			Lister:            lister,
		},
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.Close())
		}
	}()
	plan, err := endpoint.Replan(e.cfg, endpoint.Plan{Port: mdns.Port, Group: mdns.GroupV4, Group6: mdns.GroupV6})
	if err != nil {
		return nil, fmt.Errorf("mdnsnet: %w", err)
	}
	chosen := plan.Selected
	var errs []error
	opts := udp.Options{
		ListenPacket: cfg.ListenPacket,
		MulticastTTL: 255, // RFC 6762 §11
		NoReusePort:  cfg.NoReusePort,
	}
	// One socket per family (see internal/udp), each opened even where
	// no interface has an address of it yet: one may come.
	joined := false
	open := func(f endpoint.Family, addr, group netip.Addr) udp.Conn {
		members := endpoint.Members(chosen, f)
		c, err := listen(ctx, netip.AddrPortFrom(addr, mdns.Port), opts, log)
		if err != nil {
			err = fmt.Errorf("mdnsnet: %v: %w", f, err)
			if len(members) > 0 {
				errs = append(errs, err)
			} else {
				log.Debug("mdns: address family not available", "err", err)
			}
			return nil
		}
		if len(members) > 0 {
			if err := endpoint.JoinAll(c, members, group, log); err != nil {
				errs = append(errs, fmt.Errorf("mdnsnet: %v: %w", f, err))
			} else {
				joined = true
			}
		}
		return c
	}
	if !cfg.NoIPv4 {
		e.conn = open(endpoint.IPv4, netip.IPv4Unspecified(), mdns.GroupV4)
	}
	if !cfg.NoIPv6 {
		e.conn6 = open(endpoint.IPv6, netip.IPv6Unspecified(), mdns.GroupV6)
	}
	e.cur.Store(e.newSet(plan))
	if !joined {
		return nil, fmt.Errorf("mdnsnet: joined the mDNS group on no interface: %w", errors.Join(errs...))
	}
	for _, err := range errs {
		log.Warn("mdns: interface skipped", "err", err)
	}
	return e, nil
}

// listen opens the socket of one family. Without SO_REUSEPORT
// (NoReusePort) a socket cannot bind beside one that has SO_REUSEPORT but
// not SO_REUSEADDR (older mDNSResponder builds for Linux set only the
// first): then it binds with SO_REUSEPORT, joining that socket's group if
// it is of the same user, and the unicast answers may go to the other
// socket.
func listen(ctx context.Context, addr netip.AddrPort, o udp.Options, log *slog.Logger) (
	udp.Conn, error) {
	c, err := udp.Listen(ctx, addr, o)
	if err == nil || !o.NoReusePort || !errors.Is(err, syscall.EADDRINUSE) {
		return c, err
	}
	log.Info("mdns: a socket without SO_REUSEADDR holds the port: joining its SO_REUSEPORT group, "+
		"where unicast answers may reach that socket instead", "addr", addr, "err", err)
	o.NoReusePort = false
	return udp.Listen(ctx, addr, o)
}

// Follow starts following interface changes (see "Interface changes" in
// the package comment), once; a change since New listed the interfaces
// counts as one. A long-running owner calls it at once; a one-shot one
// that ends within a second need not pay for the subscription and a
// second listing of the interfaces. After Close it does nothing.
func (e *Endpoint) Follow() {
	e.chMu.Lock()
	defer e.chMu.Unlock()
	if e.watching || e.closed {
		return
	}
	e.watching = true
	// apply, on the watcher's goroutine, takes chMu: it waits until
	// Follow returns.
	e.watch = endpoint.Watch(e.cfg, e.cur.Load().plan, e.log, e.apply)
}

// apply puts a new plan from the watcher in force: the memberships
// follow it (endpoint.Rejoin), and Loop is told.
func (e *Endpoint) apply(p endpoint.Plan) {
	e.chMu.Lock()
	defer e.chMu.Unlock()
	old := e.cur.Load()
	for _, f := range []struct {
		c     udp.Conn
		fam   endpoint.Family
		group netip.Addr
	}{{e.conn, endpoint.IPv4, mdns.GroupV4}, {e.conn6, endpoint.IPv6, mdns.GroupV6}} {
		if f.c != nil {
			endpoint.Rejoin(f.c, endpoint.Members(old.plan.Selected, f.fam),
				endpoint.Members(p.Selected, f.fam), f.group, e.log)
		}
	}
	s := e.newSet(p)
	e.cur.Store(s)
	added, removed := endpoint.Diff(old.ifaces, s.ifaces)
	if len(added) == 0 && len(removed) == 0 {
		return
	}
	for _, i := range added {
		e.log.Debug("mdns: interface added or changed", "iface", i.Name)
	}
	for _, i := range removed {
		e.log.Debug("mdns: interface gone", "iface", i.Name)
	}
	if e.before == nil {
		e.before = old
	}
	select {
	case e.changed <- struct{}{}:
	default: // one is pending and stands for this one
	}
}

// takeChange returns the change since the last one taken, if any.
func (e *Endpoint) takeChange() (Change, bool) {
	e.chMu.Lock()
	defer e.chMu.Unlock()
	if e.before == nil {
		return Change{}, false
	}
	now := e.cur.Load()
	c := Change{Before: e.before.ifaces}
	c.Added, c.Removed = endpoint.Diff(e.before.ifaces, now.ifaces)
	e.before = nil
	return c, len(c.Added) > 0 || len(c.Removed) > 0
}

// Interfaces returns the interfaces the endpoint joined the group on, as
// they are now. The slice must not be modified.
func (e *Endpoint) Interfaces() []iface.Interface { return e.cur.Load().ifaces }

// Stats returns the traffic counters.
func (e *Endpoint) Stats() Stats {
	return Stats{
		Sent:          e.sent.Load(),
		SentBytes:     e.sentBytes.Load(),
		Received:      e.recv.Load(),
		ReceivedBytes: e.recvBytes.Load(),
		Own:           e.own.Load(),
		Dropped:       e.dropped.Load(),
	}
}

// Run reads datagrams until ctx ends or the endpoint is closed and calls
// handle for each mDNS message from an on-link source. handle runs in the
// read loops, one per address family, so it may be called from two
// goroutines at once and must return quickly. Run returns nil when ctx
// ends or after Close.
func (e *Endpoint) Run(ctx context.Context, handle func(Packet)) error {
	var wg sync.WaitGroup
	var err6 error
	if e.conn6 != nil {
		wg.Go(func() { err6 = e.read(ctx, e.conn6, handle) })
	}
	var err4 error
	if e.conn != nil {
		err4 = e.read(ctx, e.conn, handle)
	}
	wg.Wait()
	return errors.Join(err4, err6)
}

// read is the read loop of one socket.
func (e *Endpoint) read(ctx context.Context, c udp.Conn, handle func(Packet)) error {
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, mdns.MaxMessage+1)
	for {
		n, src, meta, err := c.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("mdnsnet: read: %w", err)
		}
		e.recv.Add(1)
		e.recvBytes.Add(uint64(n))
		if p, ok := e.accept(buf[:n], n == len(buf), src, meta); ok {
			handle(p)
		}
	}
}

// accept checks and parses one datagram.
func (e *Endpoint) accept(b []byte, oversize bool, src netip.AddrPort, meta udp.Meta) (Packet, bool) {
	if oversize {
		return e.drop("oversize", src)
	}
	ifc, ok := e.iface(meta.IfIndex)
	if !ok {
		return e.drop("interface not in use", src)
	}
	if e.isOwn(b, src.Addr()) {
		e.own.Add(1)
		return Packet{}, false
	}
	if !ifc.Contains(src.Addr()) {
		return e.drop("source not on link", src)
	}
	m, err := mdns.Parse(b)
	if err != nil {
		e.log.Debug("mdns: drop datagram", "src", src, "err", err)
		e.dropped.Add(1)
		return Packet{}, false
	}
	return Packet{Msg: m, Src: src, Iface: ifc, Dst: meta.Dst, Size: len(b)}, true
}

func (e *Endpoint) drop(why string, src netip.AddrPort) (Packet, bool) {
	e.log.Debug("mdns: drop datagram", "src", src, "reason", why)
	e.dropped.Add(1)
	return Packet{}, false
}

func (e *Endpoint) iface(index int) (iface.Interface, bool) {
	for _, ifc := range e.Interfaces() {
		if ifc.Index == index {
			return ifc, true
		}
	}
	return iface.Interface{}, false
}

// isLocal reports whether a is an address of one of the endpoint's
// interfaces.
func (e *Endpoint) isLocal(a netip.Addr) bool {
	a = a.WithZone("")
	for _, ifc := range e.Interfaces() {
		for _, ad := range ifc.Addrs {
			if ad.Prefix.Addr() == a {
				return true
			}
		}
	}
	return false
}

func hash(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// isOwn reports whether b, from src, is a copy of a datagram this
// endpoint sent in the last ownWindow.
func (e *Endpoint) isOwn(b []byte, src netip.Addr) bool {
	if !e.isLocal(src) {
		return false
	}
	h := hash(b)
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.recent {
		if s.hash == h && now.Sub(s.at) < ownWindow {
			return true
		}
	}
	return false
}

func (e *Endpoint) remember(b []byte) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	i := 0
	for _, s := range e.recent {
		if now.Sub(s.at) < ownWindow {
			e.recent[i] = s
			i++
		}
	}
	e.recent = append(e.recent[:i], sentDatagram{hash: hash(b), at: now})
	if len(e.recent) > maxRecent {
		e.recent = e.recent[len(e.recent)-maxRecent:]
	}
}

// maxPayload is the largest datagram that fits ifc's MTU unfragmented
// over IPv4 (v6 false) or IPv6.
func maxPayload(ifc iface.Interface, v6 bool) int {
	hdr := 28 // IPv4 and UDP headers
	if v6 {
		hdr = 48
	}
	mtu := ifc.MTU
	if mtu <= 0 || mtu > mdns.MaxMessage+hdr {
		mtu = 1500
	}
	return mtu - hdr
}

// Send multicasts m to the group on the interface with index ifIndex (0:
// on every interface), of those in use now: nothing goes to one that has
// gone. A message that does not fit the MTU is split
// (see [Split]).
func (e *Endpoint) Send(m *mdns.Message, ifIndex int) error {
	var errs []error
	s := e.cur.Load()
	for _, ifc := range s.ifaces {
		if ifIndex != 0 && ifc.Index != ifIndex {
			continue
		}
		if s.joined4[ifc.Index] {
			errs = append(errs, e.write(m, ifc, false, func(b []byte) (int, error) {
				return e.conn.WriteTo(b, netip.AddrPortFrom(mdns.GroupV4, mdns.Port), ifc.Index)
			}))
		}
		if s.joined6[ifc.Index] {
			errs = append(errs, e.write(m, ifc, true, func(b []byte) (int, error) {
				return e.conn6.WriteTo(b, netip.AddrPortFrom(mdns.GroupV6, mdns.Port), ifc.Index)
			}))
		}
	}
	return errors.Join(errs...)
}

// SendTo sends m by unicast to dst, a neighbour on the link of interface
// ifIndex.
func (e *Endpoint) SendTo(m *mdns.Message, dst netip.AddrPort, ifIndex int) error {
	ifc, ok := e.iface(ifIndex)
	if !ok {
		return fmt.Errorf("mdnsnet: send to %v: interface %d not in use", dst, ifIndex)
	}
	c, v6 := e.conn, false
	if dst.Addr().Is6() && !dst.Addr().Is4In6() {
		c, v6 = e.conn6, true
	}
	if c == nil {
		return fmt.Errorf("mdnsnet: send to %v: no socket of its family", dst)
	}
	return e.write(m, ifc, v6, func(b []byte) (int, error) {
		return c.WriteToNeighbor(b, dst, ifc.Index)
	})
}

func (e *Endpoint) write(m *mdns.Message, ifc iface.Interface, v6 bool, send func([]byte) (int, error)) error {
	parts, err := Split(m, maxPayload(ifc, v6))
	if err != nil {
		return fmt.Errorf("mdnsnet: %s: %w", ifc.Name, err)
	}
	for _, b := range parts {
		e.remember(b)
		if _, err := send(b); err != nil {
			return fmt.Errorf("mdnsnet: %s: %w", ifc.Name, err)
		}
		e.sent.Add(1)
		e.sentBytes.Add(uint64(len(b)))
	}
	return nil
}

// Split packs m into datagrams of at most max bytes: when m is too large
// its answers are split in halves, the questions stay in the first part,
// and a query's parts but the last carry the TC bit (RFC 6762 §7.2: more
// known answers follow). Additional records that do not fit are left out.
func Split(m *mdns.Message, max int) ([][]byte, error) {
	b, err := m.AppendPack(nil)
	if err != nil {
		return nil, err
	}
	if len(b) <= max {
		return [][]byte{b}, nil
	}
	if len(m.Additionals) > 0 {
		n := *m
		n.Additionals = nil
		return Split(&n, max)
	}
	if len(m.Answers) < 2 {
		return nil, fmt.Errorf("mdnsnet: message of %d bytes does not fit %d", len(b), max)
	}
	half := len(m.Answers) / 2
	first, second := *m, *m
	first.Answers = m.Answers[:half]
	second.Answers = m.Answers[half:]
	second.Questions = nil
	second.Authorities = nil
	if !m.Response {
		first.Truncated = true
	}
	p1, err := Split(&first, max)
	if err != nil {
		return nil, err
	}
	p2, err := Split(&second, max)
	if err != nil {
		return nil, err
	}
	return append(p1, p2...), nil
}

// Close stops following interface changes and closes the sockets and the
// lister New opened; Run returns. It is idempotent.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.chMu.Lock()
		w := e.watch
		e.closed = true
		e.chMu.Unlock()
		w.Stop() // outside chMu: its last apply may be waiting for it
		var errs []error
		for _, c := range []udp.Conn{e.conn, e.conn6} {
			if c != nil {
				errs = append(errs, c.Close())
			}
		}
		e.closeErr = errors.Join(errs...)
		e.closeLister()
	})
	return e.closeErr
}

// Loop runs the read loop ([Endpoint.Run]) in a goroutine and serves its
// packets, the interface changes and a timer on the calling goroutine, so
// that handle, change and tick never run at the same time: handle for each
// packet, change (if not nil) for each change of the interfaces in use
// since the last one Loop passed on, and tick at once, after every packet
// and change, when the delay tick last returned has passed and when wake
// receives. Loop returns nil when ctx ends, tick reports done or the
// endpoint is closed, and the read loop's error if the socket fails. It
// waits for its goroutine.
func (e *Endpoint) Loop(ctx context.Context, wake <-chan struct{}, handle func(Packet),
	change func(Change), tick func(now time.Time) (time.Duration, bool)) error {
	rctx, cancel := context.WithCancel(ctx)
	packets := make(chan Packet, 64)
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() {
		runErr = e.Run(rctx, func(p Packet) {
			select {
			case packets <- p:
			case <-rctx.Done():
			}
		})
		cancel()
	})
	defer func() {
		cancel()
		wg.Wait()
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-rctx.Done():
			if ctx.Err() != nil {
				return nil
			}
			wg.Wait()
			return runErr // nil after Close
		case p := <-packets:
			handle(p)
		case <-e.changed:
			if c, ok := e.takeChange(); ok && change != nil {
				change(c)
			}
		case <-wake:
		case <-timer.C:
		}
		d, done := tick(time.Now())
		if done {
			return nil
		}
		timer.Reset(d)
	}
}
