package zone_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/internal/zone"
)

func TestLabel(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"db", "db"},
		{"DB", "db"},
		{"Web Server", "web-server"},
		{"web_server", "web-server"},
		{"web.server", "web-server"},
		{"a--b", "a-b"},
		{"  -x- ", "x"},
		{"café au lait", "caf-au-lait"},
		{"___", ""},
		{"", ""},
		{"\x1b[31mred", "31mred"},
		{"node-exporter", "node-exporter"},
		{strings.Repeat("a", 70), strings.Repeat("a", 63)},
		{strings.Repeat("a", 62) + " b", strings.Repeat("a", 62)},
		{strings.Repeat("a", 61) + " bc", strings.Repeat("a", 61) + "-b"},
	} {
		if got := zone.Label(tc.in); got != tc.want {
			t.Errorf("Label(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNewDomain(t *testing.T) {
	for _, tc := range []struct {
		domain, want string // want "" for an error
	}{
		{"", "lan"},
		{"LAN.", "lan"},
		{"home.arpa", "home.arpa"},
		{"a..b", ""},
		{"-lan", ""},
		{"lan_x", ""},
		{strings.Repeat("a.", 100) + "b", ""},
	} {
		s, err := zone.New(zone.Config{Domain: tc.domain})
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("New(Domain %q): got domain %q, want an error", tc.domain, s.Domain())
		case tc.want != "" && err != nil:
			t.Errorf("New(Domain %q): %v", tc.domain, err)
		case tc.want != "" && s.Domain() != tc.want:
			t.Errorf("New(Domain %q): got domain %q, want %q", tc.domain, s.Domain(), tc.want)
		}
	}
}

var (
	db1 = zone.Record{
		Name:  "db",
		Type:  "postgres",
		Port:  5432,
		Heard: []netip.Addr{netip.MustParseAddr("10.0.0.1")},
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fe80::1")},
		Meta:  map[string]string{"version": "16", "role": "primary"},
		TTL:   30 * time.Second,
	}
	db2 = zone.Record{
		Name:  "DB",
		Type:  "postgres",
		Port:  5433,
		Heard: []netip.Addr{netip.MustParseAddr("10.0.0.2")},
		TTL:   2 * time.Second,
	}
	web = zone.Record{
		Name:  "Web Server",
		Type:  "http",
		Port:  80,
		Heard: []netip.Addr{netip.MustParseAddr("10.0.0.3")},
		TTL:   10 * time.Second,
	}
)

func newZone(t testing.TB, cfg zone.Config) *zone.Server {
	t.Helper()
	s, err := zone.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Set(zone.Key{Instance: 1, Sender: 1}, db1)
	s.Set(zone.Key{Instance: 2, Sender: 2}, db2)
	s.Set(zone.Key{Instance: 3, Sender: 3}, web)
	return s
}

// q is a request to build.
type q struct {
	name  string
	typ   dnsmessage.Type
	class dnsmessage.Class // 0: IN
	edns  int              // the UDP size offered in an OPT record; 0: none
}

func (r q) pack(t testing.TB, id uint16) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.StartQuestions()
	class := r.class
	if class == 0 {
		class = dnsmessage.ClassINET
	}
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(r.name), Type: r.typ, Class: class}); err != nil {
		t.Fatal(err)
	}
	if r.edns > 0 {
		b.StartAdditionals()
		var rh dnsmessage.ResourceHeader
		rh.SetEDNS0(r.edns, dnsmessage.RCodeSuccess, false)
		b.OPTResource(rh, dnsmessage.OPTResource{})
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// ask sends msg to s and returns the parsed answer.
func ask(t *testing.T, s *zone.Server, msg []byte, tcp bool) (dnsmessage.Message, int) {
	t.Helper()
	prefix := []byte("prefix")
	out, ok := s.AppendAnswer(prefix, msg, tcp)
	if !ok {
		t.Fatalf("request %x dropped", msg)
	}
	if string(out[:len(prefix)]) != "prefix" {
		t.Fatalf("AppendAnswer overwrote dst: %q", out[:len(prefix)])
	}
	var m dnsmessage.Message
	if err := m.Unpack(out[len(prefix):]); err != nil {
		t.Fatalf("unpack answer: %v", err)
	}
	return m, len(out) - len(prefix)
}

// rr returns the answer records of m as sorted text, such as "A 10.0.0.1 ttl=5".
func rr(rs []dnsmessage.Resource) []string {
	var out []string
	for _, r := range rs {
		var s string
		switch b := r.Body.(type) {
		case *dnsmessage.AResource:
			s = "A " + netip.AddrFrom4(b.A).String()
		case *dnsmessage.AAAAResource:
			s = "AAAA " + netip.AddrFrom16(b.AAAA).String()
		case *dnsmessage.TXTResource:
			s = "TXT " + strings.Join(b.TXT, ",")
		case *dnsmessage.SRVResource:
			s = fmt.Sprintf("SRV %d %d %d %s", b.Priority, b.Weight, b.Port, b.Target)
		case *dnsmessage.SOAResource:
			s = fmt.Sprintf("SOA %s min=%d", r.Header.Name, b.MinTTL)
		case *dnsmessage.OPTResource:
			s = fmt.Sprintf("OPT %d", r.Header.Class)
		default:
			s = r.Header.Type.String()
		}
		out = append(out, fmt.Sprintf("%s ttl=%d", s, r.Header.TTL))
	}
	slices.Sort(out)
	return out
}

func TestAnswer(t *testing.T) {
	s := newZone(t, zone.Config{})
	for _, tc := range []struct {
		name      string
		q         q
		rcode     dnsmessage.RCode
		aa        bool
		answers   []string
		authority []string
	}{
		{"A of two instances", q{name: "db.lan.", typ: dnsmessage.TypeA}, dnsmessage.RCodeSuccess, true,
			[]string{"A 10.0.0.1 ttl=5", "A 10.0.0.2 ttl=2"}, nil},
		{"case does not matter", q{name: "dB.LaN.", typ: dnsmessage.TypeA}, dnsmessage.RCodeSuccess, true,
			[]string{"A 10.0.0.1 ttl=5", "A 10.0.0.2 ttl=2"}, nil},
		{"AAAA: global and unique-local only", q{name: "db.lan.", typ: dnsmessage.TypeAAAA}, dnsmessage.RCodeSuccess, true,
			[]string{"AAAA fd00::1 ttl=5"}, nil},
		{"name mapped to a label", q{name: "web-server.lan.", typ: dnsmessage.TypeA}, dnsmessage.RCodeSuccess, true,
			[]string{"A 10.0.0.3 ttl=5"}, nil},
		{"no AAAA: no data", q{name: "web-server.lan.", typ: dnsmessage.TypeAAAA}, dnsmessage.RCodeSuccess, true,
			nil, []string{"SOA lan. min=5 ttl=5"}},
		{"TXT per instance", q{name: "db.lan.", typ: dnsmessage.TypeTXT}, dnsmessage.RCodeSuccess, true,
			[]string{"TXT  ttl=2", "TXT role=primary,version=16 ttl=5"}, nil},
		{"SRV per instance", q{name: "_postgres._tcp.lan.", typ: dnsmessage.TypeSRV}, dnsmessage.RCodeSuccess, true,
			[]string{"SRV 0 1 5432 db.lan. ttl=5", "SRV 0 1 5433 db.lan. ttl=2"}, nil},
		{"ANY", q{name: "web-server.lan.", typ: dnsmessage.TypeALL}, dnsmessage.RCodeSuccess, true,
			[]string{"A 10.0.0.3 ttl=5", "TXT  ttl=5"}, nil},
		{"_tcp: no data", q{name: "_tcp.lan.", typ: dnsmessage.TypeSRV}, dnsmessage.RCodeSuccess, true,
			nil, []string{"SOA lan. min=5 ttl=5"}},
		{"unknown name", q{name: "nosuch.lan.", typ: dnsmessage.TypeA}, dnsmessage.RCodeNameError, true,
			nil, []string{"SOA lan. min=5 ttl=5"}},
		{"unknown type", q{name: "_ssh._tcp.lan.", typ: dnsmessage.TypeSRV}, dnsmessage.RCodeNameError, true,
			nil, []string{"SOA lan. min=5 ttl=5"}},
		{"deeper name", q{name: "x.db.lan.", typ: dnsmessage.TypeA}, dnsmessage.RCodeNameError, true,
			nil, []string{"SOA lan. min=5 ttl=5"}},
		{"apex SOA", q{name: "lan.", typ: dnsmessage.TypeSOA}, dnsmessage.RCodeSuccess, true,
			[]string{"SOA lan. min=5 ttl=5"}, nil},
		{"apex A: no data", q{name: "lan.", typ: dnsmessage.TypeA}, dnsmessage.RCodeSuccess, true,
			nil, []string{"SOA lan. min=5 ttl=5"}},
		{"outside the domain", q{name: "example.com.", typ: dnsmessage.TypeA}, dnsmessage.RCodeRefused, false, nil, nil},
		{"suffix but not a subdomain", q{name: "db.plan.", typ: dnsmessage.TypeA}, dnsmessage.RCodeRefused, false, nil, nil},
		{"class CHAOS", q{name: "db.lan.", typ: dnsmessage.TypeTXT, class: dnsmessage.Class(3)}, dnsmessage.RCodeRefused, false, nil, nil},
		{"EDNS answered with OPT", q{name: "db.lan.", typ: dnsmessage.TypeA, edns: 4096}, dnsmessage.RCodeSuccess, true,
			[]string{"A 10.0.0.1 ttl=5", "A 10.0.0.2 ttl=2"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := ask(t, s, tc.q.pack(t, 4711), false)
			h := m.Header
			if h.ID != 4711 || !h.Response || h.RecursionAvailable || !h.RecursionDesired {
				t.Errorf("header %+v: want ID 4711, QR, RD echoed, RA clear", h)
			}
			if h.RCode != tc.rcode || h.Authoritative != tc.aa {
				t.Errorf("got rcode %v AA %v, want %v %v", h.RCode, h.Authoritative, tc.rcode, tc.aa)
			}
			if len(m.Questions) != 1 || m.Questions[0].Name.String() != tc.q.name {
				t.Errorf("got questions %v, want the request's", m.Questions)
			}
			if got := rr(m.Answers); !slices.Equal(got, tc.answers) {
				t.Errorf("got answers %q, want %q", got, tc.answers)
			}
			if got := rr(m.Authorities); !slices.Equal(got, tc.authority) {
				t.Errorf("got authority %q, want %q", got, tc.authority)
			}
			var wantAdd []string
			if tc.q.edns > 0 {
				wantAdd = []string{"OPT 1232 ttl=0"}
			}
			if got := rr(m.Additionals); !slices.Equal(got, wantAdd) {
				t.Errorf("got additional %q, want %q", got, wantAdd)
			}
		})
	}
}

// TestAnswerTTL checks that record TTLs are the entry's TTL capped by
// MaxTTL, and that the cap is the SOA's negative-caching TTL.
func TestAnswerTTL(t *testing.T) {
	s := newZone(t, zone.Config{MaxTTL: 3 * time.Second})
	m, _ := ask(t, s, q{name: "_postgres._tcp.lan.", typ: dnsmessage.TypeSRV}.pack(t, 1), false)
	want := []string{"SRV 0 1 5432 db.lan. ttl=3", "SRV 0 1 5433 db.lan. ttl=2"}
	if got := rr(m.Answers); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	m, _ = ask(t, s, q{name: "gone.lan.", typ: dnsmessage.TypeA}.pack(t, 1), false)
	if got, want := rr(m.Authorities), []string{"SOA lan. min=3 ttl=3"}; !slices.Equal(got, want) {
		t.Errorf("got authority %q, want %q", got, want)
	}
}

// TestAnswerDelete checks that a name stops resolving when its last
// instance goes, and that a replaced record replaces its answers.
func TestAnswerDelete(t *testing.T) {
	s := newZone(t, zone.Config{})
	s.Delete(zone.Key{Instance: 1, Sender: 1})
	m, _ := ask(t, s, q{name: "db.lan.", typ: dnsmessage.TypeA}.pack(t, 1), false)
	if got, want := rr(m.Answers), []string{"A 10.0.0.2 ttl=2"}; !slices.Equal(got, want) {
		t.Errorf("after one delete: got %q, want %q", got, want)
	}
	moved := db2
	moved.Heard = []netip.Addr{netip.MustParseAddr("10.0.0.9")}
	s.Set(zone.Key{Instance: 2, Sender: 2}, moved)
	m, _ = ask(t, s, q{name: "db.lan.", typ: dnsmessage.TypeA}.pack(t, 1), false)
	if got, want := rr(m.Answers), []string{"A 10.0.0.9 ttl=2"}; !slices.Equal(got, want) {
		t.Errorf("after a change: got %q, want %q", got, want)
	}
	s.Delete(zone.Key{Instance: 2, Sender: 2})
	m, _ = ask(t, s, q{name: "db.lan.", typ: dnsmessage.TypeA}.pack(t, 1), false)
	if m.Header.RCode != dnsmessage.RCodeNameError {
		t.Errorf("after the last delete: got %v, want NXDOMAIN", m.Header.RCode)
	}
	m, _ = ask(t, s, q{name: "_postgres._tcp.lan.", typ: dnsmessage.TypeSRV}.pack(t, 1), false)
	if m.Header.RCode != dnsmessage.RCodeNameError {
		t.Errorf("SRV after the last delete: got %v, want NXDOMAIN", m.Header.RCode)
	}
	if s.Len() != 1 {
		t.Errorf("got %d entries, want 1", s.Len())
	}
}

// many returns a zone with n instances of "big" on distinct addresses.
func many(t testing.TB, n int) *zone.Server {
	t.Helper()
	s, err := zone.New(zone.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		s.Set(zone.Key{Instance: uint64(i)}, zone.Record{
			Name:  "big",
			Type:  "http",
			Port:  80,
			Heard: []netip.Addr{netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})},
			TTL:   time.Minute,
		})
	}
	return s
}

