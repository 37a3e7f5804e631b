package zone

import (
	"cmp"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Defaults of [Config].
const (
	DefaultDomain      = "lan"
	DefaultMaxTTL      = 5 * time.Second
	DefaultRate        = 100 // queries per second and source
	DefaultMaxConns    = 64
	DefaultIdleTimeout = 10 * time.Second
)

// Size limits of answers (see [Size and transport]).
//
// [Size and transport]: https://pkg.go.dev/github.com/lanfind/lanfind/internal/zone#hdr-Size_and_transport
const (
	MinUDPSize = 512   // without EDNS(0) (RFC 1035 §2.3.4)
	MaxUDPSize = 1232  // the most an EDNS(0) client gets over UDP
	MaxTCPSize = 65535 // the most one TCP message holds (RFC 7766)
)

// maxDomainLen keeps every name the zone makes (a 63-byte label,
// "_tcp" or "_udp" and the domain) under the 255 bytes of a DNS name.
const maxDomainLen = 180

// Config configures a [Server]. The zero value is valid: a server for
// "lan" with no sockets, answering only through [Server.AppendAnswer].
type Config struct {
	// Domain is the domain the server is authoritative for, such as "lan"
	// or "home.arpa". Defaults to [DefaultDomain].
	Domain string
	// MaxTTL caps the TTL of every record, and is the negative-caching TTL
	// of the zone's SOA record. Defaults to [DefaultMaxTTL].
	MaxTTL time.Duration
	// Addr is the address to serve on, over UDP and TCP, such as
	// "127.0.0.1:5354" (port 0 picks a free port, the same for both).
	// Defaults to none: no sockets.
	Addr string
	// Rate is how many UDP queries per second one source address may make
	// when Addr is not a loopback address; excess queries are dropped and
	// counted in Stats.RateLimited. Twice as many may come in a burst.
	// Defaults to [DefaultRate].
	Rate int
	// MaxConns caps the TCP connections open at once; more are closed at
	// once and counted in Stats.ConnsRejected. Defaults to
	// [DefaultMaxConns].
	MaxConns int
	// IdleTimeout closes a TCP connection that sends no complete query for
	// this long. Defaults to [DefaultIdleTimeout].
	IdleTimeout time.Duration
	// Logger receives logs. Nil discards them.
	Logger *slog.Logger
}

// Key identifies one instance in the table: the instance ID and sender ID
// its announcer uses (one instance ID may be claimed by two senders).
type Key struct {
	Instance uint64
	Sender   uint64
}

// Record is what the zone serves for one instance.
type Record struct {
	// Name and Type are the service's name and type, mapped to labels by
	// [Label].
	Name string
	Type string
	// Proto is the service's transport: "udp" serves its SRV record
	// under _<type>._udp, anything else ("tcp", or "" for lanfind's own
	// services, which have no transport) under _<type>._tcp.
	Proto string
	Port  uint16
	// Heard are the source addresses the instance was heard from, the
	// address to connect to first. See [Records] for which become A and
	// AAAA records.
	//
	// [Records]: https://pkg.go.dev/github.com/lanfind/lanfind/internal/zone#hdr-Records
	Heard []netip.Addr
	// Addrs are the addresses the instance reports for itself.
	Addrs []netip.Addr
	Meta  map[string]string
	// TTL is how long the announcer asked to be remembered.
	TTL time.Duration
}

// Stats counts what a Server did. All fields are totals since New.
type Stats struct {
	UDP           uint64 // requests read over UDP
	TCP           uint64 // requests read over TCP
	NoError       uint64 // answers with records, or empty NOERROR answers
	NXDomain      uint64 // answers for names in the domain that have no records
	Refused       uint64 // answers for names outside the domain or of an unsupported class
	FormErr       uint64 // answers to malformed requests
	NotImp        uint64 // answers to requests other than a standard query
	Truncated     uint64 // UDP answers sent empty with TC set because they were too large
	Dropped       uint64 // requests too short for a header, or responses
	RateLimited   uint64 // UDP requests dropped by the per-source rate limit
	ConnsRejected uint64 // TCP connections closed because MaxConns were open
	Errors        uint64 // reads and writes that failed
}

// Server answers DNS queries from a table of instances. Its methods are
// safe for concurrent use.
type Server struct {
	cfg    Config
	apex   string          // lower-case domain with the final dot: "lan."
	origin dnsmessage.Name // the domain as a name
	soa    dnsmessage.SOAResource
	log    *slog.Logger

	// mu guards the table.
	mu    sync.RWMutex
	byKey map[Key]*entry
	hosts map[string][]*entry    // by label, sorted by key
	srv   [2]map[string][]*entry // by protocol (tcp, udp), then type label, sorted by key

	stats struct {
		udp, tcp, noError, nxDomain, refused, formErr, notImp, truncated,
		dropped, rateLimited, connsRejected, errors atomic.Uint64
	}

	sock *sockets // nil without Config.Addr
}

// entry is one instance as the server answers with it.
type entry struct {
	key       Key
	label     string
	typeLabel string
	proto     int             // protoTCP or protoUDP
	target    dnsmessage.Name // <label>.<domain>.
	port      uint16
	ttl       uint32
	a         []dnsmessage.AResource
	aaaa      []dnsmessage.AAAAResource
	txt       dnsmessage.TXTResource
}

// New validates and copies cfg and, when cfg.Addr is set, opens the UDP
// and TCP sockets on it. Serve them with [Server.Run].
func New(cfg Config) (*Server, error) {
	domain, err := ParseDomain(cmp.Or(cfg.Domain, DefaultDomain))
	if err != nil {
		return nil, err
	}
	cfg.Domain = domain
	if cfg.MaxTTL < 0 || cfg.Rate < 0 || cfg.MaxConns < 0 || cfg.IdleTimeout < 0 {
		return nil, fmt.Errorf("zone: negative limit in config")
	}
	if cfg.MaxTTL == 0 {
		cfg.MaxTTL = DefaultMaxTTL
	}
	cfg.Rate = cmp.Or(cfg.Rate, DefaultRate)
	cfg.MaxConns = cmp.Or(cfg.MaxConns, DefaultMaxConns)
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, DefaultIdleTimeout)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:   cfg,
		apex:  cfg.Domain + ".",
		log:   log,
		byKey: map[Key]*entry{},
		hosts: map[string][]*entry{},
		srv:   [2]map[string][]*entry{{}, {}},
	}
	s.origin = dnsmessage.MustNewName(s.apex)
	s.soa = dnsmessage.SOAResource{
		NS:      dnsmessage.MustNewName("localhost."),
		MBox:    dnsmessage.MustNewName("hostmaster." + s.apex),
		Serial:  1,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		MinTTL:  ttlSeconds(cfg.MaxTTL),
	}
	if cfg.Addr != "" {
		sock, err := listen(cfg.Addr)
		if err != nil {
			return nil, err
		}
		s.sock = sock
	}
	return s, nil
}

