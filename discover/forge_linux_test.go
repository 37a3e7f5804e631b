package discover_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/netnstest"
)

// The attacks of a LAN host without a key on listeners in clear mode, each
// as the hardening review described it. The attacker reads every clear
// beacon (they are broadcast) and sends what it likes.

// clearAttacker is a socket of a lab host on the lanfind port, bound to
// one of the host's addresses, that keeps the clear beacons it hears and
// passes on the sources of the queries.
type clearAttacker struct {
	c       *net.UDPConn
	mu      sync.Mutex // guards got
	got     []beacon.Beacon
	queries chan heardQuery
	answers atomic.Int64 // datagrams sent by onQuery
	done    chan struct{}
}

// newClearAttacker opens the attacker's socket on h, bound to addr (the
// unspecified address: any of h's).
func newClearAttacker(t *testing.T, h *netnstest.Host, addr netip.Addr) *clearAttacker {
	t.Helper()
	la := netip.AddrPortFrom(addr, beacon.DefaultPort)
	pc, err := h.ListenPacket(t.Context(), "udp4", la.String())
	if err != nil {
		t.Fatal(err)
	}
	a := &clearAttacker{c: pc.(*net.UDPConn), queries: make(chan heardQuery, 64),
		done: make(chan struct{})}
	go func() {
		defer close(a.done)
		buf := make([]byte, beacon.MaxSize+1)
		for {
			n, src, err := a.c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			b, err := beacon.Parse(buf[:n])
			switch {
			case err != nil:
			case b.Kind == beacon.KindAnnounce:
				a.mu.Lock()
				a.got = append(a.got, b)
				a.mu.Unlock()
			case b.Kind == beacon.KindQuery:
				select {
				case a.queries <- heardQuery{src, b.RequestID}:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		a.c.Close()
		<-a.done
	})
	return a
}

// heard waits for a beacon of the service name and returns the latest.
func (a *clearAttacker) heard(t *testing.T, name string) beacon.Beacon {
	t.Helper()
	var b beacon.Beacon
	waitFor(t, "a beacon of "+name, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		for i := len(a.got) - 1; i >= 0; i-- {
			if len(a.got[i].Services) > 0 && a.got[i].Services[0].Name == name {
				b = a.got[i]
				return true
			}
		}
		return false
	})
	return b
}

func (a *clearAttacker) send(t *testing.T, b beacon.Beacon, dst netip.AddrPort) {
	t.Helper()
	p, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.WriteToUDPAddrPort(p, dst); err != nil {
		t.Fatalf("attacker: send to %v: %v", dst, err)
	}
}

// forge sends b from src to dst through the lab host's raw socket f.
func forge(t *testing.T, f *netnstest.Forger, b beacon.Beacon, src, dst netip.AddrPort) {
	t.Helper()
	p, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Send(src, dst, p); err != nil {
		t.Fatal(err)
	}
}

// heardQuery is a query the attacker heard: its source and request ID.
type heardQuery struct {
	src     netip.AddrPort
	request uint64
}

// onQuery answers every query with the datagram answer makes for it, until
// the attacker is closed.
func (a *clearAttacker) onQuery(answer func(heardQuery) beacon.Beacon) {
	for {
		select {
		case q := <-a.queries:
			b := answer(q)
			p, _ := b.Marshal()
			if _, err := a.c.WriteToUDPAddrPort(p, q.src); err == nil {
				a.answers.Add(1)
			}
		case <-a.done:
			return
		}
	}
}

// latestSeq returns the sequence number of the latest beacon heard.
func (a *clearAttacker) latestSeq() uint32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.got[len(a.got)-1].Seq
}

// watchLog records the events of a Run as the services up now. It keeps
// them as they come, so that a test polling it costs little and holds up
// the Run callback (and so the Listener) only briefly, however many
// events a flood brought.
type watchLog struct {
	mu sync.Mutex // guards byName and latest
	// byName: the services up, by name and sender.
	byName map[string]map[uint64]discover.Result
	// latest: per name, the service of byName heard last.
	latest map[string]discover.Result
}

