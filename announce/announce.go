package announce

import (
	"container/heap"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
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
	"github.com/lanfind/lanfind/internal/link"
	"github.com/lanfind/lanfind/internal/ratelimit"
	"github.com/lanfind/lanfind/internal/testhook"
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
	// interface changes while it lives: it announces at once on an
	// interface or address that appears, stops quietly on one that goes,
	// and idles while none is usable; see [Sender.Run].
	Lister iface.Lister
	// ListenPacket opens the socket. Defaults to the internal/udp opener.
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

	listen testhook.Listen  // tests: instead of udp.Listen
	now    func() time.Time // tests: the clock of sealing and the replay window
}

// Stats counts what a Sender did. All fields are totals since New.
type Stats struct {
	Beacons     uint64 // announcement and goodbye datagrams sent
	SendErrors  uint64 // datagrams the kernel refused
	Queries     uint64 // distinct query attempts received
	Replies     uint64 // reply datagrams sent
	Duplicates  uint64 // copies of a query attempt already answered
	Foreign     uint64 // datagrams on the port without the lanfind magic
	Malformed   uint64 // lanfind datagrams that failed to parse
	BadSource   uint64 // queries from a source that may not be answered
	Unsupported uint64 // datagrams of an unknown protocol version or message kind
	OtherIface  uint64 // datagrams that arrived on an interface not selected
	Overload    uint64 // replies not sent because too many were already pending
	Sealed      uint64 // sealed datagrams dropped because no key is configured
	Unsealed    uint64 // clear lanfind datagrams dropped because a key is configured
	Rejected    uint64 // sealed datagrams that did not open: forged, altered or under another key
	Stale       uint64 // sealed datagrams sent outside the replay window
	Limited     uint64 // queries not answered because their source used up its reply budget
}

// Sender announces services. Its methods are safe for concurrent use, but
// only one Run may be active at a time.
type Sender struct {
	cfg     Config
	log     *slog.Logger
	id      uint64 // sender ID, random per process
	seq     atomic.Uint32
	conn    udp.Conn
	codec   link.Codec
	closing chan struct{}    // closed by Close
	hw      net.HardwareAddr // seeds instance IDs; see buildRecords
	recs    recordSet        // what to announce; see update.go

	// netMu serializes writers of net; readers just Load it.
	netMu       sync.Mutex
	net         atomic.Pointer[netState]
	netChanged  chan struct{} // a pending notice that net changed
	watch       *link.Watcher
	closeLister func()
	failing     map[iface.Target]bool // targets whose last send failed; Run's goroutine only

	running   atomic.Bool
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup

	// mu guards queries, limiter and closed.
	mu      sync.Mutex
	queries *dedup.Cache[queryKey]
	limiter *ratelimit.Limiter[netip.Addr] // reply bytes per source address
	closed  bool

	stats struct {
		beacons, sendErrors, queries, replies, dups, foreign, malformed, badSource, unsupported, otherIface, overload, limited atomic.Uint64
		seal                                                                                                                   link.SealCounters
	}
}

type queryKey struct {
	sender, request uint64
	attempt         uint8
}

// New validates cfg, lists interfaces, opens the discovery socket and joins
// the multicast group, all on the calling goroutine (and so in its network
// namespace). It fails when no interface is usable, although a running
// Sender survives losing them all (see Config.Lister). The caller must
// Close the Sender.
func New(cfg Config) (*Sender, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	codec, err := newCodec(cfg)
	if err != nil {
		return nil, err
	}
	s := &Sender{cfg: cfg, log: cfg.Logger, id: link.RandomID(), codec: codec, closing: make(chan struct{}),
		netChanged: make(chan struct{}, 1), failing: map[iface.Target]bool{}}
	s.queries = dedup.New[queryKey](4096, link.ReplayMemory(cfg.ReplayWindow, 30*time.Second), cfg.now)
	s.limiter = newReplyLimiter(nil)

	lister, closeLister, err := link.OpenLister(cfg.Lister)
	if err != nil {
		return nil, fmt.Errorf("announce: %w", err)
	}
	lc := link.Config{Port: cfg.Port, Group: cfg.Group, Interfaces: cfg.Interfaces, ExcludeInterfaces: cfg.ExcludeInterfaces,
		NoBroadcast: cfg.NoBroadcast, NoMulticast: cfg.NoMulticast, Lister: lister}
	plan, err := link.NewPlan(lc)
	if err != nil {
		closeLister()
		return nil, fmt.Errorf("announce: %w", err)
	}
	s.hw = idHardwareAddr(plan.All)
	addrs := addrsOf(plan.Selected)
	records, err := buildRecords(cfg, s.hw, addrs, s.codec.Budget())
	if err != nil {
		closeLister()
		return nil, err
	}
	s.recs.init(records, addrs)
	s.net.Store(&netState{ifs: plan.Selected, arrive: plan.Arrivals, targets: plan.Targets})

	listen := cfg.listen
	if listen == nil {
		listen = udp.Listen
	}
	s.conn, err = listen(context.Background(), netip.AddrPortFrom(netip.IPv4Unspecified(), plan.Port), udp.Options{ListenPacket: cfg.ListenPacket})
	if err != nil {
		closeLister()
		return nil, fmt.Errorf("announce: %w", err)
	}
	if !cfg.NoMulticast {
		if err := link.JoinAll(s.conn, plan.Selected, plan.Group, s.log); err != nil && cfg.NoBroadcast {
			s.conn.Close()
			closeLister()
			return nil, fmt.Errorf("announce: %w", err)
		}
	}
	s.closeLister = closeLister
	s.watch = link.Watch(lc, plan, s.log, s.applyPlan)
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
	msg := fmt.Sprintf("announce: service %q: beacon is %d bytes, %d over the maximum of %d", rec.Name, size, over, limit)
	if biggest != "" {
		msg = fmt.Sprintf("announce: service %q: metadata makes the beacon %d bytes, %d over the maximum of %d; the largest pair is meta %q (%d bytes)",
			rec.Name, size, over, limit, biggest, n)
	}
	if limit < beacon.MaxSize {
		msg += fmt.Sprintf(" (keyed: sealing takes %d of the %d bytes)", beacon.MaxSize-limit, beacon.MaxSize)
	}
	return &wrapped{msg, err}
}

