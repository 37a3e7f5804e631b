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
	"github.com/lanfind/lanfind/internal/testhook"
	"github.com/lanfind/lanfind/internal/udp"
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
	// usable interface (see [iface.Select]).
	Interfaces []string
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
	// calling goroutine's network namespace.
	Lister iface.Lister
	// ListenPacket opens the socket. Defaults to the internal/udp opener.
	ListenPacket udp.ListenFunc
	// Logger receives logs. Nil discards them.
	Logger *slog.Logger

	listen testhook.Listen // tests: instead of udp.Listen
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
}

// Sender announces services. Its methods are safe for concurrent use, but
// only one Run may be active at a time.
type Sender struct {
	cfg     Config
	log     *slog.Logger
	id      uint64 // sender ID, random per process
	seq     atomic.Uint32
	ifs     []iface.Interface
	arrive  iface.Arrivals
	targets []iface.Target
	records []beacon.Service
	conn    udp.Conn

	running   atomic.Bool
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup

	// mu guards queries and closed.
	mu      sync.Mutex
	queries *dedup.Cache[queryKey]
	closed  bool

	stats struct {
		beacons, sendErrors, queries, replies, dups, foreign, malformed, badSource, unsupported, otherIface, overload atomic.Uint64
	}
}

type queryKey struct {
	sender, request uint64
	attempt         uint8
}

// New validates cfg, lists interfaces, opens the discovery socket and joins
// the multicast group, all on the calling goroutine (and so in its network
// namespace). The caller must Close the Sender.
func New(cfg Config) (*Sender, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	s := &Sender{cfg: cfg, log: cfg.Logger, id: link.RandomID()}
	s.queries = dedup.New[queryKey](4096, 30*time.Second, nil)

	plan, err := link.NewPlan(link.Config{Port: cfg.Port, Group: cfg.Group, Interfaces: cfg.Interfaces,
		NoBroadcast: cfg.NoBroadcast, NoMulticast: cfg.NoMulticast, Lister: cfg.Lister})
	if err != nil {
		return nil, fmt.Errorf("announce: %w", err)
	}
	s.ifs, s.arrive, s.targets = plan.Selected, plan.Arrivals, plan.Targets
	s.records, err = buildRecords(cfg, plan.All, s.ifs)
	if err != nil {
		return nil, err
	}

	listen := cfg.listen
	if listen == nil {
		listen = udp.Listen
	}
	s.conn, err = listen(context.Background(), netip.AddrPortFrom(netip.IPv4Unspecified(), plan.Port), udp.Options{ListenPacket: cfg.ListenPacket})
	if err != nil {
		return nil, fmt.Errorf("announce: %w", err)
	}
	if !cfg.NoMulticast {
		if err := link.JoinAll(s.conn, s.ifs, plan.Group, s.log); err != nil && cfg.NoBroadcast {
			s.conn.Close()
			return nil, fmt.Errorf("announce: %w", err)
		}
	}
	return s, nil
}