// ParseDomain returns domain in lower case without a final dot, or an
// error when it cannot be the domain of a Server: it must be labels of
// ASCII letters, digits and inner hyphens, at most 180 bytes in all.
func ParseDomain(domain string) (string, error) {
	d := strings.TrimSuffix(strings.ToLower(domain), ".")
	if len(d) > maxDomainLen {
		return "", fmt.Errorf("zone: domain %q: longer than %d bytes", domain, maxDomainLen)
	}
	for l := range strings.SplitSeq(d, ".") {
		ok := l != "" && len(l) <= MaxLabel && l[0] != '-' && l[len(l)-1] != '-'
		for i := 0; ok && i < len(l); i++ {
			c := l[i]
			ok = 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-'
		}
		if !ok {
			return "", fmt.Errorf("zone: domain %q: want labels of letters, digits and inner hyphens, such as %q",
				domain, DefaultDomain)
		}
	}
	return d, nil
}

// Domain returns the domain the server is authoritative for, without the
// final dot.
func (s *Server) Domain() string { return s.cfg.Domain }

// ttlSeconds returns d in whole seconds, at least 0.
func ttlSeconds(d time.Duration) uint32 {
	return uint32(max(d, 0) / time.Second)
}

// Set adds the instance k with its record, or replaces it.
func (s *Server) Set(k Key, r Record) {
	e := s.newEntry(k, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteLocked(k)
	if e == nil {
		return
	}
	s.byKey[k] = e
	s.hosts[e.label] = insert(s.hosts[e.label], e)
	if e.typeLabel != "" {
		s.srv[e.proto][e.typeLabel] = insert(s.srv[e.proto][e.typeLabel], e)
	}
}

// Delete removes the instance k, if present.
func (s *Server) Delete(k Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteLocked(k)
}

// Len returns the number of instances in the table.
func (s *Server) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byKey)
}