func (w *watchLog) add(ev discover.Event) {
	r := ev.Service
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byName == nil {
		w.byName, w.latest = map[string]map[uint64]discover.Result{}, map[string]discover.Result{}
	}
	senders := w.byName[r.Name]
	if ev.Kind == discover.EventDown {
		delete(senders, r.Sender)
	} else {
		if senders == nil {
			senders = map[uint64]discover.Result{}
			w.byName[r.Name] = senders
		}
		senders[r.Sender] = r
	}
	delete(w.latest, r.Name)
	for _, s := range senders {
		if old, ok := w.latest[r.Name]; !ok || s.LastSeen.After(old.LastSeen) {
			w.latest[r.Name] = s
		}
	}
	if len(senders) == 0 {
		delete(w.byName, r.Name)
	}
}

// live returns the services up now, by name, as the events tell.
func (w *watchLog) live() map[string]discover.Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.latest)
}

// holds reports whether cond holds for the live services now, without
// copying them (cond must not keep or change the map).
func (w *watchLog) holds(cond func(map[string]discover.Result) bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return cond(w.latest)
}

// runWatch runs a Listener on h with Run until the test ends.
func runWatch(t *testing.T, h *netnstest.Host, cfg discover.Config) (*discover.Listener, *watchLog) {
	t.Helper()
	cfg.ListenPacket, cfg.Lister = h.ListenPacket, h.Lister(t)
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	l, err := discover.New(cfg)
	if err != nil {
		t.Fatalf("discover.New: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	w := &watchLog{}
	runInBackground(t, "watch Run", func(ctx context.Context) error { return l.Run(ctx, w.add) })
	// Run drops what comes before it starts; its first query says it has.
	waitFor(t, "the watch running", func() bool { return l.Stats().QueriesSent > 0 })
	return l, w
}

// waitLive waits until cond holds for the live services, for 5s at most.
func (w *watchLog) waitLive(t *testing.T, what string, cond func(map[string]discover.Result) bool) {
	t.Helper()
	waitFor(t, what, func() bool { return w.holds(cond) })
}

// TestNSBroadcastSourceRefused: beacons sent from the subnet's broadcast
// address and from its network address (forged by an attacker's raw
// socket) are not listed; a service at such an address would make a
// UDP client broadcast its data to the whole LAN.
func TestNSBroadcastSourceRefused(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	l, w := runWatch(t, h0, discover.Config{})
	evil := h1.Forger(t)
	from := func(a netip.Addr) netip.AddrPort { return netip.AddrPortFrom(a, beacon.DefaultPort) }
	bcast, network := h1.Broadcast("eth0"), h1.Prefix("eth0").Masked().Addr()
	dst := netip.AddrPortFrom(h0.Addr("eth0"), beacon.DefaultPort)
	rec := func(name string, sender uint64) beacon.Beacon {
		return beacon.Beacon{Kind: beacon.KindAnnounce, Sender: sender, Seq: 1,
			Services: []beacon.Service{{Instance: sender, Name: name, Port: 514, TTL: time.Minute}}}
	}
	forge(t, evil, rec("from-broadcast", 1), from(bcast), dst)
	forge(t, evil, rec("from-network", 2), from(network), dst)
	forge(t, evil, rec("from-host", 3), from(h1.Addr("eth0")), dst) // after the others
	w.waitLive(t, "from-host up", func(m map[string]discover.Result) bool { return m["from-host"].Name != "" })
	live := w.live()
	for _, name := range []string{"from-broadcast", "from-network"} {
		if r, ok := live[name]; ok {
			t.Errorf("%s listed at %v, want it refused", name, r.AddrPort())
		}
	}
	if st := l.Stats(); st.OffLink != 2 {
		t.Errorf("got off_link=%d, want 2 (both refused beacons counted)", st.OffLink)
	}
}

// labCollect runs Collect on a new Listener of h, for 5s at most, and
// returns the results and the Listener's stats.
func labCollect(t *testing.T, h *netnstest.Host) ([]discover.Result, discover.Stats) {
	t.Helper()
	l, err := discover.New(discover.Config{ListenPacket: h.ListenPacket, Lister: h.Lister(t),
		Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	rs, err := l.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rs, l.Stats()
}

// attackLab is a lab of three hosts: a watch on h0, the victim announcer
// of "db" on h1 and the attacker on h2, which returns the victim's latest
// beacon and its destination at the watch.
func attackLab(t *testing.T) (lab *netnstest.Lab, w *watchLog, evil *clearAttacker,
	b beacon.Beacon, dst netip.AddrPort) {
	t.Helper()
	lab = netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	_, w = runWatch(t, h0, discover.Config{})
	evil = newClearAttacker(t, h2, netip.IPv4Unspecified())
	b = victim(t, h1, w, evil)
	return lab, w, evil, b, netip.AddrPortFrom(h0.Addr("eth0"), beacon.DefaultPort)
}

// victim starts an announcer of "db" on h with a 200ms interval and waits
// until w lists it; it returns the attacker's copy of its latest beacon.
func victim(t *testing.T, h *netnstest.Host, w *watchLog, evil *clearAttacker) beacon.Beacon {
	t.Helper()
	startVictim(t, h, w, "db")
	return evil.heard(t, "db")
}

// startVictim starts an announcer of name on port 5432 of h with a 200ms
// interval and waits until w lists it.
func startVictim(t *testing.T, h *netnstest.Host, w *watchLog, name string) {
	t.Helper()
	startSender(t, announce.Config{
		Services:     []announce.Service{{Name: name, Port: 5432}},
		Interval:     200 * time.Millisecond,
		ListenPacket: h.ListenPacket,
		Lister:       h.Lister(t),
	})
	w.waitLive(t, name+" up", func(m map[string]discover.Result) bool { return m[name].Port == 5432 })
}

// stays reports whether cond holds for the live services at every check
// during d (polled every 10ms).
func (w *watchLog) stays(d time.Duration, cond func(map[string]discover.Result) bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if !w.holds(cond) {
			return false
		}
	}
	return w.holds(cond)
}

// TestNSForgedGoodbye: a goodbye forged with the victim's sender ID and a
// sequence number 2³⁰ ahead does not hide the service; one 100 ahead
// (clear mode cannot tell it from the real one) hides it only until the
// next beacon after the goodbye memory (a second) has passed. A Collect while the attacker answers every query with such a
// goodbye still lists the service.
func TestNSForgedGoodbye(t *testing.T) {
	t.Parallel()
	lab, w, evil, b, dst := attackLab(t)
	bye := beacon.Beacon{Kind: beacon.KindGoodbye, Sender: b.Sender, Seq: b.Seq + 1<<30,
		Services: []beacon.Service{b.Services[0]}}
	bye.Services[0].TTL = 0
	evil.send(t, bye, dst)
	up := func(m map[string]discover.Result) bool { return m["db"].Name != "" }
	if !w.stays(time.Second, up) {
		t.Errorf("a goodbye 2^30 ahead hid db; want it ignored")
		if !w.stays(0, up) {
			w.waitLive(t, "db back after the goodbye 2^30 ahead", up)
		}
	}

	bye.Seq = evil.heard(t, "db").Seq + 100
	evil.send(t, bye, dst)
	start := time.Now()
	w.waitLive(t, "db down after a goodbye 100 ahead", func(m map[string]discover.Result) bool { return !up(m) })
	w.waitLive(t, "db back after a goodbye 100 ahead", up)
	t.Logf("a goodbye 100 ahead hid db for %v", time.Since(start))

	// list: every query is answered by a goodbye 2^30 ahead, to the
	// querier's query socket, before the announcer's reply.
	go evil.onQuery(func(heardQuery) beacon.Beacon {
		bye.Seq = evil.latestSeq() + 1<<30
		return bye
	})
	rs, _ := labCollect(t, lab.Hosts[0])
	if n := evil.answers.Load(); n == 0 || !slices.ContainsFunc(rs, func(r discover.Result) bool { return r.Name == "db" }) {
		t.Errorf("Collect with a forged goodbye on each of %d queries: got %v, want db", n, names(rs))
	}
}

// TestNSSeqPoisoning: an announcement forged with the victim's sender ID,
// a sequence number 2³⁰ ahead and a 24-hour TTL does not replace the
// record; one a thousand ahead (clear mode cannot tell it from a genuine
// one that follows lost datagrams) replaces it only until the next genuine
// beacon after a second, which marks the record as a conflict.
func TestNSSeqPoisoning(t *testing.T) {
	t.Parallel()
	lab, w, evil, b, dst := attackLab(t)
	h2 := lab.Hosts[2]
	forged := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: b.Sender, Seq: b.Seq + 1<<30,
		Services: []beacon.Service{b.Services[0]}}
	forged.Services[0].Port, forged.Services[0].TTL = 6666, 24*time.Hour
	forged.Services[0].Host, forged.Services[0].Addrs = "evil", []netip.Addr{h2.Addr("eth0")}
	evil.send(t, forged, dst)
	genuine := func(m map[string]discover.Result) bool { return m["db"].Port == 5432 }
	if !w.stays(time.Second, genuine) {
		t.Errorf("an announcement 2^30 ahead replaced db (port %d); want it ignored", w.live()["db"].Port)
		if !w.stays(0, genuine) {
			w.waitLive(t, "db genuine again after the announcement 2^30 ahead", genuine)
		}
	}

	forged.Seq = evil.heard(t, "db").Seq + 1000
	evil.send(t, forged, dst)
	start := time.Now()
	w.waitLive(t, "the forged port after an announcement 1000 ahead", func(m map[string]discover.Result) bool {
		return m["db"].Port == 6666
	})
	w.waitLive(t, "db genuine again, marked as a conflict", func(m map[string]discover.Result) bool {
		return genuine(m) && m["db"].Conflict
	})
	t.Logf("an announcement 1000 ahead replaced db for %v", time.Since(start))
}

// TestNSSealedReplayAcrossRestart: a sealed beacon of an announcer's
// previous process, captured and replayed (from the announcer's address)
// after the announcer restarted with another port, inside the replay
// window, neither rolls a fresh listener's record back nor shows a
// conflict: an older process of an instance never replaces a newer one.
func TestNSSealedReplayAcrossRestart(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	keys := labKeys(t)
	evil := newAttacker(t, h2, keys)
	cfg := announce.Config{
		Keys:         keys,
		Services:     []announce.Service{{Name: "db", Port: 5432}},
		Interval:     200 * time.Millisecond,
		ListenPacket: h1.ListenPacket,
		Lister:       h1.Lister(t),
	}
	_, stop := startSender(t, cfg)
	old := evil.last(t, beacon.KindAnnounce)
	stop()
	cfg.Services[0].Port = 5433
	startSender(t, cfg)
	_, w := runWatch(t, h0, discover.Config{Keys: keys})
	now := func(m map[string]discover.Result) bool { return m["db"].Port == 5433 && !m["db"].Conflict }
	w.waitLive(t, "db on its new port", now)
	src := netip.AddrPortFrom(h1.Addr("eth0"), beacon.DefaultPort)
	if err := h2.Forger(t).Send(src, netip.AddrPortFrom(h0.Addr("eth0"), beacon.DefaultPort), old); err != nil {
		t.Fatal(err)
	}
	if !w.stays(time.Second, now) {
		r := w.live()["db"]
		t.Errorf("after the replay: db on port %d, conflict %t; want 5433 and no conflict", r.Port, r.Conflict)
	}
}

// TestNSTableFilling: 300 forged datagrams with 24-hour TTLs, full of
// records, from the attacker's address and from forged ones, fill a
// watch's 4096-entry table (the default before the hardening); a genuine service started afterwards is still
// reported, and the watch warns once that its table is full.
func TestNSTableFilling(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	var warns atomic.Int64
	// Not at debug level: the flood's 5,500 lines through t.Log would
	// triple what it costs the watch to read it.
	info := slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})
	l, w := runWatch(t, h0, discover.Config{
		MaxEntries: 4096, // the table of the attack as reported (the default is larger now)
		Logger:     slog.New(warnCounter{info, &warns}),
	})
	evil := h2.Forger(t)
	dst := netip.AddrPortFrom(h0.Addr("eth0"), beacon.DefaultPort)
	base := h2.Addr("eth0").As4()
	n := 0
	for i := range 300 {
		b := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: uint64(1000 + i), Seq: 1}
		for len(b.Services) < beacon.MaxServices {
			rec := beacon.Service{Instance: uint64(n + 1), Name: fmt.Sprintf("f%d", n+1), TTL: 24 * time.Hour}
			if b.Size()+rec.Size() > beacon.MaxSize {
				break
			}
			b.Services = append(b.Services, rec)
			n++
		}
		src := base
		if i%2 == 1 { // every other one from a forged address of the subnet
			src[3] = byte(100 + i%100)
		}
		forge(t, evil, b, netip.AddrPortFrom(netip.AddrFrom4(src), beacon.DefaultPort), dst)
		if i%50 == 49 {
			time.Sleep(5 * time.Millisecond) // let the watch read: the attack is 300 datagrams, not a flood
		}
	}
	// The genuine service starts once the watch has read the attack (on
	// a loaded machine that takes a while), so its deadline is its own.
	waitFor(t, "the watch to read the 300 forged datagrams", func() bool { return l.Stats().Accepted >= 300 })
	if st := l.Stats(); st.TableFull+st.Evicted == 0 {
		t.Fatalf("after the attack: %d dropped, %d evicted; want the table full", st.TableFull, st.Evicted)
	}
	start := time.Now()
	startVictim(t, h1, w, "genuine")
	t.Logf("genuine reported %v after it started", time.Since(start).Round(time.Millisecond))
	if got := warns.Load(); got != 1 {
		t.Errorf("got %d warnings, want 1 (that the table is full)", got)
	}
	st := l.Stats()
	t.Logf("%d forged records; the watch dropped %d and evicted %d", n, st.TableFull, st.Evicted)
}

