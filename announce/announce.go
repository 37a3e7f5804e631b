package announce

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/dedup"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/ratelimit"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/seal"
)

// Defaults.
const (
	// DefaultInterval is how often a beacon is repeated. Five seconds keeps
	// an idle announcer at 24 small datagrams a minute per interface while
	// letting listeners notice a crashed announcer within a TTL.
	DefaultInterval = 5 * time.Second
	// DefaultReplyJitter is the largest random delay before a reply to a
	// browse-all query, so many announcers do not answer in one instant.
	DefaultReplyJitter = 40 * time.Millisecond
	// fastRepeat is when the second beacon goes, so one lost first beacon
	// costs a second, not an interval.
	fastRepeat = time.Second
)

// Service is one service to announce.
type Service struct {
	// Name identifies the service, 1 to 63 bytes. Required.
	Name string
	// Type is the kind of service (e.g. "postgres", "http"), up to 63 bytes.
	// Optional.
	Type string
	// Port is the announced service's own port. Optional (0: none).
	Port uint16
	// Meta is key=value metadata; keys 1 to 63 bytes, values up to 255.
	Meta map[string]string
}

// Config configures a [Sender]. The zero value is valid except that
// Services must name at least one service.
type Config struct {
	// Services to announce; at least one. Two services may not share a
	// name and type.
	Services []Service
	// Interval between beacons, 10ms to 12h. Defaults to [DefaultInterval].
	Interval time.Duration
	// TTL tells listeners how long to keep a service without a fresh
	// beacon; at least two intervals. Defaults to three intervals, so two
	// lost beacons in a row do not make a service vanish.
	TTL time.Duration
	// Port is the UDP port lanfind uses for discovery. Defaults to
	// [beacon.DefaultPort].
	Port uint16
	// Group is the IPv4 multicast group. Defaults to [beacon.DefaultGroup].
	Group netip.Addr
	// Group6 is the IPv6 multicast group, link-local scope. Defaults to
	// [beacon.DefaultGroup6] (ff02::efff:4646).
	Group6 netip.Addr
	// Interfaces names the interfaces to announce on. Defaults to every
	// usable interface (see [iface.Select]). Each entry is a name or a
	// glob such as "eth*".
	Interfaces []string
	// ExcludeInterfaces names interfaces never to use, as names or globs
	// such as "docker*" or "veth*", applied after Interfaces. Defaults to
	// none. A pattern that matches no interface is not an error.
	ExcludeInterfaces []string
	// NoBroadcast disables beacons to subnet broadcast addresses.
	NoBroadcast bool
	// NoMulticast disables beacons to the multicast group.
	NoMulticast bool
	// NoIPv4 and NoIPv6 switch an address family off: its addresses are
	// ignored and no socket of it is opened. Defaults: both on. A family
	// whose sockets cannot be opened is logged once as a warning and the
	// other keeps working.
	NoIPv4 bool
	NoIPv6 bool
	// Hostname is the host name put in beacons. Defaults to os.Hostname.
	Hostname string
	// MachineID seeds instance IDs. Defaults to the contents of
	// /etc/machine-id (or /var/lib/dbus/machine-id); empty if neither exists.
	MachineID string
	// ReplyJitter is the largest random delay before answering a query for
	// all services. Defaults to [DefaultReplyJitter]; negative means none.
	ReplyJitter time.Duration
	// Lister lists interfaces. Defaults to the system lister for the
	// calling goroutine's network namespace. When it is an
	// [iface.Subscriber] (the system listers are) the Sender follows
	// interface changes while it lives; see [Interface changes].
	Lister iface.Lister
	// ListenPacket opens the socket, and the short-lived sockets of reply
	// probes while Run runs. Defaults to the internal/udp opener, which
	// opens them in the network namespace of the calling goroutine: New's
	// for the socket, Run's for the probes.
	ListenPacket udp.ListenFunc
	// Logger receives logs. Nil discards them.
	Logger *slog.Logger
	// Keys, when not empty, seal everything the Sender sends with the
	// first key and make it drop every datagram that does not open with
	// one of them (see package seal). Defaults to none: clear datagrams.
	Keys seal.Keys
	// ReplayWindow is how far a sealed query's timestamp may lie from this
	// host's clock before it is dropped as a replay. Defaults to
	// [seal.DefaultWindow]; used only with Keys.
	ReplayWindow time.Duration

	// Seam replaces sockets and clock in this module's tests; its type is
	// internal, so other modules leave it nil.
	Seam *endpoint.Seam
}

