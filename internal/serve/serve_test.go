package serve_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/output"
	"github.com/lanfind/lanfind/internal/requiretest"
	"github.com/lanfind/lanfind/internal/serve"
	tt "github.com/lanfind/lanfind/internal/termtext"
	"github.com/lanfind/lanfind/internal/zone"
	"github.com/lanfind/lanfind/seal"
)

// fakeSource hands the events a test sends to the Server's callback, one
// at a time, as a discover.Listener's receive loop would.
type fakeSource struct {
	events chan discover.Event
	done   chan struct{} // one value per event applied

	// mu guards stats.
	mu    sync.Mutex
	stats discover.Stats
}

func newFakeSource() *fakeSource {
	return &fakeSource{events: make(chan discover.Event), done: make(chan struct{})}
}

func (f *fakeSource) Run(ctx context.Context, fn func(discover.Event)) error {
	for {
		select {
		case ev := <-f.events:
			fn(ev)
			f.done <- struct{}{}
		case <-ctx.Done():
			return nil
		}
	}
}

func (f *fakeSource) Stats() discover.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

func (f *fakeSource) Close() error { return nil }

// send applies ev and returns once it has been applied.
func (f *fakeSource) send(t *testing.T, kind discover.EventKind, reason string, r discover.Result) {
	t.Helper()
	select {
	case f.events <- discover.Event{Kind: kind, Reason: reason, Service: r}:
	case <-time.After(5 * time.Second):
		t.Fatal("event not taken within 5s: is Run running?")
	}
	<-f.done
}

var (
	db1 = discover.Result{
		Instance: 0x1111,
		Sender:   1,
		Name:     "db",
		Type:     "postgres",
		Port:     5432,
		Host:     "alpha",
		Addr:     netip.MustParseAddr("10.0.0.1"),
		Addrs:    []netip.Addr{netip.MustParseAddr("10.0.0.1")},
		Iface:    "eth0",
		Meta:     map[string]string{"version": "16", "the-role": "primary"},
		TTL:      15 * time.Second,
		LastSeen: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	db2 = discover.Result{
		Instance: 0x2222,
		Sender:   2,
		Name:     "db",
		Type:     "postgres",
		Port:     5433,
		Host:     "beta",
		Addr:     netip.MustParseAddr("10.0.0.2"),
		Iface:    "eth1",
		TTL:      15 * time.Second,
	}
	node = discover.Result{
		Instance: 0x3333,
		Sender:   3,
		Name:     "Node Metrics",
		Type:     "node-exporter",
		Port:     9100,
		Host:     "gamma\x1b[2J",
		Addr:     netip.MustParseAddr("10.0.0.3"),
		Iface:    "eth0",
		TTL:      15 * time.Second,
	}
)

// start runs a Server with a fake source, HTTP and DNS on loopback, until
// the test ends.
func start(t *testing.T, keys bool) (*serve.Server, *fakeSource) {
	t.Helper()
	cfg := serve.Config{HTTP: "127.0.0.1:0", DNS: zone.Config{Addr: "127.0.0.1:0"}}
	if keys {
		cfg.Discover.Keys = make([]seal.Key, 1)
	}
	s, src, _ := startWith(t, cfg)
	return s, src
}

// startWith runs a Server made from cfg with a fake source. stop ends Run
// and fails the test unless Run returns nil within 5s; it runs at the
// test's end unless the test calls it first.
func startWith(t *testing.T, cfg serve.Config) (s *serve.Server, src *fakeSource, stop func()) {
	t.Helper()
	src = newFakeSource()
	serve.SetSource(&cfg, src)
	s, err := serve.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("Run still running 5s after its context ended")
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return s, src, stop
}

// get fetches path and returns the status and body.
func get(t *testing.T, s *serve.Server, method, path string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+s.HTTPAddr().String()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestServices(t *testing.T) {
	s, src := start(t, false)
	for _, r := range []discover.Result{node, db2, db1} {
		src.send(t, discover.EventUp, "", r)
	}
	for _, tc := range []struct {
		path string
		want []string // instances in order
	}{
		{"/v1/services", []string{"0000000000003333", "0000000000001111", "0000000000002222"}}, // "N" < "d"
		{"/v1/services?type=postgres", []string{"0000000000001111", "0000000000002222"}},
		{"/v1/services?name=Node+Metrics", []string{"0000000000003333"}},
		{"/v1/services?name=db&type=http", nil},
	} {
		code, body, h := get(t, s, "GET", tc.path)
		if code != 200 || h.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: %d %s, want 200 application/json", tc.path, code, h.Get("Content-Type"))
		}
		var got []output.Service
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("GET %s: %v\n%s", tc.path, err, body)
		}
		var ids []string
		for _, svc := range got {
			ids = append(ids, svc.Instance)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("GET %s: got instances %q, want %q", tc.path, ids, tc.want)
		}
		if tc.want == nil && strings.TrimSpace(body) != "[]" {
			t.Errorf("GET %s: got %q, want []", tc.path, body)
		}
	}
	// The same JSON as list --json prints: every field, made safe.
	_, body, _ := get(t, s, "GET", "/v1/services?name=Node+Metrics")
	var want strings.Builder
	if err := output.NewPrinter(&want, true, nil, tt.Style{}).List([]discover.Result{node}); err != nil {
		t.Fatal(err)
	}
	if body != want.String() {
		t.Errorf("got %s, want %s", body, want.String())
	}
	if strings.Contains(body, "\x1b") {
		t.Errorf("escape character reached the JSON: %q", body)
	}

	src.send(t, discover.EventDown, discover.ReasonGoodbye, db1)
	_, body, _ = get(t, s, "GET", "/v1/services?type=postgres")
	if !strings.Contains(body, "0000000000002222") || strings.Contains(body, "0000000000001111") {
		t.Errorf("after a goodbye: got %s, want only db2", body)
	}

	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/v1/services?nmae=db", 400},
		{"GET", "/v1/services?name=a&name=b", 400},
		{"POST", "/v1/services", 405},
		{"DELETE", "/v1/services", 405},
		{"HEAD", "/v1/services", 200},
		{"GET", "/v1/nothing", 404},
		{"GET", "/healthz", 200},
	} {
		if code, body, _ := get(t, s, tc.method, tc.path); code != tc.code {
			t.Errorf("%s %s: got %d %q, want %d", tc.method, tc.path, code, body, tc.code)
		}
	}
}

