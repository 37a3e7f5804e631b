package publish

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/mdnsnet"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/mdns"
)

// DefaultTTL is the TTL of every published record unless Config.TTL says
// otherwise.
const DefaultTTL = 120 * time.Second

// MaxServices is the most services one Publisher publishes.
const MaxServices = 64

// Timing (RFC 6762 §8).
const (
	probeInterval    = 250 * time.Millisecond
	firstProbeJitter = 50 * time.Millisecond
	probeCount       = 3
	announceCount    = 2
	announceGap      = time.Second
	tieBreakBackoff  = time.Second
	goodbyeGap       = 100 * time.Millisecond
	// After conflictLimit conflicts less than conflictWindow apart, each
	// further probe attempt waits conflictBackoff (§8.1).
	conflictLimit   = 15
	conflictWindow  = 10 * time.Second
	conflictBackoff = 5 * time.Second
)

// Service is one service to publish.
type Service struct {
	// Name is the instance label: 1 to 63 bytes of UTF-8, dots allowed
	// (mdns.ValidInstanceLabel).
	Name string
	Type mdns.ServiceType
	Port uint16
	// Meta becomes the TXT record ("key=value" strings).
	Meta map[string]string
}

// Config configures [New]. Services are required.
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
	// Host is the host label published as "<Host>.local" (SRV target and
	// address records). Defaults to the first label of os.Hostname.
	Host string
	// Services are published when Run starts.
	Services []Service
	// TTL of every record, 1 s to 75 min. Defaults to DefaultTTL.
	TTL time.Duration
	// ListenPacket opens the socket. Defaults to internal/udp's.
	ListenPacket udp.ListenFunc
	// Logger receives renames (warning) and debug messages. Defaults to
	// discarding them.
	Logger *slog.Logger
}

// Validate checks s for publishing.
func (s *Service) Validate() error {
	if err := mdns.ValidInstanceLabel(s.Name); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := mdns.ValidServiceName(s.Type.Name); err != nil {
		return fmt.Errorf("publish: %q: %w", s.Name, err)
	}
	if s.Type.Proto != "tcp" && s.Type.Proto != "udp" {
		return fmt.Errorf("publish: %q: protocol %q, want tcp or udp", s.Name, s.Type.Proto)
	}
	if _, err := mdns.Text(s.Meta); err != nil {
		return fmt.Errorf("publish: %q: %w", s.Name, err)
	}
	return nil
}

// Publisher publishes services over mDNS. Update, Published and Close are
// safe for concurrent use; Run must be called once.
type Publisher struct {
	ep  *mdnsnet.Endpoint
	log *slog.Logger
	ttl uint32

	wake chan struct{} // Update wakes Run
	hot  hotplug       // interface changes; Run's goroutine's

	// The fields below belong to Run's goroutine.
	host      *unit
	units     []*unit
	hostShare bool // another stack on this host answers for the host name
	lastMcast map[string]time.Time
	pending   []*delayed
	// truncated holds the truncated queries waiting for more known
	// answers from their source (§7.2), at most maxTruncated.
	truncated map[netip.AddrPort]*query
	// conflictRun counts the conflicts less than conflictWindow apart
	// up to lastConflict (§8.1).
	conflictRun  int
	lastConflict time.Time

	stats counters

	// mu guards published, a copy of the services under their current
	// names for Published, and update, the services of an Update that Run
	// has not applied yet (if updated).
	mu        sync.Mutex
	published []Service
	update    []Service
	updated   bool

	closeOnce sync.Once
}

// unit is a name the Publisher owns: the host name or a service instance.
type unit struct {
	svc       *Service // nil for the host name
	label     string
	base      string // label before renames
	renames   int
	state     state
	probes    int
	announces int
	next      time.Time // of the next announcement, or of probing again
}

type state int

const (
	probing state = iota
	announcing
	announced
)

func (u *unit) name() string {
	if u.svc == nil {
		return u.label + "." + mdns.Domain
	}
	return mdns.InstanceName(u.label, u.svc.Type)
}

