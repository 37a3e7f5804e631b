package discover_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/udp"
)

// Sizes of the flood. Small enough for the normal suite; bench/ measures
// the large ones.
const (
	garbageCount  = 10000
	floodQueries  = 2000
	watchMaxTable = 64
)

// TestNSFloodAndGarbage runs an announcer (h0) and a watch (h1) while h2
// sends 10,000 random, truncated and forged datagrams and 2,000 queries
// as fast as it can. Both keep working: a Collect from h1 during the flood
// finds every service, and a service announced after it is reported up.
// The counters show the drops, the watch's tables stay within their caps,
// and the announcer's replies to h2 stay within the per-source limit.
func TestNSFloodAndGarbage(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]

	// The announcer, its socket wrapped to count reply bytes per address.
	// Each service's record nearly fills a datagram, so that each query
	// asks for a large reply.
	rec := &replyCounter{bytes: map[netip.Addr]int{}}
	aLog := &tableLog{}
	meta := map[string]string{"k": strings.Repeat("v", 255), "l": strings.Repeat("v", 255), "m": strings.Repeat("v", 255), "n": strings.Repeat("v", 255)}
	cfg := announce.Config{
		Services:     []announce.Service{{Name: "a", Port: 1, Meta: meta}, {Name: "b", Port: 2, Meta: meta}, {Name: "c", Type: "x", Port: 3, Meta: meta}},
		Interval:     time.Second,
		Lister:       h0.Lister(t),
		Logger:       slog.New(aLog),
		ListenPacket: h0.ListenPacket,
	}
	cfg.Seam = &endpoint.Seam{Listen: func(ctx context.Context, addr netip.AddrPort, o udp.Options) (udp.Conn, error) {
		c, err := udp.Listen(ctx, addr, o)
		if err != nil || addr.Addr().Is6() {
			return c, err // the lab is IPv4 only: count the IPv4 socket
		}
		rec.Conn = c
		return rec, nil
	}}
	sender, stopSender := startSender(t, cfg)

	// The watch, with a small table so the flood fills it.
	wLog := &tableLog{}
	watch, ev, stopWatch := startWatch(t, discover.Config{ListenPacket: h1.ListenPacket, Lister: h1.Lister(t), Logger: slog.New(wLog), MaxEntries: watchMaxTable})
	ev.waitUp(t, "a", "b", "c")

	// The flood, from h2.
	flooder, err := udp.Listen(t.Context(), netip.AddrPortFrom(netip.IPv4Unspecified(), 0), udp.Options{ListenPacket: h2.ListenPacket, ReadBuffer: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { flooder.Close() })
	received := make(chan int, 1)
	go func() { received <- drainBytes(flooder) }()
	bcast := netip.AddrPortFrom(h2.Broadcast("eth0"), beacon.DefaultPort)
	announcer := netip.AddrPortFrom(h0.Addr("eth0"), beacon.DefaultPort)
	watchQ := netip.AddrPortFrom(h1.Addr("eth0"), watch.QueryAddr().Port())
	half, resume := make(chan struct{}), make(chan struct{})
	floodDone := make(chan floodResult, 1)
	go func() { floodDone <- flood(flooder, bcast, announcer, watchQ, half, resume) }()

	// A Collect from h1 while the flood runs finds every service.
	<-half
	// (A long quiet window: the flood competes for the CPU with the
	// announcer, so on a busy machine answers may take longer than the
	// default 100ms.)
	collector, err := discover.New(discover.Config{ListenPacket: h1.ListenPacket, Lister: h1.Lister(t), QuietWindow: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { collector.Close() })
	cctx, ccancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer ccancel()
	collectStart := time.Now()
	close(resume) // the second half of the flood runs while Collect does
	rs, err := collector.Collect(cctx)
	if err != nil {
		t.Fatalf("Collect during the flood: %v", err)
	}
	collectTime := time.Since(collectStart)
	fr := <-floodDone
	if fr.err != nil {
		t.Fatalf("flood: %v", fr.err)
	}
	for _, name := range []string{"a", "b", "c"} {
		if !slices.ContainsFunc(rs, func(r discover.Result) bool { return r.Name == name && r.Addr == h0.Addr("eth0") }) {
			t.Errorf("Collect during the flood did not find %s from %s (found %d results in %v; collector stats %+v; announcer stats %+v)",
				name, h0.Addr("eth0"), len(rs), collectTime, collector.Stats(), sender.Stats())
		}
	}

	// After the flood the watch still works: the forged instances expire
	// and a new service is reported up.
	cfg2 := announce.Config{Services: []announce.Service{{Name: "d"}}, Interval: 200 * time.Millisecond, Lister: h0.Lister(t), ListenPacket: h0.ListenPacket}
	startSender(t, cfg2)
	ev.waitUp(t, "d")

	// The announcer sent h2 no more than the limit allows for the time
	// the flood lasted, however many queries it sent.
	flooderAddr := h2.Addr("eth0")
	sent := rec.sent(flooderAddr)
	elapsed := time.Since(fr.queriesStart)
	limit := announce.ReplyBurstBytes + int(elapsed.Seconds()*announce.ReplyBytesPerSecond) + announce.MaxReplyDatagrams*beacon.MaxSize
	ast := sender.Stats()
	if sent > limit {
		t.Errorf("announcer sent the flooding source %d bytes in %v, want at most %d",
			sent, elapsed, limit)
	}
	if ast.Foreign == 0 || ast.Malformed == 0 || ast.Limited == 0 {
		t.Errorf("announcer stats %+v: want foreign, malformed and limited drops counted", ast)
	}

	stopWatch()
	wst := watch.Stats()
	if wst.Foreign == 0 || wst.Malformed == 0 || wst.TableFull+wst.Evicted == 0 || wst.UnknownRequest == 0 {
		t.Errorf("watch stats %+v: want foreign, malformed, table_full or evicted, and unknown_request "+
			"drops counted", wst)
	}
	if m := ev.maxLive(); m > watchMaxTable {
		t.Errorf("watch held up to %d instances, want at most MaxEntries %d", m, watchMaxTable)
	}
	entries, seen := wLog.get("entries"), wLog.get("seen_ids")
	if entries < 0 || entries > watchMaxTable || seen < 0 || seen > 8192 {
		t.Errorf("watch tables at the end: %d entries, %d seen IDs; want at most %d and 8192",
			entries, seen, watchMaxTable)
	}
	stopSender()
	sources := aLog.get("reply_sources")
	if sources < 0 || sources > 4096 {
		t.Errorf("announcer reply limiter holds %d sources, want 0 to 4096", sources)
	}
	flooder.Close()
	t.Logf("collect during the flood: %d results in %v", len(rs), collectTime)
	t.Logf("flood: %d garbage datagrams and %d queries in %v; announcer: %d queries, %d limited, %d bytes to the flooder (%d received there), limit %d; "+
		"watch: received %d, foreign %d, malformed %d, unknown request %d, table full %d, evicted %d, max %d live instances, %d seen IDs at the end",
		garbageCount, floodQueries, fr.duration, ast.Queries, ast.Limited, sent, <-received, limit,
		wst.Received, wst.Foreign, wst.Malformed, wst.UnknownRequest, wst.TableFull, wst.Evicted, ev.maxLive(), seen)
}

type floodResult struct {
	queriesStart time.Time
	duration     time.Duration // spent sending, without the pause halfway
	err          error
}

// flood sends garbage and queries, interleaved, as fast as it can. Halfway
// through it closes half and waits for resume to be closed. Garbage goes to the subnet broadcast address
// (the announcer and the watch both hear it) and to the watch's query
// socket; queries go to the announcer.
func flood(c udp.Conn, bcast, announcer, watchQ netip.AddrPort, half chan<- struct{}, resume <-chan struct{}) floodResult {
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	res := floodResult{queriesStart: start}
	perQuery := garbageCount / floodQueries
	for i := range garbageCount + floodQueries {
		if i == (garbageCount+floodQueries)/2 {
			close(half)
			paused := time.Now()
			<-resume
			start = start.Add(time.Since(paused))
		}
		var err error
		if i%(perQuery+1) == perQuery {
			q := beacon.Beacon{Kind: beacon.KindQuery, Sender: 666, Seq: uint32(i), RequestID: uint64(i + 1), Query: &beacon.Query{}}
			if i%2 == 0 {
				q.Query.Name = "a"
			}
			p, _ := q.Marshal()
			_, err = c.WriteTo(p, announcer, 0)
		} else {
			dst := bcast
			if i%7 == 0 {
				dst = watchQ
			}
			_, err = c.WriteTo(garbage(rng, i), dst, 0)
		}
		if err != nil {
			res.err = fmt.Errorf("datagram %d: %w", i, err)
			return res
		}
	}
	res.duration = time.Since(start)
	return res
}

// garbage returns datagram i of the flood: random bytes, random bytes
// after the lanfind magic, a truncated beacon, a forged announcement of a
// new instance (short TTL), or a forged reply to a request never sent.
func garbage(rng *rand.Rand, i int) []byte {
	random := func(n int) []byte {
		b := make([]byte, n)
		for k := range b {
			b[k] = byte(rng.Uint32())
		}
		return b
	}
	forged := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: rng.Uint64(), Seq: rng.Uint32(),
		Services: []beacon.Service{{Instance: rng.Uint64(), Name: fmt.Sprintf("forged-%d", i), TTL: 300 * time.Millisecond}}}
	switch i % 5 {
	case 0:
		return random(rng.IntN(beacon.MaxSize + 100))
	case 1:
		return append([]byte("LNFD\x01"), random(rng.IntN(200))...)
	case 2:
		p, _ := forged.Marshal()
		return p[:rng.IntN(len(p)-1)+1]
	case 3:
		p, _ := forged.Marshal()
		return p
	default:
		forged.Kind, forged.RequestID = beacon.KindReply, rng.Uint64()|1
		p, _ := forged.Marshal()
		return p
	}
}