func TestPrometheus(t *testing.T) {
	s, src := start(t, false)
	for _, r := range []discover.Result{db1, db2, node} {
		src.send(t, discover.EventUp, "", r)
	}
	code, body, _ := get(t, s, "GET", "/v1/prometheus?type=node-exporter")
	if code != 200 {
		t.Fatalf("got %d %s", code, body)
	}
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	var got []group
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !slices.Equal(got[0].Targets, []string{"10.0.0.3:9100"}) {
		t.Fatalf("got %+v, want one group with target 10.0.0.3:9100", got)
	}
	wantLabels := map[string]string{
		"__meta_lanfind_name":      "Node Metrics",
		"__meta_lanfind_type":      "node-exporter",
		"__meta_lanfind_host":      "gamma\u001b[2J", // JSON-escaped on the wire, see below
		"__meta_lanfind_instance":  "0000000000003333",
		"__meta_lanfind_interface": "eth0",
		"__meta_lanfind_dns_name":  "node-metrics.lan",
	}
	for k, v := range wantLabels {
		if got[0].Labels[k] != v {
			t.Errorf("label %s: got %q, want %q", k, got[0].Labels[k], v)
		}
	}
	if strings.Contains(body, "\x1b") {
		t.Errorf("escape character reached the JSON: %q", body)
	}

	_, body, _ = get(t, s, "GET", "/v1/prometheus?type=postgres")
	got = nil
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("type=postgres: got %d groups, want 2", len(got))
	}
	if got[0].Labels["__meta_lanfind_meta_the_role"] != "primary" || got[0].Labels["__meta_lanfind_meta_version"] != "16" {
		t.Errorf("metadata labels: got %v", got[0].Labels)
	}
	_, body, _ = get(t, s, "GET", "/v1/prometheus?type=none")
	if strings.TrimSpace(body) != "[]" {
		t.Errorf("no match: got %q, want []", body)
	}
}

// readEvents reads n events of the stream r, each a line of JSON, or a
// "data: " line and a blank line with sse.
func readEvents(t *testing.T, r *bufio.Reader, n int, sse bool) []output.Event {
	t.Helper()
	var out []output.Event
	for len(out) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d events: %v", len(out), err)
		}
		if sse {
			if line == "\n" {
				continue
			}
			var ok bool
			if line, ok = strings.CutPrefix(line, "data: "); !ok {
				t.Fatalf("SSE line %q: want data: …", line)
			}
		}
		var ev output.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("event %q: %v", line, err)
		}
		out = append(out, ev)
	}
	return out
}

func openStream(t *testing.T, s *serve.Server, path string, sse bool) (*http.Response, *bufio.Reader) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+s.HTTPAddr().String()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sse {
		req.Header.Set("Accept", "text/event-stream")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	return resp, bufio.NewReader(resp.Body)
}

func describe(evs []output.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Event+"/"+ev.Reason+"/"+ev.Service.Instance)
	}
	return out
}