// TestNSResolveContested: an impostor that answers every query with the
// genuine service's instance ID, its own address and another port (a
// second announcer of the same instance) makes Resolve report a conflict,
// whichever answer comes first.
func TestNSResolveContested(t *testing.T) {
	t.Parallel()
	lab, _, evil, b, _ := attackLab(t)
	h0, h2 := lab.Hosts[0], lab.Hosts[2]
	fake := b.Services[0]
	fake.Port, fake.Addrs = 6666, []netip.Addr{h2.Addr("eth0")}
	var seq atomic.Uint32
	go evil.onQuery(func(q heardQuery) beacon.Beacon {
		return beacon.Beacon{Kind: beacon.KindReply, Sender: 666, Seq: seq.Add(1), RequestID: q.request,
			Services: []beacon.Service{fake}}
	})
	l, err := discover.New(discover.Config{Name: "db", ListenPacket: h0.ListenPacket, Lister: h0.Lister(t),
		Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	unmarked := 0
	for range 5 {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		r, err := l.Resolve(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if !r.Conflict {
			unmarked++
			t.Logf("Resolve returned %v (port %d) without a conflict", r.AddrPort(), r.Port)
		}
	}
	if unmarked > 0 {
		t.Errorf("%d of 5 Resolves returned an answer without its conflict, want none", unmarked)
	}
}