// drainBytes reads c until it is closed and returns the bytes received.
func drainBytes(c udp.Conn) int {
	buf := make([]byte, beacon.MaxSize+1)
	total := 0
	for {
		n, _, _, err := c.ReadFrom(buf)
		if err != nil {
			return total
		}
		total += n
	}
}

// startSender creates a Sender and runs it until the returned stop is
// called (or the test ends); stop also closes it.
func startSender(t *testing.T, cfg announce.Config) (*announce.Sender, func()) {
	t.Helper()
	s, err := announce.New(cfg)
	if err != nil {
		t.Fatalf("announce.New: %v", err)
	}
	t.Cleanup(func() { s.Close() }) // after stop, which runInBackground registers later
	stop := runInBackground(t, "announce Run", s.Run)
	return s, func() { stop(); s.Close() }
}

// startWatch creates a Listener and runs Run with an eventLog until the
// returned stop is called (or the test ends).
func startWatch(t *testing.T, cfg discover.Config) (*discover.Listener, *eventLog, func()) {
	t.Helper()
	l, err := discover.New(cfg)
	if err != nil {
		t.Fatalf("discover.New: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	ev := newEventLog()
	stop := runInBackground(t, "watch Run", func(ctx context.Context) error { return l.Run(ctx, ev.add) })
	return l, ev, stop
}

// replyCounter counts the bytes written with WriteToNeighbor (replies),
// per destination address.
type replyCounter struct {
	udp.Conn
	// mu guards bytes.
	mu    sync.Mutex
	bytes map[netip.Addr]int
}

func (c *replyCounter) WriteToNeighbor(b []byte, dst netip.AddrPort, ifIndex int) (int, error) {
	c.mu.Lock()
	c.bytes[dst.Addr()] += len(b)
	c.mu.Unlock()
	return c.Conn.WriteToNeighbor(b, dst, ifIndex)
}

func (c *replyCounter) sent(a netip.Addr) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes[a]
}

// tableLog is a slog.Handler that keeps the integer attributes of the
// last "tables" record and discards everything else.
type tableLog struct {
	// mu guards attrs.
	mu    sync.Mutex
	attrs map[string]int64
}

func (h *tableLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *tableLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *tableLog) WithGroup(string) slog.Handler            { return h }
func (h *tableLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "tables" {
		return nil
	}
	m := map[string]int64{}
	r.Attrs(func(a slog.Attr) bool {
		if a.Value.Kind() == slog.KindInt64 {
			m[a.Key] = a.Value.Int64()
		}
		return true
	})
	h.mu.Lock()
	h.attrs = m
	h.mu.Unlock()
	return nil
}

// get returns attribute key of the last "tables" record, -1 if none.
func (h *tableLog) get(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v, ok := h.attrs[key]; ok {
		return int(v)
	}
	return -1
}

// eventLog records a watch's events for the test goroutine.
type eventLog struct {
	// mu guards the fields below.
	mu      sync.Mutex
	up      map[string]bool // names reported up and not down since
	live    int
	max     int
	changed chan struct{} // closed and replaced on every event
}

func newEventLog() *eventLog {
	return &eventLog{up: map[string]bool{}, changed: make(chan struct{})}
}

func (e *eventLog) add(ev discover.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ev.Kind {
	case discover.EventUp:
		e.up[ev.Service.Name] = true
		e.live++
		e.max = max(e.max, e.live)
	case discover.EventDown:
		delete(e.up, ev.Service.Name)
		e.live--
	}
	close(e.changed)
	e.changed = make(chan struct{})
}

func (e *eventLog) isUp(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.up[name]
}

func (e *eventLog) maxLive() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.max
}

// waitUp waits until every name is up, for a few seconds at most.
func (e *eventLog) waitUp(t *testing.T, names ...string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		e.mu.Lock()
		missing := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return e.up[n] })
		changed := e.changed
		e.mu.Unlock()
		if len(missing) == 0 {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("after 5s the watch has not reported %v up", missing)
		}
	}
}

func mustRun(t *testing.T, h *netnstest.Host, name string, args ...string) string {
	t.Helper()
	out, err := h.Run(t, name, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}