// Stats counts what a Sender did. All fields are totals since New.
type Stats struct {
	Beacons     uint64 // announcement and goodbye datagrams sent
	SendErrors  uint64 // datagrams the kernel refused
	Queries     uint64 // distinct query attempts received that match a record
	Replies     uint64 // reply datagrams sent
	Duplicates  uint64 // copies of a matching query attempt already received
	Foreign     uint64 // datagrams on the port without the lanfind magic
	Malformed   uint64 // lanfind datagrams that failed to parse
	BadSource   uint64 // queries from a source that may not be answered
	Unsupported uint64 // datagrams of an unknown protocol version or message kind
	OtherIface  uint64 // datagrams that arrived on an interface not selected
	Overload    uint64 // replies not sent: too many were pending, or the socket was backlogged
	Sealed      uint64 // sealed datagrams dropped because no key is configured
	Unsealed    uint64 // clear lanfind datagrams dropped because a key is configured
	Rejected    uint64 // sealed datagrams that did not open: forged, altered or under another key
	Stale       uint64 // sealed datagrams sent outside the replay window
	Limited     uint64 // queries not answered because their source used up its reply budget
	Unresolved  uint64 // replies dropped because no neighbour answered for their destination
	Slipped     uint64 // queries over their source's budget answered with one datagram (a slip)
}

// Sender announces services. Its methods are safe for concurrent use, but
// only one Run may be active at a time.
type Sender struct {
	cfg     Config
	log     *slog.Logger
	id      uint64 // sender ID, random per process
	seq     atomic.Uint32
	ep      *endpoint.Endpoint // interfaces, socket, codec, read path
	conn    *endpoint.Conn     // opened by ep, a socket per family
	closing chan struct{}      // closed by Close
	hw      net.HardwareAddr   // seeds instance IDs; see buildRecords
	recs    recordSet          // what to announce; see update.go
	seed    maphash.Seed       // of queryKey.digest

	netChanged chan struct{}         // a pending notice that ep's plan changed
	failing    map[iface.Target]bool // targets whose last send failed; Run's goroutine only

	running   atomic.Bool
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup

	// mu guards queries, limiter, refused, slips, closed and
	// probes.reachable.
	mu      sync.Mutex
	queries *dedup.Cache[queryKey]
	limiter *ratelimit.Limiter[netip.Addr] // reply bytes per source address
	refused *dedup.Cache[flowKey]          // requests refused for their budget
	slips   *ratelimit.Limiter[netip.Addr] // slips per source address
	closed  bool
	probes  probing // see probe.go

	stats struct {
		beacons, sendErrors, queries, replies, dups atomic.Uint64
		badSource, overload, limited, unresolved    atomic.Uint64
		slipped                                     atomic.Uint64
	}
}

// queryKey names one copy of a query attempt for answering it once: the
// same query by broadcast and by multicast. Besides (sender, request,
// attempt) it holds what a forger would have to copy as well to pass for
// the querier: a digest of the query's filter and known answers and, in
// clear mode, the source address and port. A forged attempt that differs
// in any of them is another query, so it cannot make the querier's real
// attempt look like a copy already answered. (A sealed query can only be
// replayed, from any source: keyed, the source is left out, so a replay
// is a copy.)
type queryKey struct {
	sender, request uint64
	attempt         uint8
	src             netip.AddrPort
	digest          uint64
}