func (s *Server) deleteLocked(k Key) {
	e, ok := s.byKey[k]
	if !ok {
		return
	}
	delete(s.byKey, k)
	remove(s.hosts, e.label, k)
	if e.typeLabel != "" {
		remove(s.srv[e.proto], e.typeLabel, k)
	}
}

func compareKeys(a, b *entry) int {
	return cmp.Or(cmp.Compare(a.key.Instance, b.key.Instance),
		cmp.Compare(a.key.Sender, b.key.Sender))
}

func insert(es []*entry, e *entry) []*entry {
	i, _ := slices.BinarySearchFunc(es, e, compareKeys)
	return slices.Insert(es, i, e)
}

func remove(m map[string][]*entry, label string, k Key) {
	es := slices.DeleteFunc(m[label], func(e *entry) bool { return e.key == k })
	if len(es) == 0 {
		delete(m, label)
		return
	}
	m[label] = es
}

// newEntry returns the answers for r, or nil when its name has no label.
func (s *Server) newEntry(k Key, r Record) *entry {
	label := Label(r.Name)
	if label == "" {
		return nil
	}
	e := &entry{
		key:    k,
		label:  label,
		port:   r.Port,
		ttl:    min(ttlSeconds(r.TTL), ttlSeconds(s.cfg.MaxTTL)),
		target: dnsmessage.MustNewName(label + "." + s.apex),
	}
	if r.Proto == "udp" {
		e.proto = protoUDP
	}
	if t := Label(r.Type); t != "" {
		e.typeLabel = "_" + t[:min(len(t), MaxLabel-1)]
	}
	e.a, e.aaaa = addrRecords(r.Heard, r.Addrs)
	for _, k := range slices.Sorted(maps.Keys(r.Meta)) {
		if kv := k + "=" + r.Meta[k]; len(kv) <= 255 {
			e.txt.TXT = append(e.txt.TXT, kv)
		}
	}
	if len(e.txt.TXT) == 0 {
		e.txt.TXT = []string{""} // RFC 6763 §6.1: no metadata is one empty string
	}
	return e
}

// Indexes of Server.srv, and the protocol labels of SRV names.
const (
	protoTCP = 0
	protoUDP = 1
)

var protoLabels = [2]string{protoTCP: "_tcp", protoUDP: "_udp"}

// protoOf returns the index of a protocol label, "_tcp" or "_udp", or -1.
func protoOf(label []byte) int {
	for i, l := range protoLabels {
		if string(label) == l {
			return i
		}
	}
	return -1
}

// addrRecords returns the A and AAAA records of an instance heard from
// the addresses heard that reports addrs (see [Records]).
//
// [Records]: https://pkg.go.dev/github.com/lanfind/lanfind/internal/zone#hdr-Records
func addrRecords(heard, addrs []netip.Addr) ([]dnsmessage.AResource, []dnsmessage.AAAAResource) {
	var a []dnsmessage.AResource
	var aaaa []dnsmessage.AAAAResource
	for _, h := range heard {
		if h = h.Unmap(); h.Is4() && !slices.Contains(a, dnsmessage.AResource{A: h.As4()}) {
			a = append(a, dnsmessage.AResource{A: h.As4()})
		}
	}
	for _, r := range addrs {
		if r = r.Unmap(); len(a) == 0 && r.Is4() && routable(r) {
			a = append(a, dnsmessage.AResource{A: r.As4()})
		}
	}
	for _, x := range slices.Concat(heard, addrs) {
		rr := dnsmessage.AAAAResource{AAAA: x.As16()}
		if x.Is6() && !x.Is4In6() && routable(x) && !slices.Contains(aaaa, rr) {
			aaaa = append(aaaa, rr)
		}
	}
	return a, aaaa
}

// routable reports whether a is a unicast address that means the same on
// every host of the LAN: not loopback, link-local or unspecified.
func routable(a netip.Addr) bool {
	return a.IsGlobalUnicast() && !a.IsLinkLocalUnicast()
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		UDP:           c.udp.Load(),
		TCP:           c.tcp.Load(),
		NoError:       c.noError.Load(),
		NXDomain:      c.nxDomain.Load(),
		Refused:       c.refused.Load(),
		FormErr:       c.formErr.Load(),
		NotImp:        c.notImp.Load(),
		Truncated:     c.truncated.Load(),
		Dropped:       c.dropped.Load(),
		RateLimited:   c.rateLimited.Load(),
		ConnsRejected: c.connsRejected.Load(),
		Errors:        c.errors.Load(),
	}
}
