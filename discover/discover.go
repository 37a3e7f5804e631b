package discover

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/seal"
)

// ErrNotFound is returned by [Listener.Resolve] when no instance answered
// before the context ended.
var ErrNotFound = errors.New("discover: no matching service found")

// Config configures a [Listener]. The zero value is valid.
type Config struct {
	// Name, if set, limits results to services with exactly this name.
	// Resolve requires it.
	Name string
	// Type, if set, limits results to services of exactly this type.
	Type string
	// Port is the UDP port lanfind uses for discovery. Defaults to
	// [beacon.DefaultPort].
	Port uint16
	// Group is the IPv4 multicast group. Defaults to [beacon.DefaultGroup].
	Group netip.Addr
	// Group6 is the IPv6 multicast group, link-local scope. Defaults to
	// [beacon.DefaultGroup6] (ff02::efff:4646).
	Group6 netip.Addr
	// Interfaces names the interfaces to listen and query on. Defaults to
	// every usable interface (see [iface.Select]). Each entry is a name or
	// a glob such as "eth*".
	Interfaces []string
	// ExcludeInterfaces names interfaces never to use, as names or globs
	// such as "docker*" or "veth*", applied after Interfaces. Defaults to
	// none. A pattern that matches no interface is not an error.
	ExcludeInterfaces []string
	// NoBroadcast disables queries to subnet broadcast addresses.
	NoBroadcast bool
	// NoMulticast disables joining the group and queries to it.
	NoMulticast bool
	// NoIPv4 and NoIPv6 switch an address family off: its addresses are
	// ignored and no socket of it is opened. Defaults: both on. A family
	// whose sockets cannot be opened is logged once as a warning and the
	// other keeps working.
	NoIPv4 bool
	NoIPv6 bool
	// PreferIPv6 ranks IPv6 addresses before IPv4 ones of the same rank
	// in Result.Addrs (see there). Defaults to false: IPv4 first.
	PreferIPv6 bool
	// QuietWindow is how long Collect waits after a repeated query for new
	// answers, and the pace of repeats once answers have been heard;
	// Collect settles after three quiet windows in a row. The first
	// query's answers, and any while none has been heard, are awaited
	// twice as long. Responders answer a
	// repeat within a quarter of their reply jitter and copy it 10ms
	// later, a first query within their whole jitter
	// (announce.DefaultReplyJitter, 40ms): QuietWindow must exceed the
	// former and twice it the latter. Defaults to 30ms.
	QuietWindow time.Duration
	// ContestWindow is how long Resolve waits, after the first answer,
	// for a second announcer claiming the same instance, so that a
	// contested answer comes back with Result.Conflict set. A query for
	// one name is answered without jitter, so every claimant's answer
	// comes within a round trip of the first. Defaults to
	// [DefaultContestWindow]; negative means none. With Keys, Resolve does
	// not wait: only a key holder can claim an instance there.
	ContestWindow time.Duration
	// MaxEntries caps the instances one Run, Collect or Resolve keeps, so
	// a flood of forged announcements costs bounded memory. One source
	// address, or one sender, may hold a quarter of them; past that its
	// least recently heard instance makes room for its new one. When the
	// table is full a new instance evicts the least recently heard one of
	// a source that holds more (reported down with [ReasonEvicted],
	// counted in Stats.Evicted), or is dropped (Stats.TableFull); the
	// first time, a warning is logged. Defaults to [DefaultMaxEntries].
	MaxEntries int
	// Lister lists interfaces. Defaults to the system lister for the
	// calling goroutine's network namespace. When it is an
	// [iface.Subscriber] (the system listers are) the Listener follows
	// interface changes from its first Run on, or once a Collect or
	// Resolve has lasted a second; see [Interface changes].
	Lister iface.Lister
	// ListenPacket opens the sockets. Defaults to the internal/udp opener.
	ListenPacket udp.ListenFunc
	// Logger receives logs. Nil discards them.
	Logger *slog.Logger
	// Keys, when not empty, seal queries with the first key and make the
	// Listener drop every datagram that does not open with one of them
	// (see package seal); results then have Verified set. Defaults to
	// none: clear datagrams.
	Keys seal.Keys
	// ReplayWindow is how far a sealed datagram's timestamp may lie from
	// this host's clock before it is dropped as a replay. Defaults to
	// [seal.DefaultWindow]; used only with Keys.
	ReplayWindow time.Duration

	// Refreshes makes Run report [EventRefresh] too, each time an instance
	// is heard again unchanged, so that a display can show the age of its
	// last beacon or answer. Defaults to false: Run reports changes only.
	Refreshes bool

	// Seam replaces sockets and clock in this module's tests; its type is
	// internal, so other modules leave it nil.
	Seam *endpoint.Seam
}