func TestEvents(t *testing.T) {
	for _, sse := range []bool{false, true} {
		t.Run(map[bool]string{false: "ndjson", true: "sse"}[sse], func(t *testing.T) {
			s, src := start(t, false)
			src.send(t, discover.EventUp, "", db1)
			src.send(t, discover.EventUp, "", node)
			resp, r := openStream(t, s, "/v1/events?type=postgres", sse)
			wantType := map[bool]string{false: "application/x-ndjson", true: "text/event-stream"}[sse]
			if got := resp.Header.Get("Content-Type"); got != wantType {
				t.Errorf("Content-Type %q, want %q", got, wantType)
			}
			if got, want := describe(readEvents(t, r, 1, sse)), []string{"up//0000000000001111"}; !slices.Equal(got, want) {
				t.Errorf("snapshot: got %q, want %q", got, want)
			}
			src.send(t, discover.EventUp, "", db2)
			src.send(t, discover.EventDown, discover.ReasonExpired, node) // filtered out
			moved := db1
			moved.Port = 6543
			src.send(t, discover.EventUpdate, "", moved)
			src.send(t, discover.EventDown, discover.ReasonGoodbye, db2)
			got := readEvents(t, r, 3, sse)
			want := []string{"up//0000000000002222", "update//0000000000001111", "down/goodbye/0000000000002222"}
			if !slices.Equal(describe(got), want) {
				t.Errorf("events: got %q, want %q", describe(got), want)
			}
			for _, ev := range got {
				if _, err := time.Parse(time.RFC3339Nano, ev.Time); err != nil {
					t.Errorf("event %+v: time: %v", ev, err)
				}
			}
			if got[1].Service.Port != 6543 {
				t.Errorf("update: got port %d, want 6543", got[1].Service.Port)
			}
		})
	}
}

// TestEventsEndWithRun checks that open event streams end when Run does,
// so that shutting down does not wait for clients.
func TestEventsEndWithRun(t *testing.T) {
	s, _, stop := startWith(t, serve.Config{HTTP: "127.0.0.1:0"})
	_, r := openStream(t, s, "/v1/events", false)
	begin := time.Now()
	stop()
	// Not the 2s that Shutdown would wait for an open stream.
	if d := time.Since(begin); d > time.Second {
		t.Errorf("Run took %v to end with a stream open", d)
	}
	if _, err := r.ReadString('\n'); !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("stream after Run: got %v, want it closed", err)
	}
}

func TestMetrics(t *testing.T) {
	s, src := start(t, false)
	src.mu.Lock()
	src.stats = discover.Stats{Received: 42, Malformed: 3, QueriesSent: 7}
	src.mu.Unlock()
	for _, r := range []discover.Result{db1, db2, node} {
		src.send(t, discover.EventUp, "", r)
	}
	src.send(t, discover.EventDown, discover.ReasonExpired, db2)
	if _, err := resolver(s).LookupHost(t.Context(), "db.lan"); err != nil {
		t.Fatal(err)
	}
	code, body, h := get(t, s, "GET", "/metrics")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("got %d %s", code, h.Get("Content-Type"))
	}
	for _, want := range []string{
		"# TYPE lanfind_services gauge\nlanfind_services 2\n",
		`lanfind_services_by_interface{iface="eth0"} 2` + "\n",
		"# TYPE lanfind_events_total counter\n",
		`lanfind_events_total{event="up",reason=""} 3` + "\n",
		`lanfind_events_total{event="down",reason="expired"} 1` + "\n",
		`lanfind_events_total{event="down",reason="goodbye"} 0` + "\n",
		"lanfind_datagrams_received_total 42\n",
		`lanfind_datagrams_dropped_total{reason="malformed"} 3` + "\n",
		"lanfind_queries_sent_total 7\n",
		`lanfind_dns_requests_total{transport="udp"} `,
		`lanfind_dns_answers_total{rcode="noerror"} `,
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, `iface="eth1"`) {
		t.Errorf("/metrics still has the series of eth1, where nothing is left")
	}
	// A real parser of the format: Prometheus's own promtool (Debian
	// package prometheus, installed by .ci/run).
	if requiretest.Want(t, "promtool"); len(requiretest.Missing("promtool")) > 0 {
		return
	}
	cmd := exec.CommandContext(t.Context(), "promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	// Exit status 3 is lint only: names and HELP texts (the library's
	// process metrics break its naming rules); 1 is a format error.
	var ee *exec.ExitError
	if out, err := cmd.CombinedOutput(); err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// resolver returns a Go resolver that asks only s's DNS server.
func resolver(s *serve.Server) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.DNSAddr().String())
		},
	}
}