// TestAnswerTruncate checks the UDP size limits, TC, and TCP answers.
func TestAnswerTruncate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		instances int
		edns      int
		tcp       bool
		tc        bool
		answers   int
		limit     int
	}{
		{"fits in 512", 20, 0, false, false, 20, zone.MinUDPSize},
		{"over 512: TC", 40, 0, false, true, 0, zone.MinUDPSize},
		{"EDNS 1232 holds it", 40, 1232, false, false, 40, zone.MaxUDPSize},
		{"EDNS 4096 capped at 1232", 100, 4096, false, true, 0, zone.MaxUDPSize},
		{"EDNS below 512 means 512", 40, 100, false, true, 0, zone.MinUDPSize},
		{"TCP holds it", 1000, 0, true, false, 1000, zone.MaxTCPSize},
		{"TCP over 64k: records left out", 5000, 0, true, false, 2500, zone.MaxTCPSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := many(t, tc.instances)
			m, size := ask(t, s, q{name: "big.lan.", typ: dnsmessage.TypeA, edns: tc.edns}.pack(t, 9), tc.tcp)
			if m.Header.Truncated != tc.tc || len(m.Answers) != tc.answers {
				t.Errorf("got TC %v and %d answers, want %v and %d", m.Header.Truncated, len(m.Answers), tc.tc, tc.answers)
			}
			if size > tc.limit {
				t.Errorf("got %d bytes, want at most %d", size, tc.limit)
			}
			if m.Header.RCode != dnsmessage.RCodeSuccess || len(m.Questions) != 1 {
				t.Errorf("got rcode %v, %d questions; want NOERROR with the question", m.Header.RCode, len(m.Questions))
			}
		})
	}
	if got := many(t, 0).Stats().Truncated; got != 0 {
		t.Errorf("fresh server: %d truncated", got)
	}
}