// wrapped is an error with its own text that still matches err.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

func cloneMeta(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Instances returns the records this Sender announces, with their instance
// IDs.
func (s *Sender) Instances() []beacon.Service {
	return slices.Clone(s.recs.current())
}

// Targets returns the destinations beacons go to now.
func (s *Sender) Targets() []iface.Target {
	return slices.Clone(s.state().targets)
}

// Stats returns the counters.
func (s *Sender) Stats() Stats {
	st := Stats{
		Beacons:     s.stats.beacons.Load(),
		SendErrors:  s.stats.sendErrors.Load(),
		Queries:     s.stats.queries.Load(),
		Replies:     s.stats.replies.Load(),
		Duplicates:  s.stats.dups.Load(),
		Foreign:     s.stats.foreign.Load(),
		Malformed:   s.stats.malformed.Load(),
		BadSource:   s.stats.badSource.Load(),
		Unsupported: s.stats.unsupported.Load(),
		OtherIface:  s.stats.otherIface.Load(),
		Overload:    s.stats.overload.Load(),
		Limited:     s.stats.limited.Load(),
	}
	st.Sealed, st.Unsealed, st.Rejected, st.Stale = s.stats.seal.Load()
	return st
}

// Close closes the socket and waits for the Sender's goroutines. It does not
// send a goodbye; cancel Run's context for that. Close is idempotent.
func (s *Sender) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.closing)
		s.watch.Stop()
		s.closeErr = s.conn.Close()
		s.wg.Wait()
		s.closeLister()
	})
	return s.closeErr
}

// reply is a pending answer to one query attempt.
type reply struct {
	at      time.Time
	dst     netip.AddrPort
	ifIndex int
	request uint64
	records []beacon.Service
	again   int      // copies still to send after this one
	packets [][]byte // the datagrams, packed at the first send
}

// Answers to a repeated query go twice, repeatCopyGap apart, and with a
// quarter of the jitter. A repeat that does not list our instances as
// known means the querier missed our answer, so this LAN may be losing
// datagrams: a second copy turns a loss rate p into p² for the answers
// that matter, at no cost on a quiet LAN, where known-answer suppression
// keeps everyone silent on repeats. Few responders answer a repeat, so
// they need less spreading.
const repeatCopyGap = 10 * time.Millisecond

type replyQueue []reply

func (q replyQueue) Len() int           { return len(q) }
func (q replyQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q replyQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *replyQueue) Push(x any)        { *q = append(*q, x.(reply)) }
func (q *replyQueue) Pop() any {
	old := *q
	r := old[len(old)-1]
	*q = old[:len(old)-1]
	return r
}

// maxPending caps queued replies; more are dropped and counted
// (Stats.Overload) rather than growing memory.
const maxPending = 1024