// Path is one way an instance was heard: an arrival interface and the
// datagram's source address, whose family is the family the path used
// (an IPv6 link-local source has the interface as its zone).
type Path struct {
	Iface    string
	IfIndex  int
	Addr     netip.Addr
	LastSeen time.Time
}

// Result is one service instance.
type Result struct {
	// Instance is the announcer's instance ID.
	Instance uint64
	Name     string
	Type     string
	// Port is the announced service's port.
	Port uint16
	// Host is the announcer's host name.
	Host string
	// Addrs are the addresses the announcer reports for itself, best
	// first for this host: addresses in a subnet of the interface the
	// instance was heard on (Addr first among them), then other unicast
	// addresses (IPv4, global and unique local IPv6), both ranks with
	// IPv4 before IPv6 unless Config.PreferIPv6, then container and VM
	// bridge defaults (172.17.0.0/16, 10.88.0.0/16, 192.168.122.0/24), then
	// link-local ones (169.254.0.0/16, and fe80::/10 with Iface as zone),
	// then loopback and the like.
	Addrs []netip.Addr
	Meta  map[string]string
	// TTL is how long the announcer asked to be remembered.
	TTL time.Duration
	// Addr is the source address of the first datagram heard from the
	// instance: the address to connect to from this host. Iface is the
	// interface it arrived on.
	Addr  netip.Addr
	Iface string
	// Paths lists every interface and source address the instance was
	// heard through, ordered by interface index and address.
	Paths    []Path
	LastSeen time.Time
	// Conflict reports whether another sender claims the same instance ID
	// from a different address (for example a cloned machine), or whether
	// datagrams of its one sender contradicted each other within the last
	// minute: sequence numbers that went back, or jumped far ahead and back,
	// which only a forger (in clear mode) makes.
	Conflict bool
	// Sender is the announcing process's random sender ID.
	Sender uint64
	// Verified reports whether the instance's datagrams opened with one of
	// Config.Keys: they come from a key holder, unaltered and recent.
	Verified bool
	// Source names the protocol the result came from: "" for lanfind's
	// own (a Listener never sets it), "mdns" for DNS-SD over mDNS results
	// that the CLI merges in (see package mdns/browse).
	Source string
	// Proto is the transport of an mDNS result's service, "tcp" or "udp";
	// "" for lanfind's own results.
	Proto string
}

// AddrOf returns the address to connect to r over family, 4 or 6 (0:
// either): the first of Addrs of that family (the best, see Addrs), or,
// when the announcer lists none, the source of the first path of that
// family. ok is false when r has neither.
func (r Result) AddrOf(family int) (a netip.Addr, ok bool) {
	is := func(a netip.Addr) bool {
		return family == 0 || (family == 6) == (a.Is6() && !a.Is4In6())
	}
	if k := slices.IndexFunc(r.Addrs, is); k >= 0 {
		return r.Addrs[k], true
	}
	if k := slices.IndexFunc(r.Paths, func(p Path) bool { return is(p.Addr) }); k >= 0 {
		return r.Paths[k].Addr, true
	}
	return netip.Addr{}, false
}