func withDefaults(cfg Config) (Config, error) {
	cfg.Services = slices.Clone(cfg.Services)
	cfg.Interfaces = slices.Clone(cfg.Interfaces)
	if len(cfg.Services) == 0 {
		return cfg, errors.New("announce: no service to announce")
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Interval < 10*time.Millisecond {
		return cfg, fmt.Errorf("announce: interval %v is too short (minimum 10ms)", cfg.Interval)
	}
	if cfg.Interval > beacon.MaxTTL/2 {
		return cfg, fmt.Errorf("announce: interval %v is too long (maximum %v)", cfg.Interval, beacon.MaxTTL/2)
	}
	if cfg.TTL == 0 {
		cfg.TTL = min(3*cfg.Interval, beacon.MaxTTL)
	}
	if cfg.TTL < 2*cfg.Interval {
		return cfg, fmt.Errorf("announce: ttl %v is shorter than two intervals (%v): one late beacon would make the service flap", cfg.TTL, 2*cfg.Interval)
	}
	if cfg.TTL > beacon.MaxTTL {
		return cfg, fmt.Errorf("announce: ttl %v is longer than the maximum %v", cfg.TTL, beacon.MaxTTL)
	}
	if cfg.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return cfg, fmt.Errorf("announce: host name: %w", err)
		}
		cfg.Hostname = h
	}
	if len(cfg.Hostname) > beacon.MaxHostLen {
		cfg.Hostname = cfg.Hostname[:beacon.MaxHostLen]
	}
	if cfg.MachineID == "" {
		cfg.MachineID = readMachineID()
	}
	if cfg.ReplyJitter == 0 {
		cfg.ReplyJitter = DefaultReplyJitter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
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

// buildRecords validates the services and turns them into beacon records.
// The hardware address that goes into instance IDs is that of the
// lowest-index non-loopback interface with one, from all interfaces rather
// than the selected ones, so that --iface does not change the ID.
func buildRecords(cfg Config, all, ifs []iface.Interface) ([]beacon.Service, error) {
	var hw net.HardwareAddr
	for _, ifc := range all { // sorted by index
		if ifc.Flags&iface.FlagLoopback == 0 && len(ifc.HardwareAddr) > 0 {
			hw = ifc.HardwareAddr
			break
		}
	}
	var addrs []netip.Addr
	for _, ifc := range ifs {
		for _, a := range ifc.Addrs {
			if len(addrs) < beacon.MaxAddrs && !slices.Contains(addrs, a.Prefix.Addr()) {
				addrs = append(addrs, a.Prefix.Addr())
			}
		}
	}
	type nameType struct{ name, typ string }
	seen := map[nameType]bool{}
	var out []beacon.Service
	for _, svc := range cfg.Services {
		k := nameType{svc.Name, svc.Type}
		if seen[k] {
			return nil, fmt.Errorf("announce: service %q of type %q is listed twice", svc.Name, svc.Type)
		}
		seen[k] = true
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
		b := beacon.Beacon{Kind: beacon.KindAnnounce, Services: []beacon.Service{rec}}
		if err := b.Validate(); err != nil {
			if errors.Is(err, beacon.ErrTooBig) {
				return nil, tooBig(rec, b.Size(), err)
			}
			return nil, fmt.Errorf("announce: %w", err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// tooBig explains which of a service's fields make its beacon exceed
// beacon.MaxSize. The error wraps err (beacon.ErrTooBig).
func tooBig(rec beacon.Service, size int, err error) error {
	over := size - beacon.MaxSize
	biggest, n := "", 0
	for k, v := range rec.Meta {
		if l := len(k) + len(v); l > n || (l == n && k < biggest) {
			biggest, n = k, l
		}
	}
	msg := fmt.Sprintf("announce: service %q: beacon is %d bytes, %d over the maximum of %d", rec.Name, size, over, beacon.MaxSize)
	if biggest != "" {
		msg = fmt.Sprintf("announce: service %q: metadata makes the beacon %d bytes, %d over the maximum of %d; the largest pair is meta %q (%d bytes)",
			rec.Name, size, over, beacon.MaxSize, biggest, n)
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
	return slices.Clone(s.records)
}

// Targets returns the destinations beacons go to.
func (s *Sender) Targets() []iface.Target {
	return slices.Clone(s.targets)
}

// Stats returns the counters.
func (s *Sender) Stats() Stats {
	return Stats{
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
	}
}

// Close closes the socket and waits for the Sender's goroutines. It does not
// send a goodbye; cancel Run's context for that. Close is idempotent.
func (s *Sender) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.closeErr = s.conn.Close()
		s.wg.Wait()
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

// Run announces until ctx ends, then sends a goodbye and returns nil. It
// answers queries while it runs. It returns an error only when the socket
// fails.
func (s *Sender) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("announce: Run is already active")
	}
	defer s.running.Store(false)

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

	for _, t := range s.targets {
		s.log.Info("announcing", "iface", t.IfName, "dst", t.Dst.String(), "services", len(s.records))
	}
	s.send(beacon.KindAnnounce)
	tick := time.NewTimer(min(fastRepeat, s.cfg.Interval))
	defer tick.Stop()
	replyTimer := time.NewTimer(time.Hour)
	replyTimer.Stop()
	defer replyTimer.Stop()
	var pending replyQueue

	for {
		select {
		case <-ctx.Done():
			s.send(beacon.KindGoodbye)
			s.log.Info("sent goodbye", "services", len(s.records))
			return nil
		case err := <-readErr:
			if err != nil { // the socket failed: tell listeners while we still can
				s.send(beacon.KindGoodbye)
			}
			return err
		case <-tick.C:
			s.send(beacon.KindAnnounce)
			tick.Reset(s.cfg.Interval)
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

// send sends all records as announcements or goodbyes to every target.
func (s *Sender) send(kind beacon.Kind) {
	recs := s.records
	if kind == beacon.KindGoodbye {
		recs = make([]beacon.Service, len(s.records))
		for i, r := range s.records {
			r.TTL = 0
			recs[i] = r
		}
	}
	for _, p := range s.pack(kind, 0, recs) {
		for _, t := range s.targets {
			if _, err := s.conn.WriteTo(p, t.Dst, t.IfIndex); err != nil {
				s.stats.sendErrors.Add(1)
				s.log.Warn("send failed", "iface", t.IfName, "dst", t.Dst.String(), "err", err)
				continue
			}
			s.stats.beacons.Add(1)
		}
	}
}

func (s *Sender) sendReply(r *reply) {
	if r.packets == nil {
		r.packets = s.pack(beacon.KindReply, r.request, r.records)
	}
	for _, p := range r.packets {
		if _, err := s.conn.WriteTo(p, r.dst, r.ifIndex); err != nil {
			s.stats.sendErrors.Add(1)
			s.log.Warn("reply failed", "dst", r.dst.String(), "err", err)
			continue
		}
		s.stats.replies.Add(1)
	}
}

// pack marshals records into as few datagrams as fit under beacon.MaxSize.
// Each datagram gets its own sequence number: (sender, seq) names one
// message for receivers' duplicate suppression.
func (s *Sender) pack(kind beacon.Kind, request uint64, recs []beacon.Service) [][]byte {
	var out [][]byte
	for len(recs) > 0 {
		n := 1
		for n < len(recs) && n < beacon.MaxServices {
			b := beacon.Beacon{Kind: kind, Sender: s.id, RequestID: request, Services: recs[:n+1]}
			if b.Size() > beacon.MaxSize {
				break
			}
			n++
		}
		b := beacon.Beacon{Kind: kind, Sender: s.id, Seq: s.seq.Add(1), RequestID: request, Services: recs[:n]}
		p, err := b.Marshal()
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
	ifIndex, ok := s.arrive.Accept(m.IfIndex, src.Addr())
	if !ok {
		s.stats.otherIface.Add(1)
		return reply{}, false
	}
	m.IfIndex = ifIndex
	b, drop, err := link.Decode(p)
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
	}
	if b.Kind != beacon.KindQuery || b.Sender == s.id {
		return reply{}, false
	}
	if !s.answerable(src, m.IfIndex) {
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
	for _, r := range s.records {
		if (q.Name != "" && q.Name != r.Name) || (q.Type != "" && q.Type != r.Type) || slices.Contains(q.Known, r.Instance) {
			continue
		}
		match = append(match, r)
	}
	if len(match) == 0 {
		return reply{}, false
	}
	at, jitter, again := time.Now(), s.cfg.ReplyJitter, 0
	if q.Attempt > 0 {
		jitter, again = jitter/4, 1
	}
	if q.Name == "" && jitter > 0 {
		at = at.Add(randDuration(jitter))
	}
	s.log.Debug("answering query", "src", src.String(), "attempt", q.Attempt, "name", q.Name, "type", q.Type, "services", len(match))
	return reply{at: at, dst: src, ifIndex: m.IfIndex, request: b.RequestID, records: match, again: again}, true
}

// answerable reports whether a reply may go to src, which sent a query
// that arrived on the selected interface ifIndex: a unicast IPv4 address
// inside one of that interface's subnets (on-link: a spoofed far-away
// source gets nothing, so a small query cannot aim a larger reply at
// someone elsewhere) that is not a broadcast address, and a non-zero port.
func (s *Sender) answerable(src netip.AddrPort, ifIndex int) bool {
	a := src.Addr().Unmap()
	if src.Port() == 0 || !a.Is4() || a.IsMulticast() || a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return false
	}
	onLink := false
	for _, ifc := range s.ifs {
		for _, ad := range ifc.Addrs {
			if ad.Broadcast == a {
				return false
			}
		}
		if ifc.Index == ifIndex && ifc.Contains(a) {
			onLink = true
		}
	}
	return onLink
}

func randDuration(max time.Duration) time.Duration {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(max)))
	if err != nil {
		return 0
	}
	return time.Duration(n.Int64())
}