// Run announces until ctx ends, then sends a goodbye (twice, 75 ms apart)
// and returns nil. It answers queries while it runs. It returns an error
// only when the socket fails.
//
// When the interfaces change (see Config.Lister) Run follows: on an
// interface or address that appears it sends a beacon at once and another
// after a second, then keeps the usual schedule; a flapping interface gets
// those bursts at a damped rate. Sends that fail on an interface that is
// going away are counted (Stats.SendErrors) and logged once.
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

	st := s.state()
	for _, t := range st.targets {
		s.log.Info("announcing", "iface", t.IfName, "dst", t.Dst.String(), "services", len(s.recs.current()))
	}
	s.recs.takeChanges() // the first beacon announces everything
	s.send(beacon.KindAnnounce, s.recs.current())
	hot := newHotplug(st.ifs)
	hotTimer := time.NewTimer(time.Hour)
	hotTimer.Stop()
	defer hotTimer.Stop()
	tick := time.NewTimer(min(fastRepeat, s.cfg.Interval))
	defer tick.Stop()
	replyTimer := time.NewTimer(time.Hour)
	replyTimer.Stop()
	defer replyTimer.Stop()
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
				s.sendReply(&r)
				if r.again > 0 {
					r.again--
					r.at = now.Add(repeatCopyGap)
					heap.Push(&pending, r)
				}
			}
			if len(pending) > 0 {
				replyTimer.Reset(time.Until(pending[0].at))
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

// send sends recs as announcements or goodbyes to every target.
func (s *Sender) send(kind beacon.Kind, recs []beacon.Service) {
	s.sendTo(kind, recs, s.state().targets)
}

// sendTo sends recs as announcements or goodbyes to targets.
func (s *Sender) sendTo(kind beacon.Kind, recs []beacon.Service, targets []iface.Target) {
	if len(targets) == 0 {
		return
	}
	if kind == beacon.KindGoodbye {
		s.write(s.packGoodbye(recs), targets)
		return
	}
	s.write(s.pack(kind, 0, recs), targets)
}

// packGoodbye packs goodbyes (announcements with TTL 0) for recs.
func (s *Sender) packGoodbye(recs []beacon.Service) [][]byte {
	recs = slices.Clone(recs)
	for i := range recs {
		recs[i].TTL = 0
	}
	return s.pack(beacon.KindGoodbye, 0, recs)
}

// write sends each datagram to each target.
func (s *Sender) write(pkts [][]byte, targets []iface.Target) {
	for _, p := range pkts {
		for _, t := range targets {
			_, err := s.conn.WriteTo(p, t.Dst, t.IfIndex)
			s.noteSend(t, err)
		}
	}
}

func (s *Sender) sendReply(r *reply) {
	if r.packets == nil {
		// The records were matched when the query arrived. Update or an
		// interface change may have replaced them since (even before
		// Run queued the reply): answer with what is announced now, so
		// no reply brings back a removed service or an old port.
		r.records = s.recs.currentOf(r.records)
		r.packets = capReply(s.pack(beacon.KindReply, r.request, r.records))
		if len(r.packets)*(1+r.again) > MaxReplyDatagrams {
			r.again = 0 // the copy would exceed MaxReplyDatagrams for one query
		}
	}
	for _, p := range r.packets {
		if _, err := s.conn.WriteToNeighbor(p, r.dst, r.ifIndex); err != nil {
			s.stats.sendErrors.Add(1)
			s.log.Warn("reply failed", "dst", r.dst.String(), "err", err)
			continue
		}
		s.stats.replies.Add(1)
	}
}

// pack marshals records into as few datagrams as fit under beacon.MaxSize
// (less seal.Overhead when keyed).
// Each datagram gets its own sequence number: (sender, seq) names one
// message for receivers' duplicate suppression.
func (s *Sender) pack(kind beacon.Kind, request uint64, recs []beacon.Service) [][]byte {
	var out [][]byte
	for len(recs) > 0 {
		n := 1
		for n < len(recs) && n < beacon.MaxServices {
			b := beacon.Beacon{Kind: kind, Sender: s.id, RequestID: request, Services: recs[:n+1]}
			if b.Size() > s.codec.Budget() {
				break
			}
			n++
		}
		b := beacon.Beacon{Kind: kind, Sender: s.id, Seq: s.seq.Add(1), RequestID: request, Services: recs[:n]}
		p, err := s.codec.Encode(&b)
		if err != nil { // New validated every record alone, so this is a bug
			s.log.Error("marshal failed", "name", recs[0].Name, "err", err)
		} else {
			out = append(out, p)
		}
		recs = recs[n:]
	}
	return out
}

// readLoop reads queries until the socket closes or ctx ends.
func (s *Sender) readLoop(ctx context.Context, replies chan<- reply) error {
	buf := make([]byte, beacon.MaxSize+1)
	for {
		n, src, m, err := s.conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("announce: read: %w", err)
		}
		r, ok := s.handle(buf[:n], src, m)
		if !ok {
			continue
		}
		select {
		case replies <- r:
		case <-ctx.Done():
			return nil
		}
	}
}

