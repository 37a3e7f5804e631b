package browse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/mdnsnet"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/mdns"
)

// Limits of the cache and of what is reported.
const (
	// MaxRecords is the most records the cache holds.
	MaxRecords = 4096
	// MaxPerSource is the most of them one responder address holds: a
	// host that floods the LAN with records cannot keep the others' out.
	MaxPerSource = MaxRecords / 4
	// MaxTTL bounds a record's TTL, in seconds: 75 minutes, the longest
	// RFC 6762 §10 recommends. A forged record with a TTL of years still
	// expires, and a genuine one is asked for again before then.
	MaxTTL = 75 * 60
	// MaxEntries is the most entries a Browser reports at once.
	MaxEntries = 1024
	// MaxTypes is the most service types browsed when enumerating.
	MaxTypes = 256
)

// Timing of one-shot queries (see the package comment).
const (
	firstRetry   = 130 * time.Millisecond // after the first query: Avahi delays a PTR answer 20 to 120 ms
	retry        = 60 * time.Millisecond  // between later queries: answered at once, by unicast
	fastQueries  = 10                     // queries retry apart before the interval doubles
	quietQueries = 3                      // queries that bring nothing new before Collect settles
	// lossQueries more quiet queries are needed once an answer came only
	// after the first repeat: something was lost (or a responder is
	// slow), and a responder whose answers were lost three times over is
	// not yet unlikely enough on such a LAN.
	lossQueries = 2
	answerWait  = 120 * time.Millisecond // for answers to the last query and after the last change
	// oneShotFollow is how long Collect runs before it follows interface
	// changes (mdnsnet.Endpoint.Follow): most end well before, and then
	// pay for neither the subscription nor a second listing of the
	// interfaces, as lanfind's own one-shot searches.
	oneShotFollow = time.Second
)

// Config configures [New]. The zero value browses every type on every
// usable interface.
type Config struct {
	// Lister lists the interfaces and reports their changes (see
	// "Interface changes" in internal/mdnsnet). Defaults to the system's
	// lister for the calling goroutine's namespace.
	Lister iface.Lister
	// Interfaces and Exclude choose interfaces as iface.Select does.
	// Default: every usable interface.
	Interfaces, Exclude []string
	// NoIPv4 and NoIPv6 leave a family out, as lanfind's own endpoint
	// does. Default: both families, each where it works.
	NoIPv4, NoIPv6 bool
	// Types are the service types browsed. Defaults to every type the
	// LAN announces (DNS-SD service type enumeration).
	Types []mdns.ServiceType
	// Name, if set, keeps only instances with this label (case-insensitive).
	// Defaults to every instance.
	Name string
	// ListenPacket opens the socket. Defaults to internal/udp's.
	ListenPacket udp.ListenFunc
	// NoReusePort opens the socket without SO_REUSEPORT, so that the
	// unicast answers to its unicast-response questions reach it and not
	// another socket of its user on port 5353 (see "Unicast and multicast
	// answers" in the package comment): for a Browser that will Collect,
	// or Run only until its first answer. Defaults to false: the socket
	// shares the user's SO_REUSEPORT group, as a Browser that Runs for
	// long and asks for multicast answers may.
	NoReusePort bool
	// Logger receives debug messages. Defaults to discarding them.
	Logger *slog.Logger
}

// Browser queries for DNS-SD instances. Close may be called from any
// goroutine; Run and Collect must not run at the same time.
type Browser struct {
	ep    *mdnsnet.Endpoint
	log   *slog.Logger
	types []mdns.ServiceType
	name  string
	now   func() time.Time

	// mu guards the fields below; the loop goroutine holds it while it
	// handles a packet or a tick.
	mu      sync.Mutex
	cache   map[string]*cached
	found   map[string]bool      // enumerated type FQDNs, lower case
	asked   map[string]bool      // questions asked before (name and type)
	askedAt map[string]time.Time // when Ask last asked for each PTR name
	started time.Time            // when Run started; zero before
	view    map[uint64]Entry
	bySrc   map[netip.Addr]int // records in cache by the source they are charged to
	dropped int                // records or entries beyond the limits
	changed time.Time
	hot     hotplug // interface changes; the loop goroutine's

	closeOnce sync.Once
}

