package main

// Namespace-lab tests of "lanfind serve" with the real programs its README
// recipes plug it into: dig, dnsmasq and getent, and Prometheus.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
)

// startServe starts "lanfind serve" with args in h and returns once it
// serves.
func startServe(t *testing.T, h *netnstest.Host, args ...string) *proc {
	t.Helper()
	p := start(t, h, append([]string{"serve"}, args...)...)
	p.waitLog(t, "serving")
	return p
}

// lookPath returns the path of a program the lab tests run, which .ci/run
// installs: a missing one fails the test in CI and skips it elsewhere.
func lookPath(t *testing.T, name string) string {
	t.Helper()
	requiretest.Need(t, name)
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startProgram starts a daemon such as dnsmasq in h, in the foreground.
// It is killed by its PID when the test ends, and its output logged if
// the test failed.
func startProgram(t *testing.T, h *netnstest.Host, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), lookPath(t, name), args...)
	out := newLineBuffer()
	cmd.Stdout, cmd.Stderr = out, out
	if err := h.Start(t, cmd); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait() // the exit status does not matter: it is killed
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s: %s:\n%s", h.Name, name, out)
		}
	})
}

// startDnsmasq starts dnsmasq on 127.0.0.1:53 in h, forwarding lan to
// serve on 127.0.0.1:5354 (the README's recipe) and nothing else.
func startDnsmasq(t *testing.T, h *netnstest.Host) {
	t.Helper()
	startProgram(t, h, "dnsmasq",
		"--keep-in-foreground", "--conf-file=/dev/null", "--pid-file=", "--user=root",
		"--no-resolv", "--no-hosts", "--no-poll", "--bind-interfaces", "--listen-address=127.0.0.1", "--port=53",
		"--server=/lan/127.0.0.1#5354", "--log-queries", "--log-facility=-")
}

// digAnswer is what dig printed for one query: the status and the answer
// records' data, sorted.
type digAnswer struct {
	status string // NOERROR, NXDOMAIN, REFUSED, …
	data   []string
}

// dig asks the DNS server at 127.0.0.1:port in h with dig and args such as
// "db.lan", "A".
func dig(t *testing.T, h *netnstest.Host, port int, args ...string) digAnswer {
	t.Helper()
	all := append([]string{"@127.0.0.1", "-p", fmt.Sprint(port), "+tries=1", "+time=1", "+noall", "+comments", "+answer"}, args...)
	out, err := h.Run(t, lookPath(t, "dig"), all...)
	if err != nil {
		t.Fatalf("dig %s: %v\n%s", strings.Join(all, " "), err, out)
	}
	var a digAnswer
	for line := range strings.Lines(out) {
		if _, rest, ok := strings.Cut(line, "status: "); ok {
			a.status, _, _ = strings.Cut(rest, ",")
			continue
		}
		if f := strings.Fields(line); len(f) >= 5 && !strings.HasPrefix(line, ";") {
			a.data = append(a.data, f[3]+" "+strings.Join(f[4:], " "))
		}
	}
	slices.Sort(a.data)
	return a
}

func (a digAnswer) String() string { return strings.Join(append([]string{a.status}, a.data...), " ") }

// waitDig asks again until the answer is want, and returns when it first
// was; it fails t after waitTimeout.
func waitDig(t *testing.T, h *netnstest.Host, port int, want string, args ...string) time.Time {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		got := dig(t, h, port, args...)
		if got.String() == want {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("dig %s: got %q after %v, want %q", strings.Join(args, " "), got, waitTimeout, want)
		}
		time.Sleep(20 * time.Millisecond) // dig itself takes longer
	}
}

// labGet fetches http://addr/path from inside h: the connection is opened
// in h's namespace.
func labGet(t *testing.T, h *netnstest.Host, addr, path string) (int, string) {
	t.Helper()
	var c net.Conn
	var err error
	h.Do(t, func() { c, err = net.DialTimeout("tcp", addr, waitTimeout) })
	if err != nil {
		t.Fatalf("%s: connect to %s: %v", h.Name, addr, err)
	}
	client := &http.Client{
		Timeout: cmdTimeout,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(context.Context, string, string) (net.Conn, error) {
				if c == nil {
					return nil, fmt.Errorf("one request per connection")
				}
				conn := c
				c = nil
				return conn, nil
			},
		},
	}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("%s: GET %s%s: %v", h.Name, addr, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: GET %s%s: %v", h.Name, addr, path, err)
	}
	return resp.StatusCode, string(b)
}