// TestDNSFollowsEvents checks that names appear and go with the events.
func TestDNSFollowsEvents(t *testing.T) {
	s, src := start(t, false)
	r := resolver(s)
	src.send(t, discover.EventUp, "", db1)
	src.send(t, discover.EventUp, "", db2)
	addrs, err := r.LookupHost(t.Context(), "db.lan")
	slices.Sort(addrs)
	if err != nil || !slices.Equal(addrs, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Errorf("db.lan: got %q, %v; want both instances", addrs, err)
	}
	src.send(t, discover.EventDown, discover.ReasonGoodbye, db1)
	src.send(t, discover.EventDown, discover.ReasonExpired, db2)
	_, err = r.LookupHost(t.Context(), "db.lan")
	if de, ok := err.(*net.DNSError); !ok || !de.IsNotFound {
		t.Errorf("db.lan after both left: got %v, want not found", err)
	}
}

// TestKeyedServesVerifiedOnly checks that with keys an unverified
// instance reaches neither DNS nor HTTP.
func TestKeyedServesVerifiedOnly(t *testing.T) {
	s, src := start(t, true)
	verified := db2
	verified.Verified = true
	src.send(t, discover.EventUp, "", db1)
	src.send(t, discover.EventUp, "", verified)
	addrs, err := resolver(s).LookupHost(t.Context(), "db.lan")
	if err != nil || !slices.Equal(addrs, []string{"10.0.0.2"}) {
		t.Errorf("db.lan: got %q, %v; want only the verified instance", addrs, err)
	}
	_, body, _ := get(t, s, "GET", "/v1/services")
	if strings.Contains(body, "0000000000001111") {
		t.Errorf("unverified instance served: %s", body)
	}
}

func TestNewBadAddress(t *testing.T) {
	for _, cfg := range []serve.Config{
		{HTTP: "localhost:80"},
		{HTTP: "127.0.0.1"},
		{DNS: zone.Config{Addr: ":53x"}},
	} {
		serve.SetSource(&cfg, newFakeSource())
		if s, err := serve.New(cfg); err == nil {
			s.Close()
			t.Errorf("New(%+v): want an error", cfg)
		}
	}
}

// TestExtraSource checks that a feed of Config.Extra (serve --mdns's
// browser) reaches DNS and HTTP beside the listener, with its source, and
// that a _udp service ("proto": "udp") has its SRV record under _udp, not
// _tcp.
func TestExtraSource(t *testing.T) {
	extra := newFakeSource()
	s, src, _ := startWith(t, serve.Config{
		HTTP:  "127.0.0.1:0",
		DNS:   zone.Config{Addr: "127.0.0.1:0"},
		Extra: []serve.Source{extra},
	})
	printer := discover.Result{
		Instance: 0x4444, Name: "printer", Type: "ipp", Proto: "tcp", Port: 631,
		Addr: netip.MustParseAddr("10.0.0.4"), Iface: "eth0", TTL: 120 * time.Second, Source: "mdns",
	}
	phone := discover.Result{
		Instance: 0x5555, Name: "phone", Type: "sip", Proto: "udp", Port: 5060,
		Addr: netip.MustParseAddr("10.0.0.5"), Iface: "eth0", TTL: 120 * time.Second, Source: "mdns",
	}
	src.send(t, discover.EventUp, "", db1)
	extra.send(t, discover.EventUp, "", printer)
	extra.send(t, discover.EventUp, "", phone)
	addrs, err := resolver(s).LookupHost(t.Context(), "printer.lan")
	if err != nil || !slices.Equal(addrs, []string{"10.0.0.4"}) {
		t.Errorf("printer.lan: got %q, %v; want 10.0.0.4", addrs, err)
	}
	_, srvs, err := resolver(s).LookupSRV(t.Context(), "sip", "udp", "lan")
	if err != nil || len(srvs) != 1 || srvs[0].Port != 5060 || srvs[0].Target != "phone.lan." {
		t.Errorf("SRV _sip._udp.lan: got %+v, %v; want port 5060, target phone.lan.", srvs, err)
	}
	_, srvs, err = resolver(s).LookupSRV(t.Context(), "sip", "tcp", "lan")
	if de, ok := err.(*net.DNSError); !ok || !de.IsNotFound {
		t.Errorf("SRV _sip._tcp.lan: got %+v, %v; want not found", srvs, err)
	}
	_, body, _ := get(t, s, "GET", "/v1/services")
	var got []output.Service
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, svc := range got {
		sources = append(sources, svc.Name+"/"+svc.Source)
	}
	if want := []string{"db/lanfind", "phone/mdns", "printer/mdns"}; !slices.Equal(sources, want) {
		t.Errorf("/v1/services: got %q, want %q", sources, want)
	}
	extra.send(t, discover.EventDown, discover.ReasonGoodbye, printer)
	_, err = resolver(s).LookupHost(t.Context(), "printer.lan")
	if de, ok := err.(*net.DNSError); !ok || !de.IsNotFound {
		t.Errorf("printer.lan after its goodbye: got %v, want not found", err)
	}
}