// New validates cfg, lists interfaces, opens the discovery socket and joins
// the multicast group, all on the calling goroutine (and so in its network
// namespace). It fails when no interface is usable, although a running
// Sender survives losing them all (see [Interface changes]). The caller must
// Close the Sender.
func New(cfg Config) (_ *Sender, err error) {
	cfg, err = withDefaults(cfg)
	if err != nil {
		return nil, err
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
		Seam:              cfg.Seam,
	})
	if err != nil {
		return nil, endpoint.Wrap("announce", err)
	}
	defer func() {
		if err != nil {
			ep.Close()
		}
	}()
	s := &Sender{
		cfg:        cfg,
		log:        cfg.Logger,
		ep:         ep,
		id:         endpoint.RandomID(),
		closing:    make(chan struct{}),
		netChanged: make(chan struct{}, 1),
		failing:    map[iface.Target]bool{},
		limiter:    newReplyLimiter(nil),
		refused:    dedup.New[flowKey](maxRefused, refusedMemory, nil),
		slips:      newSlipLimiter(nil),
		probes:     probing{reachable: map[netip.Addr]time.Time{}},
		seed:       maphash.MakeSeed(),
	}
	replayMemory := endpoint.ReplayMemory(cfg.ReplayWindow, 30*time.Second)
	s.queries = dedup.New[queryKey](4096, replayMemory, ep.Codec.Now)
	plan := ep.Plan()
	s.hw = idHardwareAddr(plan.All)
	addrs := addrsOf(plan.Selected)
	records, err := buildRecords(cfg, s.hw, addrs, ep.Codec.Budget())
	if err != nil {
		return nil, err
	}
	s.recs.init(records, addrs)
	if s.conn, err = ep.Listen(endpoint.Socket{Port: plan.Port, Join: true}); err != nil {
		return nil, endpoint.Wrap("announce", err)
	}
	ep.Watch(s.applyPlan)
	return s, nil
}