// AddrPort returns Addr with the service's port.
func (r Result) AddrPort() netip.AddrPort { return netip.AddrPortFrom(r.Addr, r.Port) }

// EventKind says what happened to an instance.
type EventKind int

// Event kinds.
const (
	EventUp     EventKind = iota + 1 // first heard
	EventUpdate                      // metadata, port, addresses or paths changed
	EventDown                        // gone; see Event.Reason
	// EventRefresh: heard again, unchanged but for Service.LastSeen;
	// reported only with Config.Refreshes.
	EventRefresh
)

func (k EventKind) String() string {
	switch k {
	case EventUp:
		return "up"
	case EventUpdate:
		return "update"
	case EventDown:
		return "down"
	case EventRefresh:
		return "refresh"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Reasons for [EventDown].
const (
	ReasonGoodbye = "goodbye" // the announcer said goodbye
	ReasonExpired = "expired" // nothing refreshed it within its TTL
	// ReasonIfaceDown: heard only through interfaces that went away;
	// see [Interface changes].
	ReasonIfaceDown = "iface-down"
	// ReasonEvicted: forgotten to make room for a new instance (see
	// Config.MaxEntries).
	ReasonEvicted = "evicted"
)

// Event is one change reported by [Listener.Run].
type Event struct {
	Kind    EventKind
	Reason  string // set for EventDown
	Service Result
}

// Stats counts what a Listener received. All fields are totals since New.
type Stats struct {
	Received       uint64 // datagrams read from both sockets
	Accepted       uint64 // announcements, replies and goodbyes processed
	Duplicates     uint64 // copies of a message already processed
	Foreign        uint64 // datagrams without the lanfind magic
	Malformed      uint64 // lanfind datagrams that failed to parse
	Unsupported    uint64 // datagrams of an unknown protocol version or message kind
	UnknownRequest uint64 // replies whose request ID this listener never sent
	OtherIface     uint64 // datagrams that arrived on an interface not selected
	// OffLink: datagrams whose source lies outside every subnet of
	// their arrival interface, or is a subnet's broadcast or network
	// address (no host's: forged).
	OffLink uint64
	// TableFull: new instances dropped because MaxEntries were held and
	// their source held as many as any, or because 8 senders already
	// claimed the instance ID.
	TableFull uint64
	// Evicted: instances forgotten to make room for new ones (see
	// Config.MaxEntries).
	Evicted     uint64
	Idle        uint64 // datagrams dropped because no Run, Collect or Resolve was active
	QueriesSent uint64 // query datagrams sent
	SendErrors  uint64 // query datagrams the kernel refused
	Sealed      uint64 // sealed datagrams dropped because no key is configured
	Unsealed    uint64 // clear lanfind datagrams dropped because a key is configured
	Rejected    uint64 // sealed datagrams that did not open: forged, altered, other key
	Stale       uint64 // sealed datagrams sent outside the replay window
	Relayed     uint64 // sealed datagrams from a source address their announcer does not claim
	// Superseded: sealed records of a process that an instance's newer
	// process already replaced (a replay across a restart).
	Superseded uint64
	// Implausible: records and goodbyes whose sequence number lay too
	// far from their sender's to be believed (clear mode; see
	// [Result.Conflict]).
	Implausible uint64
}

// Listener finds services. Its methods are safe for concurrent use, but only
// one of Run, Collect and Resolve may be active at a time.
type Listener struct {
	cfg   Config
	log   *slog.Logger
	id    uint64
	seq   atomic.Uint32
	ep    *endpoint.Endpoint // interfaces, sockets, codec, read path
	bconn *endpoint.Conn     // bound to the lanfind port: beacons and goodbyes
	qconn *endpoint.Conn     // ephemeral port: sends queries, receives replies

	netChanged chan struct{} // a pending notice that ep's plan changed
	watchOnce  sync.Once     // starts following interface changes

	in        chan packet
	done      chan struct{}
	busy      atomic.Bool
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup

	stats struct {
		accepted, dups, unknownReq, tableFull, idle, sent, sendErrors atomic.Uint64
		relayed, implausible, superseded, evicted                     atomic.Uint64
	}
}

type packet struct {
	b    beacon.Beacon
	src  netip.AddrPort
	m    udp.Meta
	at   time.Time // when it was read
	sent time.Time // when it was sealed, by the sender's clock; zero in clear mode
}

// DefaultMaxEntries is the default of Config.MaxEntries: room for a LAN of
// 200 hosts with 80 services each, far more than one operation is
// expected to meet, while a flood of forged instances still holds the
// table to a bounded size. A larger LAN sets Config.MaxEntries (the
// command's --max-entries).
const DefaultMaxEntries = 16384

// DefaultContestWindow is Config.ContestWindow's default: a round trip on
// a LAN with room for a loaded responder, far below the reply jitter of a
// browse, and the only wait a clear-mode resolve adds to the first answer.
const DefaultContestWindow = 20 * time.Millisecond

// New validates cfg, lists interfaces, opens both sockets and joins the
// group, on the calling goroutine (and so in its network namespace). It
// fails when no interface is usable, although a Listener survives losing
// them all later (see [Interface changes]). It starts reading at once; the
// caller must Close the Listener.
func New(cfg Config) (_ *Listener, err error) {
	if len(cfg.Name) > beacon.MaxNameLen || len(cfg.Type) > beacon.MaxTypeLen {
		return nil, fmt.Errorf("discover: name or type longer than %d bytes", beacon.MaxNameLen)
	}
	if cfg.QuietWindow <= 0 {
		cfg.QuietWindow = 30 * time.Millisecond
	}
	switch {
	case len(cfg.Keys) > 0 || cfg.ContestWindow < 0:
		cfg.ContestWindow = 0
	case cfg.ContestWindow == 0:
		cfg.ContestWindow = DefaultContestWindow
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ep, err := endpoint.New(endpoint.Config{
		Port:              cfg.Port,
		Group:             cfg.Group,
		Group6:            cfg.Group6,
		NoIPv4:            cfg.NoIPv4,
		NoIPv6:            cfg.NoIPv6,
		Interfaces:        cfg.Interfaces,
		ExcludeInterfaces: cfg.ExcludeInterfaces,
		NoBroadcast:       cfg.NoBroadcast,
		NoMulticast:       cfg.NoMulticast,
		Lister:            cfg.Lister,
		ListenPacket:      cfg.ListenPacket,
		Logger:            cfg.Logger,
		Keys:              cfg.Keys,
		ReplayWindow:      cfg.ReplayWindow,
		OnLinkOnly:        true,
		Seam:              cfg.Seam,
	})
	if err != nil {
		return nil, endpoint.Wrap("discover", err)
	}
	defer func() {
		if err != nil {
			ep.Close()
		}
	}()
	plan := ep.Plan()
	cfg.Port, cfg.Group, cfg.Interfaces, cfg.ExcludeInterfaces = plan.Port, plan.Group, nil, nil
	cfg.Keys = nil // ep.Codec has them
	l := &Listener{
		cfg:        cfg,
		log:        cfg.Logger,
		ep:         ep,
		id:         endpoint.RandomID(),
		in:         make(chan packet, 256),
		done:       make(chan struct{}),
		netChanged: make(chan struct{}, 1),
	}
	const readBuffer = 1 << 20
	beacons := endpoint.Socket{Port: cfg.Port, ReadBuffer: readBuffer, Join: true}
	if l.bconn, err = ep.Listen(beacons); err != nil {
		return nil, endpoint.Wrap("discover", err)
	}
	if l.qconn, err = ep.Listen(endpoint.Socket{ReadBuffer: readBuffer}); err != nil {
		return nil, endpoint.Wrap("discover", err)
	}
	// One read loop per socket: each Conn has one per address family.
	for _, c := range slices.Concat(l.bconn.Sockets(), l.qconn.Sockets()) {
		l.wg.Add(1)
		go l.readLoop(c)
	}
	return l, nil
}

// oneShotWatch is how long a Collect or Resolve runs before the Listener
// starts following interface changes (see [Interface changes]): most end
// well before, and then pay for neither the subscription nor a second
// listing of the interfaces.
const oneShotWatch = time.Second

// watch starts following interface changes, once.
func (l *Listener) watch() { l.watchOnce.Do(func() { l.ep.Watch(l.applyPlan) }) }

// Interfaces returns the interfaces selected now.
func (l *Listener) Interfaces() []iface.Interface { return slices.Clone(l.ep.Plan().Selected) }

// Stats returns the counters.
func (l *Listener) Stats() Stats {
	d := l.ep.Drops.Load()
	return Stats{
		Received:       d.Received,
		Accepted:       l.stats.accepted.Load(),
		Duplicates:     l.stats.dups.Load(),
		Foreign:        d.Foreign,
		Malformed:      d.Malformed,
		Unsupported:    d.Unsupported,
		UnknownRequest: l.stats.unknownReq.Load(),
		OtherIface:     d.OtherIface,
		OffLink:        d.OffLink,
		TableFull:      l.stats.tableFull.Load(),
		Evicted:        l.stats.evicted.Load(),
		Idle:           l.stats.idle.Load(),
		QueriesSent:    l.stats.sent.Load(),
		SendErrors:     l.stats.sendErrors.Load(),
		Sealed:         d.Sealed,
		Unsealed:       d.Unsealed,
		Rejected:       d.Rejected,
		Stale:          d.Stale,
		Relayed:        l.stats.relayed.Load(),
		Implausible:    l.stats.implausible.Load(),
		Superseded:     l.stats.superseded.Load(),
	}
}

// Close closes both sockets and waits for the reading goroutines. It is
// idempotent and safe to call from any goroutine; an active Run, Collect or
// Resolve returns.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		close(l.done)
		l.closeErr = l.ep.Close()
		l.wg.Wait()
	})
	return l.closeErr
}