// TestAnswerBadRequests checks FORMERR, NOTIMP and dropped requests.
func TestAnswerBadRequests(t *testing.T) {
	s := newZone(t, zone.Config{})
	good := q{name: "db.lan.", typ: dnsmessage.TypeA}.pack(t, 7)

	twoQ := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7})
	twoQ.StartQuestions()
	for range 2 {
		twoQ.Question(dnsmessage.Question{Name: dnsmessage.MustNewName("db.lan."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	}
	twoQs, _ := twoQ.Finish()

	noQB := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7})
	noQ, _ := noQB.Finish()

	notify := slices.Clone(good)
	notify[2] |= 4 << 3 // opcode 4 (NOTIFY)

	response := slices.Clone(good)
	response[2] |= 0x80

	for _, tc := range []struct {
		name  string
		msg   []byte
		drop  bool
		rcode dnsmessage.RCode
	}{
		{"two questions", twoQs, false, dnsmessage.RCodeFormatError},
		{"no question", noQ, false, dnsmessage.RCodeFormatError},
		{"cut short", good[:len(good)-3], false, dnsmessage.RCodeFormatError},
		{"NOTIFY", notify, false, dnsmessage.RCodeNotImplemented},
		{"a response", response, true, 0},
		{"shorter than a header", good[:11], true, 0},
		{"empty", nil, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Stats()
			out, ok := s.AppendAnswer(nil, tc.msg, false)
			if ok == tc.drop {
				t.Fatalf("got answered %v, want %v", ok, !tc.drop)
			}
			if tc.drop {
				if got := s.Stats().Dropped - before.Dropped; got != 1 {
					t.Errorf("Stats.Dropped grew by %d, want 1", got)
				}
				return
			}
			var m dnsmessage.Message
			if err := m.Unpack(out); err != nil {
				t.Fatal(err)
			}
			if m.Header.ID != 7 || m.Header.RCode != tc.rcode || len(m.Answers) != 0 {
				t.Errorf("got ID %d rcode %v with %d answers, want ID 7 rcode %v and none", m.Header.ID, m.Header.RCode, len(m.Answers), tc.rcode)
			}
		})
	}
	st := s.Stats()
	if st.FormErr != 3 || st.NotImp != 1 || st.Dropped != 3 {
		t.Errorf("stats %+v: want FormErr 3, NotImp 1, Dropped 3", st)
	}
}