// handle parses one datagram and decides whether and when to reply.
func (s *Sender) handle(p []byte, src netip.AddrPort, m udp.Meta) (reply, bool) {
	st := s.state()
	ifIndex, ok := st.arrive.Accept(m.IfIndex, src.Addr())
	if !ok {
		s.stats.otherIface.Add(1)
		return reply{}, false
	}
	m.IfIndex = ifIndex
	b, drop, err := s.codec.Decode(p)
	switch drop {
	case link.Foreign:
		s.stats.foreign.Add(1)
		s.log.Debug("dropped foreign datagram", "src", src.String(), "len", len(p))
		return reply{}, false
	case link.Unsupported:
		s.stats.unsupported.Add(1)
		s.log.Debug("dropped datagram", "src", src.String(), "err", err)
		return reply{}, false
	case link.Malformed:
		s.stats.malformed.Add(1)
		s.log.Debug("dropped datagram", "src", src.String(), "err", err)
		return reply{}, false
	case link.Sealed, link.Unsealed, link.Rejected, link.Stale:
		s.stats.seal.Count(drop)
		s.log.Debug("dropped datagram", "src", src.String(), "err", err)
		return reply{}, false
	}
	if b.Kind != beacon.KindQuery || b.Sender == s.id {
		return reply{}, false
	}
	if !answerable(st.ifs, src, m.IfIndex) {
		s.stats.badSource.Add(1)
		s.log.Debug("dropped query from bad source", "src", src.String())
		return reply{}, false
	}
	s.mu.Lock()
	dup := s.queries.Seen(queryKey{b.Sender, b.RequestID, b.Query.Attempt})
	s.mu.Unlock()
	if dup {
		s.stats.dups.Add(1)
		return reply{}, false
	}
	s.stats.queries.Add(1)
	q := b.Query
	var match []beacon.Service
	for _, r := range s.recs.current() {
		if (q.Name != "" && q.Name != r.Name) || (q.Type != "" && q.Type != r.Type) || slices.Contains(q.Known, r.Instance) {
			continue
		}
		match = append(match, r)
	}
	if len(match) == 0 {
		return reply{}, false
	}
	size := replyBytes(match, s.codec.Budget())
	if !s.allowReply(src.Addr(), size) {
		return reply{}, false
	}
	at, jitter, again := time.Now(), s.cfg.ReplyJitter, 0
	if q.Attempt > 0 {
		// A repeat means the querier may be losing datagrams: answer
		// sooner, and twice, if the source's byte budget allows the copy
		// (a copy refused is not a query limited: it is answered once).
		jitter = jitter / 4
		if s.takeBudget(src.Addr(), size) {
			again = 1
		}
	}
	if q.Name == "" && jitter > 0 {
		at = at.Add(randDuration(jitter))
	}
	s.log.Debug("answering query", "src", src.String(), "attempt", q.Attempt, "name", q.Name, "type", q.Type, "services", len(match))
	return reply{at: at, dst: src, ifIndex: m.IfIndex, request: b.RequestID, records: match, again: again}, true
}

// answerable reports whether a reply may go to src, which sent a query
// that arrived on ifIndex, one of the selected interfaces ifs (from the
// same state that accepted the datagram): a unicast IPv4 address
// inside one of that interface's subnets (on-link: a spoofed far-away
// source gets nothing, so a small query cannot aim a larger reply at
// someone elsewhere) that is not a broadcast or subnet address, and a
// non-zero port. sendReply also writes with udp.Conn.WriteToNeighbor, so the
// kernel refuses to route a reply even if this check were wrong.
func answerable(ifs []iface.Interface, src netip.AddrPort, ifIndex int) bool {
	a := src.Addr().Unmap()
	if src.Port() == 0 || !a.Is4() || a.IsMulticast() || a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return false
	}
	onLink := false
	for _, ifc := range ifs {
		for _, ad := range ifc.Addrs {
			// Besides the broadcast address, the subnet's own address
			// (host bits zero): older kernels route it as a broadcast.
			if ad.Broadcast == a || ad.Prefix.Bits() <= 30 && ad.Prefix.Masked().Addr() == a {
				return false
			}
		}
		if ifc.Index == ifIndex && ifc.Contains(a) {
			onLink = true
		}
	}
	return onLink
}

// resetAt sets t to fire at at, or leaves it stopped when at is zero.
func resetAt(t *time.Timer, at time.Time) {
	t.Stop()
	if !at.IsZero() {
		t.Reset(max(time.Until(at), 0))
	}
}

func randDuration(max time.Duration) time.Duration {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(max)))
	if err != nil {
		return 0
	}
	return time.Duration(n.Int64())
}