// readLoop reads and parses datagrams from c until it is closed.
func (l *Listener) readLoop(c udp.Conn) {
	defer l.wg.Done()
	buf := make([]byte, beacon.MaxSize+1)
	for {
		d, err := l.ep.Read(c, buf)
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			l.log.Warn("read failed", "err", err)
			select {
			case <-l.done:
				return
			case <-time.After(100 * time.Millisecond): // do not spin on a persistent error
			}
			continue
		}
		b, src, m := d.Beacon, d.Src, d.Meta
		if b.Sender == l.id || b.Kind == beacon.KindQuery {
			continue
		}
		if !l.sourceClaimed(&b, src) {
			continue // counted and logged there
		}
		if !l.busy.Load() {
			// No operation is running: nobody would look at it before it
			// is stale. (claim also empties what was queued before.)
			l.stats.idle.Add(1)
			continue
		}
		select {
		case l.in <- packet{b: b, src: src, m: m, at: time.Now(), sent: d.Sent}:
		case <-l.done:
			return
		}
	}
}

// claim marks the Listener busy for one operation.
func (l *Listener) claim() (release func(), err error) {
	if !l.busy.CompareAndSwap(false, true) {
		return nil, errors.New("discover: another Run, Collect or Resolve is active")
	}
	select {
	case <-l.done:
		l.busy.Store(false)
		return nil, net.ErrClosed
	default:
	}
	// Datagrams queued while no operation ran are stale: drop them.
	for {
		select {
		case <-l.in:
			l.stats.idle.Add(1)
			continue
		default:
		}
		break
	}
	return func() { l.busy.Store(false) }, nil
}