func withDefaults(cfg Config) (Config, error) {
	cfg.Services = slices.Clone(cfg.Services)
	cfg.Interfaces = slices.Clone(cfg.Interfaces)
	cfg.ExcludeInterfaces = slices.Clone(cfg.ExcludeInterfaces)
	if len(cfg.Services) == 0 {
		return cfg, errNoService
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if err := CheckInterval(cfg.Interval); err != nil {
		return cfg, fmt.Errorf("announce: interval %v: %w", cfg.Interval, err)
	}
	if cfg.TTL == 0 {
		cfg.TTL = min(3*cfg.Interval, beacon.MaxTTL)
	}
	if err := CheckTTL(cfg.TTL, cfg.Interval); err != nil {
		return cfg, fmt.Errorf("announce: ttl %v: %w", cfg.TTL, err)
	}
	h, err := defaultHostname(cfg.Hostname)
	if err != nil {
		return cfg, err
	}
	cfg.Hostname = h
	if cfg.MachineID == "" {
		cfg.MachineID = readMachineID()
	}
	if cfg.ReplyJitter == 0 {
		cfg.ReplyJitter = DefaultReplyJitter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, checkServices(cfg)
}

// defaultHostname returns h, or this host's name if h is empty, cut to
// beacon.MaxHostLen bytes.
func defaultHostname(h string) (string, error) {
	if h == "" {
		var err error
		if h, err = os.Hostname(); err != nil {
			return "", fmt.Errorf("announce: host name: %w", err)
		}
	}
	if len(h) > beacon.MaxHostLen {
		h = h[:beacon.MaxHostLen]
	}
	return h, nil
}

func readMachineID() string {
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}

// InstanceID derives a service's instance ID. It is stable for the same
// inputs and differs, with overwhelming probability, when any differs.
func InstanceID(machineID, hostname string, hw net.HardwareAddr, name, typ string) uint64 {
	h := sha256.New()
	for _, part := range [][]byte{[]byte("lanfind instance v1"), []byte(machineID), []byte(hostname), hw, []byte(name), []byte(typ)} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// idHardwareAddr returns the hardware address that goes into instance IDs:
// that of the lowest-index non-loopback interface with one, from all
// interfaces rather than the selected ones, so that --iface does not change
// the ID.
func idHardwareAddr(all []iface.Interface) net.HardwareAddr {
	for _, ifc := range all { // sorted by index
		if ifc.Flags&iface.FlagLoopback == 0 && len(ifc.HardwareAddr) > 0 {
			return ifc.HardwareAddr
		}
	}
	return nil
}

// buildRecords validates the services and turns them into beacon records
// that list addrs and derive their instance IDs from hw. Each must fit in
// budget bytes (less than beacon.MaxSize when sealed).
func buildRecords(cfg Config, hw net.HardwareAddr, addrs []netip.Addr, budget int) ([]beacon.Service, error) {
	if len(cfg.Services) == 0 {
		return nil, errNoService
	}
	for i := range Duplicates(cfg.Services) {
		svc := cfg.Services[i]
		return nil, fmt.Errorf("announce: service %q of type %q is listed twice", svc.Name, svc.Type)
	}
	var out []beacon.Service
	for _, svc := range cfg.Services {
		rec := beacon.Service{
			Instance: InstanceID(cfg.MachineID, cfg.Hostname, hw, svc.Name, svc.Type),
			Name:     svc.Name,
			Type:     svc.Type,
			Port:     svc.Port,
			TTL:      cfg.TTL,
			Host:     cfg.Hostname,
			Addrs:    slices.Clone(addrs),
			Meta:     cloneMeta(svc.Meta),
		}
		if err := checkRecord(rec, budget); err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// tooBig explains which of a service's fields make its beacon exceed
// limit bytes. The error wraps err (beacon.ErrTooBig).
func tooBig(rec beacon.Service, size, limit int, err error) error {
	over := size - limit
	biggest, n := "", 0
	for k, v := range rec.Meta {
		if l := len(k) + len(v); l > n || (l == n && k < biggest) {
			biggest, n = k, l
		}
	}
	msg := fmt.Sprintf("service %q: beacon is %d bytes, %d over the maximum of %d",
		rec.Name, size, over, limit)
	if biggest != "" {
		msg = fmt.Sprintf("service %q: metadata makes the beacon %d bytes, "+
			"%d over the maximum of %d; the largest pair is meta %q (%d bytes)",
			rec.Name, size, over, limit, biggest, n)
	}
	if limit < beacon.MaxSize {
		msg += fmt.Sprintf(" (keyed: sealing takes %d of the %d bytes)", beacon.MaxSize-limit, beacon.MaxSize)
	}
	return &wrapped{msg, err}
}

// wrapped is an error with its own text that still matches err.
type wrapped struct {
	msg string // without the "announce: " prefix
	err error
}

func (w *wrapped) Error() string { return "announce: " + w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// Reason returns the error's text without the package prefix, for a
// program that reports it as its own.
func (w *wrapped) Reason() string { return w.msg }

func cloneMeta(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// Instances returns the records this Sender announces, with their instance
// IDs.
func (s *Sender) Instances() []beacon.Service {
	return slices.Clone(s.recs.current())
}

// Targets returns the destinations beacons go to now.
func (s *Sender) Targets() []iface.Target {
	return slices.Clone(s.ep.Plan().Targets)
}

// Stats returns the counters.
func (s *Sender) Stats() Stats {
	d := s.ep.Drops.Load()
	return Stats{
		Beacons:     s.stats.beacons.Load(),
		SendErrors:  s.stats.sendErrors.Load(),
		Queries:     s.stats.queries.Load(),
		Replies:     s.stats.replies.Load(),
		Duplicates:  s.stats.dups.Load(),
		Foreign:     d.Foreign,
		Malformed:   d.Malformed,
		BadSource:   s.stats.badSource.Load(),
		Unsupported: d.Unsupported,
		OtherIface:  d.OtherIface,
		Overload:    s.stats.overload.Load(),
		Sealed:      d.Sealed,
		Unsealed:    d.Unsealed,
		Rejected:    d.Rejected,
		Stale:       d.Stale,
		Limited:     s.stats.limited.Load(),
		Unresolved:  s.stats.unresolved.Load(),
		Slipped:     s.stats.slipped.Load(),
	}
}

// Close closes the socket and waits for the Sender's goroutines. It does not
// send a goodbye; cancel Run's context for that. Close is idempotent.
func (s *Sender) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.closing)
		s.closeErr = s.ep.Close()
		s.wg.Wait()
	})
	return s.closeErr
}

// Run announces until ctx ends, then sends a goodbye (twice, 75 ms apart)
// and returns nil. It answers queries while it runs. It returns an error
// only when the socket fails. It follows interface changes as
// [Interface changes] describes.
func (s *Sender) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("announce: Run is already active")
	}
	defer s.running.Store(false)
	defer s.logTables()

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("announce: Run after Close: %w", net.ErrClosed)
	}
	s.wg.Add(1)
	s.mu.Unlock()

	replies := make(chan reply, 64)
	readErr := make(chan error, 1)
	readDone := make(chan struct{})
	readCtx, stopRead := context.WithCancel(ctx)
	go func() {
		defer s.wg.Done()
		defer close(readDone)
		readErr <- s.readLoop(readCtx, replies)
	}()
	defer func() {
		// Stop the reader before the next Run may start one.
		stopRead()
		s.conn.SetReadDeadline(time.Unix(1, 0))
		<-readDone
		s.conn.SetReadDeadline(time.Time{})
	}()

	st := s.ep.Plan()
	for _, t := range st.Targets {
		s.log.Info("announcing",
			"iface", t.IfName, "dst", t.Dst.String(), "services", len(s.recs.current()))
	}
	s.recs.takeChanges() // the first beacon announces everything
	s.send(beacon.KindAnnounce, s.recs.current())
	hot := newHotplug(st.Selected)
	hotTimer := time.NewTimer(time.Hour)
	hotTimer.Stop()
	defer hotTimer.Stop()
	tick := time.NewTimer(min(fastRepeat, s.cfg.Interval))
	defer tick.Stop()
	replyTimer := time.NewTimer(time.Hour)
	replyTimer.Stop()
	defer replyTimer.Stop()
	probeTimer := time.NewTimer(time.Hour)
	probeTimer.Stop()
	defer probeTimer.Stop()
	defer s.closeProbes()
	var pending replyQueue

	for {
		select {
		case <-ctx.Done():
			s.sayGoodbye()
			return nil
		case err := <-readErr:
			switch {
			case err != nil: // the socket failed: tell listeners while we still can
				s.send(beacon.KindGoodbye, s.goodbyeRecords())
			case ctx.Err() != nil:
				// The reader stopped for ctx (waiting to hand over a
				// reply) before this loop noticed: the goodbye is due
				// all the same.
				s.sayGoodbye()
			}
			return err
		case <-tick.C:
			s.send(beacon.KindAnnounce, s.recs.current())
			tick.Reset(s.cfg.Interval)
		case <-s.netChanged:
			hot.changed(s, time.Now())
			resetAt(hotTimer, hot.next())
		case <-hotTimer.C:
			hot.fire(s, time.Now())
			resetAt(hotTimer, hot.next())
		case <-s.recs.changed:
			s.sendChanges(tick, pending)
		case r := <-replies:
			if len(pending) >= maxPending {
				s.stats.overload.Add(1)
				continue
			}
			heap.Push(&pending, r)
			replyTimer.Reset(time.Until(pending[0].at))
		case <-replyTimer.C:
			now := time.Now()
			for len(pending) > 0 && !pending[0].at.After(now) {
				r := heap.Pop(&pending).(reply)
				if s.sendReply(&r) {
					continue // probing
				}
				if r.again > 0 {
					r.again--
					r.at = now.Add(repeatCopyGap)
					heap.Push(&pending, r)
				}
			}
			if len(pending) > 0 {
				replyTimer.Reset(time.Until(pending[0].at))
			}
			if !s.probes.armed && len(s.probes.inflight) > 0 {
				s.probes.armed = true
				probeTimer.Reset(probePoll)
			}
		case <-probeTimer.C:
			s.probes.armed = false
			for _, r := range s.pollProbes(time.Now()) {
				heap.Push(&pending, r)
			}
			if len(pending) > 0 {
				replyTimer.Reset(time.Until(pending[0].at))
			}
			if len(s.probes.inflight) > 0 {
				s.probes.armed = true
				probeTimer.Reset(probePoll)
			}
		}
	}
}

// sayGoodbye sends the goodbye for every record as Run ends.
func (s *Sender) sayGoodbye() {
	recs := s.goodbyeRecords()
	s.goodbye(recs)
	s.log.Info("sent goodbye", "services", len(recs))
}

// resetAt sets t to fire at at, or leaves it stopped when at is zero.
func resetAt(t *time.Timer, at time.Time) {
	t.Stop()
	if !at.IsZero() {
		t.Reset(max(time.Until(at), 0))
	}
}