type cached struct {
	rec      mdns.Record
	received time.Time
	expires  time.Time
	// gone marks a record that a goodbye or a cache flush removed; it is
	// deleted at expires.
	gone    bool
	goodbye bool
	src     netip.AddrPort
	// owner is the source the record counts against (MaxPerSource): the
	// one that first brought it.
	owner netip.Addr
	iface string
	// heard holds the indexes of the interfaces the record arrived on
	// while it lived: when all of them are gone, so is the record.
	heard []int
	// refreshed counts refresh queries sent for it (0 to 4).
	refreshed int
}

// New opens the mDNS socket (see internal/mdnsnet) on the calling
// goroutine.
func New(ctx context.Context, cfg Config) (*Browser, error) {
	for _, t := range cfg.Types {
		if err := mdns.ValidServiceName(t.Name); err != nil || (t.Proto != "tcp" && t.Proto != "udp") {
			return nil, fmt.Errorf("browse: bad service type %v", t)
		}
	}
	ep, err := mdnsnet.New(ctx, mdnsnet.Config{
		Lister:       cfg.Lister,
		Interfaces:   cfg.Interfaces,
		Exclude:      cfg.Exclude,
		NoIPv4:       cfg.NoIPv4,
		NoIPv6:       cfg.NoIPv6,
		ListenPacket: cfg.ListenPacket,
		NoReusePort:  cfg.NoReusePort,
		Logger:       cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("browse: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Browser{
		ep:      ep,
		log:     log,
		types:   slices.Clone(cfg.Types),
		name:    cfg.Name,
		now:     time.Now,
		cache:   map[string]*cached{},
		bySrc:   map[netip.Addr]int{},
		found:   map[string]bool{},
		asked:   map[string]bool{},
		askedAt: map[string]time.Time{},
		view:    map[uint64]Entry{},
	}, nil
}

// Stats returns the socket's traffic counters.
func (b *Browser) Stats() mdnsnet.Stats { return b.ep.Stats() }

// Close closes the socket. It is idempotent.
func (b *Browser) Close() error {
	var err error
	b.closeOnce.Do(func() { err = b.ep.Close() })
	return err
}

// Collect queries until the answers settle (see the package comment) or
// ctx ends, and returns the instances found, sorted by type and name.
// It returns ctx's error only if ctx ended before the first query was
// sent.
func (b *Browser) Collect(ctx context.Context) ([]Entry, error) {
	start := b.now()
	b.changed = start
	var sent []time.Time // when each query went out
	next := start
	lossy := false // an answer came after the first repeat
	err := b.loop(ctx, nil, func(now time.Time) (time.Duration, bool) {
		if now.Sub(start) >= oneShotFollow {
			b.ep.Follow()
		}
		b.mu.Lock()
		complete := b.complete()
		changed := b.changed
		b.mu.Unlock()
		quiet := 0 // queries sent after the last change
		for _, t := range sent {
			if t.After(changed) {
				quiet++
			}
		}
		// A change after the first repeat went out is an answer that the
		// first query did not bring: a lossy LAN asks for more quiet
		// queries.
		lossy = lossy || len(sent) > 1 && changed.After(sent[1])
		need := quietQueries
		if lossy {
			need += lossQueries
		}
		// Once enough quiet queries are out, Collect only waits for their
		// answers: a query due meanwhile would postpone the end.
		done := complete && quiet >= need
		if done && now.Sub(sent[len(sent)-1]) >= answerWait && now.Sub(changed) >= answerWait {
			return 0, true
		}
		if !done && !now.Before(next) {
			if err := b.query(now, queryAllQU); err != nil {
				b.log.Warn("mdns: query", "err", err)
			}
			sent = append(sent, now)
			next = now.Add(retry << max(0, len(sent)-fastQueries))
			if len(sent) == 1 {
				next = now.Add(firstRetry)
			}
		}
		// Wake at the next query or when a wait ends, whichever is first;
		// a wait that has ended already is not a reason to wake.
		wake := next.Sub(now)
		if done {
			wake = answerWait
		}
		for _, end := range []time.Time{sent[len(sent)-1].Add(answerWait), changed.Add(answerWait)} {
			if end.After(now) {
				wake = min(wake, end.Sub(now))
			}
		}
		return max(wake, time.Millisecond), false
	})
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Entry, 0, len(b.view))
	for _, e := range b.view {
		out = append(out, e)
	}
	slices.SortFunc(out, compareEntries)
	return out, nil
}

func compareEntries(a, b Entry) int {
	if c := strings.Compare(a.Type.String(), b.Type.String()); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// Run queries continuously and calls fn for every change, synchronously
// in the browser's loop (fn must return quickly and must not call the
// Browser), until ctx ends; then it returns nil.
func (b *Browser) Run(ctx context.Context, fn func(Event)) error {
	b.ep.Follow()
	start := b.now()
	b.mu.Lock()
	b.started = start
	b.mu.Unlock()
	next := start
	interval := time.Second
	return b.loop(ctx, fn, func(now time.Time) (time.Duration, bool) {
		if !now.Before(next) {
			if err := b.query(now, queryFirstQU); err != nil {
				b.log.Warn("mdns: query", "err", err)
			}
			next = now.Add(interval)
			interval = min(2*interval, time.Hour)
		} else if err := b.query(now, queryRefresh); err != nil {
			b.log.Warn("mdns: refresh query", "err", err)
		}
		b.mu.Lock()
		wake := b.nextExpiry(now)
		b.mu.Unlock()
		return max(min(next.Sub(now), wake, 250*time.Millisecond), time.Millisecond), false
	})
}

// loop serves packets and ticks (mdnsnet.Endpoint.Loop); every tick first
// expires what is due.
func (b *Browser) loop(ctx context.Context, fn func(Event), tick func(time.Time) (time.Duration, bool)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := b.ep.Loop(ctx, nil, func(p mdnsnet.Packet) { b.handle(p, fn) },
		func(c mdnsnet.Change) { b.ifacesChanged(c, b.now(), fn) },
		func(now time.Time) (time.Duration, bool) {
			b.mu.Lock()
			b.expire(now, fn)
			b.mu.Unlock()
			d, done := tick(now)
			if at := b.requeryDue(now); !at.IsZero() {
				d = min(d, max(at.Sub(now), time.Millisecond))
			}
			return d, done
		})
	if err != nil {
		return fmt.Errorf("browse: %w", err)
	}
	return nil
}

// handle puts a response's records into the cache and reports changes.
func (b *Browser) handle(p mdnsnet.Packet, fn func(Event)) {
	if !p.Msg.Response || p.Src.Port() != mdns.Port {
		return // a query, or a reply to some legacy unicast querier
	}
	now := b.now()
	b.log.Debug("mdns: response", "src", p.Src, "dst", p.Dst, "size", p.Size, "answers", len(p.Msg.Answers), "additionals", len(p.Msg.Additionals))
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range p.Msg.Records() {
		if !b.wanted(&r) {
			continue
		}
		b.add(r, now, p)
	}
	b.update(now, fn, "goodbye")
}

// wanted reports whether r is a record the browser may need: a PTR of a
// browsed or enumerated type, or an SRV, TXT, A or AAAA record of the
// local domain.
func (b *Browser) wanted(r *mdns.Record) bool {
	name := strings.ToLower(r.Name)
	if !strings.HasSuffix(strings.TrimSuffix(name, "."), ".local") {
		return false
	}
	if r.Type == dnsmessage.TypePTR {
		return name == mdns.ServicesName || b.browsing(name)
	}
	return true
}

// browsing reports whether fqdn (lower case) is a type being browsed.
func (b *Browser) browsing(fqdn string) bool {
	if len(b.types) == 0 {
		return b.found[fqdn]
	}
	for _, t := range b.types {
		if t.FQDN() == fqdn {
			return true
		}
	}
	return false
}

func (b *Browser) add(r mdns.Record, now time.Time, p mdnsnet.Packet) {
	r.TTL = min(r.TTL, MaxTTL)
	key := r.Key()
	if r.TTL == 0 {
		if c, ok := b.cache[key]; ok && !c.gone {
			c.gone, c.goodbye = true, true
			c.expires = now.Add(time.Second)
		}
		return
	}
	if r.Flush {
		set := r.SetKey()
		for k, c := range b.cache {
			if k != key && !c.gone && c.rec.SetKey() == set && now.Sub(c.received) > time.Second {
				c.gone = true
				c.expires = now.Add(time.Second)
			}
		}
	}
	if r.Type == dnsmessage.TypePTR && strings.EqualFold(r.Name, mdns.ServicesName) {
		t := strings.ToLower(r.Target)
		if !b.found[t] && len(b.found) < MaxTypes && len(b.types) == 0 {
			if _, err := mdns.ParseServiceType(t); err == nil {
				b.found[t] = true
				b.changed = now
			}
		}
	}
	c, ok := b.cache[key]
	if !ok {
		src := p.Src.Addr()
		if b.bySrc[src] >= MaxPerSource || len(b.cache) >= MaxRecords && !b.evictFor(src) {
			b.dropped++
			return
		}
		c = &cached{owner: src}
		b.cache[key] = c
		b.bySrc[src]++
		b.changed = now
	}
	var heard []int
	if !c.gone {
		heard = c.heard
	}
	if !slices.Contains(heard, p.Iface.Index) {
		heard = append(heard, p.Iface.Index)
	}
	*c = cached{
		rec:      r,
		received: now,
		expires:  now.Add(time.Duration(r.TTL) * time.Second),
		src:      p.Src,
		owner:    c.owner,
		iface:    p.Iface.Name,
		heard:    heard,
	}
}

// forget removes the record at key from the cache.
func (b *Browser) forget(key string) {
	src := b.cache[key].owner
	if b.bySrc[src]--; b.bySrc[src] <= 0 {
		delete(b.bySrc, src)
	}
	delete(b.cache, key)
}

// evictFor makes room in a full cache for a record from src: it removes
// the record heard longest ago of the source holding the most, if that
// source holds more than src. It reports whether it made room.
func (b *Browser) evictFor(src netip.Addr) bool {
	var top netip.Addr
	for a, n := range b.bySrc {
		if n > b.bySrc[top] || n == b.bySrc[top] && a.Less(top) {
			top = a
		}
	}
	if b.bySrc[top] <= b.bySrc[src] {
		return false
	}
	var oldest string
	for k, c := range b.cache {
		if c.owner == top && (oldest == "" || c.received.Before(b.cache[oldest].received)) {
			oldest = k
		}
	}
	b.forget(oldest)
	b.dropped++
	return true
}

// expire removes records whose time has come and reports what that
// changed.
func (b *Browser) expire(now time.Time, fn func(Event)) {
	n := len(b.cache)
	for k, c := range b.cache {
		if !now.Before(c.expires) {
			b.forget(k)
		}
	}
	if len(b.cache) != n {
		b.update(now, fn, "expired")
	}
}

func (b *Browser) nextExpiry(now time.Time) time.Duration {
	d := time.Hour
	for _, c := range b.cache {
		d = min(d, c.expires.Sub(now))
	}
	return max(d, 0)
}

// query sends one query: the browsed types' PTR questions with their
// known answers and questions for what is missing, or, with refreshOnly,
// only the questions for records due for a refresh (nothing if none).
// Query modes: which questions carry the QU bit.
const (
	queryFirstQU = iota // QU the first time a question is asked (Run)
	queryAllQU          // QU always (Collect)
	queryRefresh        // only refresh questions, QU the first time
)

func (b *Browser) query(now time.Time, mode int) error { return b.queryOn(now, mode, 0) }

// queryOn is query on the interface with index ifIndex only (0: on every
// interface).
func (b *Browser) queryOn(now time.Time, mode int, ifIndex int) error {
	b.mu.Lock()
	var m mdns.Message
	if mode == queryRefresh {
		m.Questions = b.refreshes(now)
	} else {
		m.Questions, m.Answers = b.questions(now)
	}
	for i := range m.Questions {
		k := strings.ToLower(m.Questions[i].Name) + "\x00" + m.Questions[i].Type.String()
		if mode == queryAllQU || !b.asked[k] && len(b.asked) < MaxRecords {
			b.asked[k] = true
			m.Questions[i].Unicast = true
		}
	}
	b.mu.Unlock()
	if len(m.Questions) == 0 {
		return nil
	}
	// Questions for unique records (SRV, TXT, A) go in a query of their
	// own, first: a responder sends an answer of unique records at once
	// but delays one with a shared record (a PTR) by 20 to 120 ms, and
	// Avahi decides per query.
	var unique mdns.Message
	m.Questions = slices.DeleteFunc(m.Questions, func(q mdns.Question) bool {
		if q.Type == dnsmessage.TypePTR {
			return false
		}
		unique.Questions = append(unique.Questions, q)
		return true
	})
	var errs []error
	for _, q := range []*mdns.Message{&unique, &m} {
		if len(q.Questions) > 0 {
			b.log.Debug("mdns: query", "questions", len(q.Questions), "known", len(q.Answers), "qu", q.Questions[0].Unicast)
			errs = append(errs, b.ep.Send(q, ifIndex))
		}
	}
	return errors.Join(errs...)
}

func (b *Browser) questions(now time.Time) ([]mdns.Question, []mdns.Record) {
	var qs []mdns.Question
	for _, n := range b.browsedNames() {
		qs = append(qs, mdns.Question{Name: n, Type: dnsmessage.TypePTR})
	}
	known := b.knownAnswers(now, qs)
	for _, inst := range b.direct() {
		if len(b.live(inst, dnsmessage.TypeSRV)) == 0 {
			qs = append(qs,
				mdns.Question{Name: inst, Type: dnsmessage.TypeSRV},
				mdns.Question{Name: inst, Type: dnsmessage.TypeTXT})
		}
	}
	return append(qs, b.missing()...), known
}

// refreshes returns questions for the records of reported entries that
// have reached 80, 85, 90 or 95 % of their TTL (plus up to 2 % jitter).
func (b *Browser) refreshes(now time.Time) []mdns.Question {
	var qs []mdns.Question
	seen := map[string]bool{}
	for _, c := range b.cache {
		if c.gone || c.refreshed >= 4 || !b.reported(&c.rec) {
			continue
		}
		ttl := time.Duration(c.rec.TTL) * time.Second
		due := c.received.Add(ttl * time.Duration(80+5*c.refreshed+rand.N(3)) / 100)
		if now.Before(due) {
			continue
		}
		c.refreshed++
		if k := c.rec.SetKey(); !seen[k] {
			seen[k] = true
			qs = append(qs, mdns.Question{Name: c.rec.Name, Type: c.rec.Type})
		}
	}
	return qs
}

// reported reports whether r belongs to an entry in the view.
func (b *Browser) reported(r *mdns.Record) bool {
	for _, e := range b.view {
		inst := e.Instance + "."
		switch {
		case r.Type == dnsmessage.TypePTR && mdns.EqualNames(r.Target, inst),
			mdns.EqualNames(r.Name, inst),
			(r.Type == dnsmessage.TypeA || r.Type == dnsmessage.TypeAAAA) && mdns.EqualNames(r.Name, e.Host):
			return true
		}
	}
	return false
}