// New validates cfg and opens the mDNS socket on the calling goroutine.
func New(ctx context.Context, cfg Config) (*Publisher, error) {
	if len(cfg.Services) > MaxServices {
		return nil, fmt.Errorf("publish: %d services, max %d", len(cfg.Services), MaxServices)
	}
	for i := range cfg.Services {
		if err := cfg.Services[i].Validate(); err != nil {
			return nil, err
		}
	}
	ttl := cfg.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < time.Second || ttl > 75*time.Minute {
		return nil, fmt.Errorf("publish: ttl %v, want 1s to 75m", ttl)
	}
	host := cfg.Host
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("publish: host name: %w", err)
		}
		host, _, _ = strings.Cut(h, ".")
	}
	if err := mdns.ValidHostLabel(host); err != nil {
		return nil, fmt.Errorf("publish: host name: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ep, err := mdnsnet.New(ctx, mdnsnet.Config{
		Lister:       cfg.Lister,
		Interfaces:   cfg.Interfaces,
		Exclude:      cfg.Exclude,
		NoIPv4:       cfg.NoIPv4,
		NoIPv6:       cfg.NoIPv6,
		ListenPacket: cfg.ListenPacket,
		Logger:       cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	p := &Publisher{
		ep:        ep,
		log:       log,
		ttl:       uint32(ttl / time.Second),
		wake:      make(chan struct{}, 1),
		host:      &unit{label: host, base: host},
		lastMcast: map[string]time.Time{},
		truncated: map[netip.AddrPort]*query{},
	}
	p.setServices(cloneServices(cfg.Services), time.Now())
	return p, nil
}

func cloneServices(ss []Service) []Service {
	out := slices.Clone(ss)
	for i := range out {
		out[i].Meta = maps.Clone(out[i].Meta)
	}
	return out
}

// Stats counts a Publisher's traffic and what it did about other hosts'
// queries and answers. All counters only grow.
type Stats struct {
	// Stats holds the socket's traffic counters.
	mdnsnet.Stats
	// Truncated counts queries with the TC bit whose answer waited for
	// the known answers of the packets that followed (RFC 6762 §7.2);
	// TruncatedOverflow those answered at once because 32 others, from
	// other sources, were waiting already.
	Truncated, TruncatedOverflow uint64
	// Duplicates counts records left out of an answer because another
	// responder multicast them, with at least our TTL, while the answer
	// waited (§7.4).
	Duplicates uint64
	// Conflicts counts name conflicts (§8.1, §9); Backoffs the probe
	// attempts that waited five seconds because of too many of them.
	Conflicts, Backoffs uint64
}

// counters are the Publisher's own Stats, written by Run's goroutine.
type counters struct {
	truncated, truncatedOverflow, duplicates, conflicts, backoffs atomic.Uint64
}

// Stats returns the counters. It is safe for concurrent use.
func (p *Publisher) Stats() Stats {
	return Stats{
		Stats:             p.ep.Stats(),
		Truncated:         p.stats.truncated.Load(),
		TruncatedOverflow: p.stats.truncatedOverflow.Load(),
		Duplicates:        p.stats.duplicates.Load(),
		Conflicts:         p.stats.conflicts.Load(),
		Backoffs:          p.stats.backoffs.Load(),
	}
}

// Published returns the services as published now: a service renamed
// after a conflict has its new name. Before probing ends the names are
// the proposed ones.
func (p *Publisher) Published() []Service {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneServices(p.published)
}

// Update replaces the published services (a reload): services no longer
// listed say goodbye, new ones are probed and announced, and changed
// ones are announced again with their new data. It does not wait for Run
// to apply it; a later Update supersedes one not yet applied.
func (p *Publisher) Update(services []Service) error {
	if len(services) > MaxServices {
		return fmt.Errorf("publish: %d services, max %d", len(services), MaxServices)
	}
	for i := range services {
		if err := services[i].Validate(); err != nil {
			return err
		}
	}
	p.mu.Lock()
	p.update, p.updated = cloneServices(services), true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
	return nil
}

// Close closes the socket. It is idempotent. Run says goodbye before it
// returns, so cancel Run's context and wait for it before Close.
func (p *Publisher) Close() error {
	var err error
	p.closeOnce.Do(func() { err = p.ep.Close() })
	return err
}

// Run probes, announces and answers until ctx ends, then says goodbye
// and returns nil. It returns an error if the socket fails.
func (p *Publisher) Run(ctx context.Context) error {
	p.ep.Follow()
	first := time.Now().Add(rand.N(firstProbeJitter))
	for _, u := range p.all() {
		if u.state == probing {
			u.next = first
		}
	}
	err := p.ep.Loop(ctx, p.wake, func(pk mdnsnet.Packet) { p.handle(pk, time.Now()) },
		func(c mdnsnet.Change) { p.ifacesChanged(c, time.Now()) },
		func(now time.Time) (time.Duration, bool) {
			p.mu.Lock()
			ss, ok := p.update, p.updated
			p.update, p.updated = nil, false
			p.mu.Unlock()
			if ok {
				p.setServices(ss, now)
			}
			return p.tick(now), false
		})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	p.goodbyeAll()
	st := p.Stats()
	p.log.Debug("mdns: publisher stats",
		"sent", st.Sent,
		"received", st.Received,
		"dropped", st.Dropped,
		"truncated", st.Truncated,
		"truncated_overflow", st.TruncatedOverflow,
		"duplicates", st.Duplicates,
		"conflicts", st.Conflicts,
		"backoffs", st.Backoffs)
	return nil
}

// setServices applies a list of services: goodbyes for the removed ones,
// probing for new ones, announcements for changed ones.
func (p *Publisher) setServices(ss []Service, now time.Time) {
	var keep []*unit
	var gone []*unit
	for _, u := range p.units {
		i := slices.IndexFunc(ss, func(s Service) bool { return s.Name == u.svc.Name && s.Type == u.svc.Type })
		if i < 0 {
			gone = append(gone, u)
			continue
		}
		if ss[i].Port != u.svc.Port || !maps.Equal(ss[i].Meta, u.svc.Meta) {
			*u.svc = ss[i]
			// Announce the new data twice, even if the old one was
			// still being announced: a browser flushes the old SRV
			// record only if it is more than a second old (RFC 6762
			// §10.2), which the second announcement guarantees.
			if u.state != probing {
				u.state, u.announces, u.next = announcing, 0, now
			}
		}
		keep = append(keep, u)
		ss = slices.Delete(ss, i, i+1)
	}
	p.goodbye(gone)
	for i := range ss {
		s := ss[i]
		keep = append(keep, &unit{svc: &s, label: s.Name, base: s.Name, next: p.probeStart(now)})
	}
	p.units = keep
	p.publishNames()
}

func (p *Publisher) publishNames() {
	out := make([]Service, 0, len(p.units))
	for _, u := range p.units {
		s := *u.svc
		s.Name = u.label
		out = append(out, s)
	}
	p.mu.Lock()
	p.published = out
	p.mu.Unlock()
}

// all returns the host unit and the service units.
func (p *Publisher) all() []*unit { return append([]*unit{p.host}, p.units...) }

// tick does what is due and returns how long until something else is.
func (p *Publisher) tick(now time.Time) time.Duration {
	wake := now.Add(time.Hour)
	p.probe(now)
	p.announce(now)
	wake = earliest(wake, p.probeLinks(now))
	for _, u := range p.all() {
		if u.state != announced {
			wake = earliest(wake, u.next)
		}
	}
	p.answerTruncated(now)
	for _, q := range p.truncated {
		wake = earliest(wake, q.at)
	}
	p.sendDelayed(now)
	for _, d := range p.pending {
		wake = earliest(wake, d.at)
	}
	return max(wake.Sub(now), time.Millisecond)
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