// TestNSServeDNS asks "lanfind serve" with dig: A, SRV, TXT over UDP and
// TCP; a name goes within 1s of its announcer's SIGTERM and within TTL+1s
// of its SIGKILL.
func TestNSServeDNS(t *testing.T) {
	t.Parallel()
	requiretest.Need(t, "dig")
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	a0 := startAnnouncer(t, h0, "--name", "db", "--port", "5432", "--type", "postgres", "--meta", "role=primary")
	a1 := startAnnouncer(t, h1, "--name", "db", "--port", "5433", "--type", "postgres", "--interval", "200ms", "--ttl", "1s")
	srv := startServe(t, h2, "--dns", "127.0.0.1:5354", "--http", "127.0.0.1:8053")
	ip0, ip1 := h0.Addr("eth0").String(), h1.Addr("eth0").String()

	both := fmt.Sprintf("NOERROR A %s A %s", ip0, ip1)
	waitDig(t, h2, 5354, both, "db.lan", "A")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"DB.lan", "A", "+tcp"}, both},
		{[]string{"_postgres._tcp.lan", "SRV"}, "NOERROR SRV 0 1 5432 db.lan. SRV 0 1 5433 db.lan."},
		{[]string{"db.lan", "TXT"}, `NOERROR TXT "" TXT "role=primary"`},
		{[]string{"db.lan", "AAAA"}, "NOERROR"},
		{[]string{"nosuch.lan", "A"}, "NXDOMAIN"},
		{[]string{"example.com", "A"}, "REFUSED"},
	} {
		if got := dig(t, h2, 5354, tc.args...); got.String() != tc.want {
			t.Errorf("dig %s: got %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	code, body := labGet(t, h2, "127.0.0.1:8053", "/v1/services?name=db")
	var svcs []service
	if err := json.Unmarshal([]byte(body), &svcs); code != 200 || err != nil || len(svcs) != 2 {
		t.Errorf("GET /v1/services?name=db: %d %v, got %q, want two services", code, err, body)
	}

	a0.signal(t, syscall.SIGTERM)
	sent := time.Now()
	gone := waitDig(t, h2, 5354, "NOERROR A "+ip1, "db.lan", "A")
	if d := gone.Sub(sent); d > time.Second {
		t.Errorf("db.lan still had %s %v after its announcer's SIGTERM, want within 1s", ip0, d)
	} else {
		t.Logf("gone %v after SIGTERM", d.Round(time.Millisecond))
	}
	a1.signal(t, syscall.SIGKILL)
	killed := time.Now()
	gone = waitDig(t, h2, 5354, "NXDOMAIN", "db.lan", "A")
	if d := gone.Sub(killed); d > 2*time.Second {
		t.Errorf("db.lan resolved %v after its announcer's SIGKILL, want within the 1s TTL + 1s", d)
	}
	_, metrics := labGet(t, h2, "127.0.0.1:8053", "/metrics")
	for _, want := range []string{`lanfind_events_total{event="down",reason="goodbye"} 1`, `lanfind_events_total{event="down",reason="expired"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	srv.signal(t, syscall.SIGTERM)
	if code := srv.wait(t); code != 0 {
		t.Errorf("%s: SIGTERM: got exit %d, want 0", srv.desc, code)
	}
}

// TestNSServeGetent resolves a name with getent, the way every program
// does, through dnsmasq forwarding the domain to "lanfind serve" (the
// README's dnsmasq recipe). getent runs in a mount namespace of its own
// where /etc/resolv.conf names dnsmasq: the machine's file is untouched.
func TestNSServeGetent(t *testing.T) {
	t.Parallel()
	requiretest.Need(t, "dig", "dnsmasq", "unshare", "getent")
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	startAnnouncer(t, h0, "--name", "Web Server", "--port", "8080")
	startServe(t, h1, "--dns", "127.0.0.1:5354", "--http", "")

	dir := t.TempDir()
	startDnsmasq(t, h1)
	want := "NOERROR A " + h0.Addr("eth0").String()
	waitDig(t, h1, 53, want, "web-server.lan", "A")

	resolv := filepath.Join(dir, "resolv.conf")
	nsswitch := filepath.Join(dir, "nsswitch.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 127.0.0.1\noptions timeout:1 attempts:2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nsswitch, []byte("hosts: files dns\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := h1.Run(t, lookPath(t, "unshare"), "-m", "sh", "-c",
		`mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/nsswitch.conf && exec getent hosts web-server.lan`,
		"sh", resolv, nsswitch)
	if err != nil {
		t.Fatalf("getent hosts web-server.lan: %v\n%s", err, out)
	}
	if f := strings.Fields(out); len(f) < 2 || f[0] != h0.Addr("eth0").String() || f[1] != "web-server.lan" {
		t.Errorf("getent hosts web-server.lan: got %q, want %s web-server.lan", out, h0.Addr("eth0"))
	}
}

// promTargets returns Prometheus's active targets as "JOB INSTANCE
// LANFIND_NAME".
func promTargets(t *testing.T, h *netnstest.Host) []string {
	t.Helper()
	code, body := labGet(t, h, "127.0.0.1:9090", "/api/v1/targets?state=active")
	if code != 200 {
		t.Fatalf("GET /api/v1/targets: %d %s", code, body)
	}
	var r struct {
		Data struct {
			ActiveTargets []struct {
				Labels map[string]string `json:"labels"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("GET /api/v1/targets: %v\n%s", err, body)
	}
	var out []string
	for _, tg := range r.Data.ActiveTargets {
		l := tg.Labels
		out = append(out, strings.TrimSpace(l["job"]+" "+l["instance"]+" "+l["lanfind_name"]))
	}
	slices.Sort(out)
	return out
}

// promConfig is the README's Prometheus recipe, with short refresh
// intervals: http_sd_configs against serve's HTTP API, and dns_sd_configs
// through the system resolver (here dnsmasq, forwarding lan to serve).
const promConfig = `global:
  scrape_interval: 1m
scrape_configs:
  - job_name: lanfind-http
    http_sd_configs:
      - url: http://127.0.0.1:8053/v1/prometheus?type=node-exporter
        refresh_interval: %[1]s
    relabel_configs:
      - source_labels: [__meta_lanfind_name]
        target_label: lanfind_name
  - job_name: lanfind-dns
    dns_sd_configs:
      - names: [_node-exporter._tcp.lan]
        type: SRV
        refresh_interval: %[1]s
`

// TestNSServePrometheus runs a real Prometheus against "lanfind serve"
// with the README's recipes, http_sd_configs and dns_sd_configs: announced
// node exporters become targets within one refresh interval (plus the 5s
// for which Prometheus batches discovery updates, and the DNS TTL), and a
// departed one is dropped as fast. Prometheus runs in a mount namespace of its own whose
// /etc/resolv.conf names a dnsmasq that forwards lan to serve.
func TestNSServePrometheus(t *testing.T) {
	t.Parallel()
	requiretest.Need(t, "dig", "dnsmasq", "unshare", "prometheus")
	const refresh = 2 * time.Second
	const batching = 5 * time.Second // Prometheus's discovery manager
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	node := []string{"--type", "node-exporter", "--port", "9100"}
	startAnnouncer(t, h0, append(node, "--name", "node-a")...)
	startAnnouncer(t, h1, "--name", "db", "--type", "postgres", "--port", "5432") // not a node exporter
	// DNS answers are cached (by dnsmasq here) for up to --dns-ttl.
	const ttl = time.Second
	startServe(t, h2, "--http", "127.0.0.1:8053", "--dns", "127.0.0.1:5354", "--dns-ttl", ttl.String())
	startDnsmasq(t, h2)
	// Prometheus starts when serve knows node-a: otherwise its first
	// query caches NXDOMAIN, for up to the TTL.
	waitDig(t, h2, 5354, "NOERROR SRV 0 1 9100 node-a.lan.", "_node-exporter._tcp.lan", "SRV")

	dir := t.TempDir()
	resolv := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(promConfig, refresh)), 0o644); err != nil {
		t.Fatal(err)
	}
	startProgram(t, h2, "unshare", "-m", "sh", "-c", `mount --bind "$1" /etc/resolv.conf && shift && exec "$@"`, "sh",
		resolv, lookPath(t, "prometheus"), "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:9090", "--log.level=warn")

	wait := func(what string, want []string, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		var got []string
		for time.Since(start) < within {
			if got = promTargets(t, h2); slices.Equal(got, want) {
				return time.Since(start)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: Prometheus targets %q after %v, want %q", what, got, within, want)
		return 0
	}
	// Prometheus starts: its API answers once it is ready.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var c net.Conn
		var err error
		h2.Do(t, func() { c, err = net.DialTimeout("tcp", "127.0.0.1:9090", time.Second) })
		if err == nil {
			c.Close()
			if code, _ := labGet(t, h2, "127.0.0.1:9090", "/-/ready"); code == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("Prometheus not ready after 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	targets := func(names ...string) []string {
		var out []string
		for _, n := range names {
			h := map[string]*netnstest.Host{"node-a": h0, "node-b": h1}[n]
			out = append(out,
				"lanfind-http "+h.Addr("eth0").String()+":9100 "+n,
				"lanfind-dns "+n+".lan:9100")
		}
		slices.Sort(out)
		return out
	}
	within := refresh + batching + ttl + time.Second
	wait("at start", targets("node-a"), within)

	// One more node exporter, on h1.
	b := startAnnouncer(t, h1, append(node, "--name", "node-b")...)
	d := wait("new node exporter", targets("node-a", "node-b"), within)
	t.Logf("new targets after %v", d.Round(time.Millisecond))
	b.signal(t, syscall.SIGTERM)
	d = wait("departed node exporter", targets("node-a"), within)
	t.Logf("departed targets dropped after %v", d.Round(time.Millisecond))
}

// TestNSServeMDNS serves a printer that avahi-daemon publishes beside a
// lanfind announcer: "serve --mdns" answers dig for its name and lists it
// in /v1/services with source mdns. A _sip._udp service Avahi publishes is
// served under _sip._udp.lan, not _sip._tcp.lan.
func TestNSServeMDNS(t *testing.T) {
	t.Parallel()
	requiretest.Need(t, "dig", "avahi-daemon", "dbus-daemon")
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	mdnslab.StartAvahi(t, h0, "printhost", mdnslab.Service{
		Name: "Office Printer", Type: "_ipp._tcp", Port: 631, TXT: []string{"rp=printers/office"},
	}, mdnslab.Service{Name: "Phone", Type: "_sip._udp", Port: 5060})
	startAnnouncer(t, h0, "--name", "db", "--port", "5432", "--type", "postgres")
	srv := startServe(t, h1, "--mdns", "--dns", "127.0.0.1:5354", "--http", "127.0.0.1:8053")
	ip0 := h0.Addr("eth0").String()

	waitDig(t, h1, 5354, "NOERROR A "+ip0, "office-printer.lan", "A")
	waitDig(t, h1, 5354, "NOERROR SRV 0 1 631 office-printer.lan.", "_ipp._tcp.lan", "SRV")
	waitDig(t, h1, 5354, "NOERROR A "+ip0, "db.lan", "A")
	waitDig(t, h1, 5354, "NOERROR SRV 0 1 5060 phone.lan.", "_sip._udp.lan", "SRV")
	if got := dig(t, h1, 5354, "_sip._tcp.lan", "SRV"); got.String() != "NXDOMAIN" {
		t.Errorf("dig _sip._tcp.lan SRV: got %q, want NXDOMAIN (Phone is a _udp service)", got)
	}
	code, body := labGet(t, h1, "127.0.0.1:8053", "/v1/services")
	var svcs []service
	if err := json.Unmarshal([]byte(body), &svcs); code != 200 || err != nil {
		t.Fatalf("GET /v1/services: %d %v\n%s", code, err, body)
	}
	var got []string
	for _, s := range svcs {
		got = append(got, fmt.Sprintf("%s/%s/%s:%d", s.Name, s.Source, s.Addr, s.Port))
	}
	want := []string{"Office Printer/mdns/" + ip0 + ":631", "Phone/mdns/" + ip0 + ":5060", "db/lanfind/" + ip0 + ":5432"}
	if !slices.Equal(got, want) {
		t.Errorf("GET /v1/services: got %q, want %q", got, want)
	}
	srv.signal(t, syscall.SIGTERM)
	if code := srv.wait(t); code != 0 {
		t.Errorf("%s: SIGTERM: got exit %d, want 0", srv.desc, code)
	}
}