// FuzzAnswer checks that no request makes the server panic, and that
// every answer parses, carries the request's ID and question, and fits
// the UDP limit it must fit.
func FuzzAnswer(f *testing.F) {
	s := newZone(f, zone.Config{})
	for _, r := range []q{
		{name: "db.lan.", typ: dnsmessage.TypeA},
		{name: "_postgres._tcp.lan.", typ: dnsmessage.TypeSRV, edns: 1232},
		{name: "lan.", typ: dnsmessage.TypeALL},
		{name: "example.com.", typ: dnsmessage.TypeAAAA},
	} {
		f.Add(r.pack(f, 1), false)
	}
	f.Fuzz(func(t *testing.T, msg []byte, tcp bool) {
		out, ok := s.AppendAnswer(nil, msg, tcp)
		if !ok {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(out)
		if err != nil {
			t.Fatalf("answer does not parse: %v", err)
		}
		if !h.Response || h.RecursionAvailable || h.ID != uint16(msg[0])<<8|uint16(msg[1]) {
			t.Fatalf("header %+v: want a response with the request's ID and no recursion", h)
		}
		if !tcp && len(out) > zone.MaxUDPSize {
			t.Fatalf("UDP answer of %d bytes", len(out))
		}
		var m dnsmessage.Message
		if err := m.Unpack(out); err != nil {
			t.Fatalf("answer does not unpack: %v", err)
		}
	})
}

// BenchmarkAnswer measures one A query against 1000 instances.
func BenchmarkAnswer(b *testing.B) {
	s := many(b, 0)
	for i := range 1000 {
		s.Set(zone.Key{Instance: uint64(i)}, zone.Record{
			Name:  fmt.Sprintf("h%02d-s%02d", i/100, i%100),
			Type:  "bench",
			Port:  uint16(1000 + i%100),
			Heard: []netip.Addr{netip.AddrFrom4([4]byte{10, 78, 0, byte(10 + i/100)})},
			TTL:   15 * time.Second,
		})
	}
	msg := q{name: "h03-s42.lan.", typ: dnsmessage.TypeA}.pack(b, 1)
	out := make([]byte, 0, zone.MaxUDPSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.AppendAnswer(out[:0], msg, false); !ok {
			b.Fatal("dropped")
		}
	}
}

// TestAnswerAddrs checks which addresses become A and AAAA records: those
// the instance was heard from, or for one heard over IPv6 only its first
// routable IPv4 address; never link-local or loopback ones.
func TestAnswerAddrs(t *testing.T) {
	s, err := zone.New(zone.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.Set(zone.Key{Instance: 1}, zone.Record{
		Name: "v6",
		Heard: []netip.Addr{
			netip.MustParseAddr("fe80::1%eth0"),
			netip.MustParseAddr("2001:db8::5"),
		},
		Addrs: []netip.Addr{
			netip.MustParseAddr("127.0.0.1"),
			netip.MustParseAddr("169.254.1.1"),
			netip.MustParseAddr("10.0.0.7"),
			netip.MustParseAddr("10.0.0.8"),
			netip.MustParseAddr("fd00::7"),
			netip.MustParseAddr("2001:db8::5"),
		},
		TTL: time.Minute,
	})
	s.Set(zone.Key{Instance: 2}, zone.Record{
		Name:  "both",
		Heard: []netip.Addr{netip.MustParseAddr("10.0.0.9"), netip.MustParseAddr("::ffff:10.0.0.9")},
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.10")},
		TTL:   time.Minute,
	})
	for _, tc := range []struct {
		name string
		typ  dnsmessage.Type
		want []string
	}{
		{"v6.lan.", dnsmessage.TypeA, []string{"A 10.0.0.7 ttl=5"}},
		{"v6.lan.", dnsmessage.TypeAAAA, []string{"AAAA 2001:db8::5 ttl=5", "AAAA fd00::7 ttl=5"}},
		{"both.lan.", dnsmessage.TypeA, []string{"A 10.0.0.9 ttl=5"}},
	} {
		m, _ := ask(t, s, q{name: tc.name, typ: tc.typ}.pack(t, 1), false)
		if got := rr(m.Answers); !slices.Equal(got, tc.want) {
			t.Errorf("%s %v: got %q, want %q", tc.name, tc.typ, got, tc.want)
		}
	}
}

// TestAnswerProto checks that a service's SRV record is served under the
// protocol label of its Record.Proto: _udp for "udp", _tcp for "tcp" and
// for lanfind's own services (no protocol), never under the other one.
func TestAnswerProto(t *testing.T) {
	s := newZone(t, zone.Config{})
	heard := []netip.Addr{netip.MustParseAddr("10.0.0.9")}
	s.Set(zone.Key{Instance: 10}, zone.Record{Name: "Phone", Type: "sip", Proto: "udp", Port: 5060, Heard: heard, TTL: time.Minute})
	s.Set(zone.Key{Instance: 11}, zone.Record{Name: "PBX", Type: "sip", Proto: "tcp", Port: 5061, Heard: heard, TTL: time.Minute})
	soa := []string{"SOA lan. min=5 ttl=5"}
	for _, tc := range []struct {
		name      string
		rcode     dnsmessage.RCode
		answers   []string
		authority []string
	}{
		{"_sip._udp.lan.", dnsmessage.RCodeSuccess, []string{"SRV 0 1 5060 phone.lan. ttl=5"}, nil},
		{"_SIP._UDP.lan.", dnsmessage.RCodeSuccess, []string{"SRV 0 1 5060 phone.lan. ttl=5"}, nil},
		{"_sip._tcp.lan.", dnsmessage.RCodeSuccess, []string{"SRV 0 1 5061 pbx.lan. ttl=5"}, nil},
		{"_postgres._tcp.lan.", dnsmessage.RCodeSuccess, []string{"SRV 0 1 5432 db.lan. ttl=5", "SRV 0 1 5433 db.lan. ttl=2"}, nil},
		{"_postgres._udp.lan.", dnsmessage.RCodeNameError, nil, soa},
		{"_udp.lan.", dnsmessage.RCodeSuccess, nil, soa},
		{"_sip._sctp.lan.", dnsmessage.RCodeNameError, nil, soa},
	} {
		m, _ := ask(t, s, q{name: tc.name, typ: dnsmessage.TypeSRV}.pack(t, 1), false)
		if m.Header.RCode != tc.rcode || !slices.Equal(rr(m.Answers), tc.answers) || !slices.Equal(rr(m.Authorities), tc.authority) {
			t.Errorf("SRV %s: got %v %q %q, want %v %q %q", tc.name, m.Header.RCode, rr(m.Answers), rr(m.Authorities),
				tc.rcode, tc.answers, tc.authority)
		}
	}
	// Once the only _udp service leaves, _udp.lan. is gone too.
	s.Delete(zone.Key{Instance: 10})
	for _, name := range []string{"_sip._udp.lan.", "_udp.lan."} {
		if m, _ := ask(t, s, q{name: name, typ: dnsmessage.TypeSRV}.pack(t, 1), false); m.Header.RCode != dnsmessage.RCodeNameError {
			t.Errorf("SRV %s after the delete: got %v, want NXDOMAIN", name, m.Header.RCode)
		}
	}
	// A changed protocol moves the record.
	s.Set(zone.Key{Instance: 11}, zone.Record{Name: "PBX", Type: "sip", Proto: "udp", Port: 5061, Heard: heard, TTL: time.Minute})
	if m, _ := ask(t, s, q{name: "_sip._tcp.lan.", typ: dnsmessage.TypeSRV}.pack(t, 1), false); m.Header.RCode != dnsmessage.RCodeNameError {
		t.Errorf("SRV _sip._tcp after moving to udp: got %v %q, want NXDOMAIN", m.Header.RCode, rr(m.Answers))
	}
	if m, _ := ask(t, s, q{name: "_sip._udp.lan.", typ: dnsmessage.TypeSRV}.pack(t, 1), false); !slices.Equal(rr(m.Answers), []string{"SRV 0 1 5061 pbx.lan. ttl=5"}) {
		t.Errorf("SRV _sip._udp after moving to udp: got %q", rr(m.Answers))
	}
}
