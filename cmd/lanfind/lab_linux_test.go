package main

// End-to-end tests of the lanfind binary in namespace labs (tier 4): real
// broadcast and multicast between hosts that exist only inside the test.
// They need root and skip without it, unless LANFIND_LAB=require.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/netnstest"
)

// addrPort formats h's eth0 address with port.
func addrPort(h *netnstest.Host, port uint16) string {
	return netip.AddrPortFrom(h.Addr("eth0"), port).String()
}

// wantInstance returns the instance ID, as the JSON output prints it, that
// an announcer on h with the default machine ID derives.
func wantInstance(h *netnstest.Host, hostname, name, typ string) string {
	var machineID string // announce.Config.MachineID's documented default
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil {
			machineID = strings.TrimSpace(string(b))
			break
		}
	}
	return fmt.Sprintf("%016x", announce.InstanceID(machineID, hostname, h.HardwareAddr("eth0"), name, typ))
}

var hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestNSListFindsServices(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	hostname, err := os.Hostname() // the hosts share the test's UTS namespace
	if err != nil {
		t.Fatal(err)
	}
	startAnnouncer(t, h1, "--name", "db", "--type", "postgres", "--port", "5432",
		"--meta", "version=16", "--meta", "role=primary", "--hostname", "dbhost", "--ttl", "45s")
	startAnnouncer(t, h2, "--name", "web", "--port", "8080")

	begin := time.Now()
	r := runCode(t, h0, 0, "list", "--json", "--timeout", "5s")
	end := time.Now()
	// Answers settle within a few hundred milliseconds; --timeout is only
	// the upper bound.
	if r.elapsed >= 2*time.Second {
		t.Errorf("%s: took %v, want < 2s", r.desc, r.elapsed)
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatalf("%s: %v in %q", r.desc, err, r.stdout)
	}
	for i, obj := range raw {
		for _, k := range []string{"name", "type", "port", "addr", "addrs", "iface", "host", "instance",
			"meta", "ttl_seconds", "last_seen", "seen", "conflict", "verified", "source"} {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s: object %d has no key %q: got %s", r.desc, i, k, r.stdout)
			}
		}
	}
	got := decodeList(t, r)
	a1, a2 := h1.Addr("eth0").String(), h2.Addr("eth0").String()
	want := []service{{
		Name: "db", Type: "postgres", Port: 5432, Addr: a1, Addrs: []string{a1}, Iface: "eth0", Host: "dbhost",
		Instance: wantInstance(h1, "dbhost", "db", "postgres"), Meta: map[string]string{"version": "16", "role": "primary"},
		TTLSeconds: 45, Seen: []seenPath{{"eth0", a1, "ipv4"}}, Source: "lanfind",
	}, {
		Name: "web", Type: "", Port: 8080, Addr: a2, Addrs: []string{a2}, Iface: "eth0", Host: hostname,
		Instance: wantInstance(h2, hostname, "web", ""), Meta: map[string]string{},
		TTLSeconds: 15, Seen: []seenPath{{"eth0", a2, "ipv4"}}, Source: "lanfind",
	}}
	if len(got) != len(want) {
		t.Fatalf("%s: got %d services %v, want %d", r.desc, len(got), names(got), len(want))
	}
	for i := range got {
		if !hex16.MatchString(got[i].Instance) {
			t.Errorf("%s: %s instance: got %q, want 16 hex digits", r.desc, got[i].Name, got[i].Instance)
		}
		ls, err := time.Parse(time.RFC3339, got[i].LastSeen)
		if err != nil {
			t.Errorf("%s: %s last_seen: %v", r.desc, got[i].Name, err)
		} else if ls.Before(begin.Add(-time.Second)) || ls.After(end.Add(time.Second)) {
			t.Errorf("%s: %s last_seen: got %v, want between %v and %v", r.desc, got[i].Name, ls, begin, end)
		}
		got[i].LastSeen = ""
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s: service %d:\ngot  %+v\nwant %+v", r.desc, i, got[i], want[i])
		}
	}

	// The table: a header and one row per service, in name order.
	r = runCode(t, h0, 0, "list")
	var rows [][]string
	for line := range strings.Lines(r.stdout) {
		// SEEN is "now" unless the run was slow.
		rows = append(rows, strings.Fields(regexp.MustCompile(` \d+s ago `).ReplaceAllString(line, " now ")))
	}
	wantRows := [][]string{
		{"NAME", "TYPE", "ADDRESS", "PORT", "IFACE", "HOST", "SEEN", "META"},
		{"db", "postgres", a1, "5432", "eth0", "dbhost", "now", "role=primary,version=16"},
		{"web", "-", a2, "8080", "eth0", hostname, "now", "-"},
	}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Errorf("%s: got rows %q, want %q", r.desc, rows, wantRows)
	}

	if got := names(list(t, h0, "--name", "db")); !slices.Equal(got, []string{"db"}) {
		t.Errorf("list --name db: got %v, want [db]", got)
	}
	if got := names(list(t, h0, "--type", "postgres")); !slices.Equal(got, []string{"db"}) {
		t.Errorf("list --type postgres: got %v, want [db]", got)
	}
	// A table with no rows would be an empty screen: stderr says why.
	r = runCode(t, h0, 1, "list", "--type", "nosuch")
	if want := "lanfind: error: no service of type \"nosuch\" answered\n"; r.stdout != "" || r.stderr != want {
		t.Errorf("%s: got stdout %q, stderr %q; want none, %q", r.desc, r.stdout, r.stderr, want)
	}
	r = runCode(t, h0, 1, "list", "--discovery-port", "28999")
	if !strings.HasPrefix(r.stderr, "lanfind: error: no service answered\nlanfind: hint: run \"lanfind doctor\"") {
		t.Errorf("%s: got stderr %q, want the error and a hint to run doctor", r.desc, r.stderr)
	}
	// Scripts get an empty result and no message.
	r = runCode(t, h0, 1, "list", "--type", "nosuch", "--json")
	if r.stdout != "[]\n" || r.stderr != "" {
		t.Errorf("%s: got stdout %q, stderr %q; want %q, none", r.desc, r.stdout, r.stderr, "[]\n")
	}
	r = runCode(t, h0, 1, "list", "--type", "nosuch", "--format", "{{.Name}}")
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("%s: got stdout %q, stderr %q; want none", r.desc, r.stdout, r.stderr)
	}
}

func TestNSResolve(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	startAnnouncer(t, h1, "--name", "db", "--type", "postgres", "--port", "5432")

	r := runCode(t, h0, 0, "resolve", "db")
	if want := addrPort(h1, 5432) + "\n"; r.stdout != want { // 10.77.0.11:5432
		t.Errorf("%s: got %q, want %q", r.desc, r.stdout, want)
	}
	// Resolve returns the moment the answer arrives, not at the timeout (3s).
	if r.elapsed >= 2*time.Second {
		t.Errorf("%s: took %v, want < 2s", r.desc, r.elapsed)
	}

	r = runCode(t, h0, 1, "resolve", "nosuch", "--timeout", "300ms")
	if r.stdout != "" {
		t.Errorf("%s: got stdout %q, want none", r.desc, r.stdout)
	}
	if want := `lanfind: error: no service named "nosuch" answered within 300ms`; !strings.Contains(r.stderr, want) {
		t.Errorf("%s: got stderr %q, want %q", r.desc, r.stderr, want)
	}
	if r.elapsed < 300*time.Millisecond {
		t.Errorf("%s: gave up after %v, want at least the 300ms timeout", r.desc, r.elapsed)
	}
	runCode(t, h0, 1, "resolve", "db", "--type", "mysql", "--timeout", "300ms")

	r = runCode(t, h0, 0, "resolve", "db", "--json")
	var s service
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("%s: %v in %q", r.desc, err, r.stdout)
	}
	if got, want := fmt.Sprintf("%s %s %s:%d %s", s.Name, s.Type, s.Addr, s.Port, s.Iface),
		"db postgres "+addrPort(h1, 5432)+" eth0"; got != want {
		t.Errorf("%s: got %q, want %q", r.desc, got, want)
	}
	if !hex16.MatchString(s.Instance) {
		t.Errorf("%s: instance: got %q, want 16 hex digits", r.desc, s.Instance)
	}
}

func TestNSWatch(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	w := startWatch(t, h0, "--json")
	db := []string{"--name", "db", "--port", "5432"}

	// Up, then goodbye on SIGTERM.
	a := startAnnouncer(t, h1, db...)
	up := w.expectEvent(t, "up", "", "db")
	if got, want := fmt.Sprintf("%s:%d %s", up.Service.Addr, up.Service.Port, up.Service.Iface), addrPort(h1, 5432)+" eth0"; got != want {
		t.Errorf("up: got %s, want %s", got, want)
	}
	inst := up.Service.Instance
	a.signal(t, syscall.SIGTERM)
	if code := a.wait(t); code != 0 {
		t.Errorf("%s: SIGTERM: got exit %d, want 0", a.desc, code)
	}
	if ev := w.expectEvent(t, "down", "goodbye", "db"); ev.Service.Instance != inst {
		t.Errorf("goodbye: got instance %s, want %s", ev.Service.Instance, inst)
	}

	// Without --config, a hang-up (a closed terminal) stops the announcer
	// with a goodbye too, not silently.
	h := startAnnouncer(t, h1, db...)
	w.expectEvent(t, "up", "", "db")
	h.signal(t, syscall.SIGHUP)
	if code := h.wait(t); code != 0 {
		t.Errorf("%s: SIGHUP: got exit %d, want 0", h.desc, code)
	}
	w.expectEvent(t, "down", "goodbye", "db")

	// A crashed announcer expires after its TTL.
	b := startAnnouncer(t, h1, append(db, "--interval", "200ms", "--ttl", "600ms")...)
	if ev := w.expectEvent(t, "up", "", "db"); ev.Service.Instance != inst || ev.Service.TTLSeconds != 0.6 {
		t.Errorf("up: got instance %s ttl %vs, want %s ttl 0.6s", ev.Service.Instance, ev.Service.TTLSeconds, inst)
	}
	b.signal(t, syscall.SIGKILL)
	b.wait(t)
	killed := time.Now()
	w.expectEvent(t, "down", "expired", "db")
	if d := time.Since(killed); d > 2*time.Second {
		t.Errorf("expired %v after SIGKILL, want within the 600ms TTL (2s at most)", d)
	}

	// An announcer restarted right after a crash replaces its old entry:
	// the watch reports an update of the same instance, not a second one.
	c := startAnnouncer(t, h1, append(db, "--interval", "200ms", "--ttl", "5s", "--meta", "gen=1")...)
	w.expectEvent(t, "up", "", "db")
	c.signal(t, syscall.SIGKILL)
	c.wait(t)
	d := startAnnouncer(t, h1, append(db, "--interval", "200ms", "--ttl", "5s", "--meta", "gen=2")...)
	ev := w.expectEvent(t, "update", "", "db")
	if ev.Service.Instance != inst || ev.Service.Meta["gen"] != "2" || ev.Service.Conflict {
		t.Errorf("update: got instance %s meta %v conflict %t, want %s meta gen=2 conflict false",
			ev.Service.Instance, ev.Service.Meta, ev.Service.Conflict, inst)
	}
	if ss := list(t, h0, "--name", "db"); len(ss) != 1 || ss[0].Meta["gen"] != "2" || ss[0].Conflict {
		t.Errorf("list --name db: got %+v, want one db with gen=2", ss)
	}
	d.signal(t, syscall.SIGTERM)
	w.expectEvent(t, "down", "goodbye", "db")
	if code := d.wait(t); code != 0 {
		t.Errorf("%s: SIGTERM: got exit %d, want 0", d.desc, code)
	}

	w.signal(t, syscall.SIGINT)
	if code := w.wait(t); code != 0 {
		t.Errorf("%s: SIGINT: got exit %d, want 0", w.desc, code)
	}
	if lines, _ := w.stdout.lines(); len(lines) != w.next {
		t.Errorf("%s: got %d more events after the last goodbye: %q, want none", w.desc, len(lines)-w.next, lines[w.next:])
	}
}

// TestNSTwoSegments has h0 on both segments (eth0 on 0, eth1 on 1), h1 on
// segment 0 and h2 on segment 1.
func TestNSTwoSegments(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{0, 1}, {0}, {1}}})
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	// Short intervals: periodic beacons reach h0 during every list, not
	// only replies to its queries. Long TTLs: a busy machine that delays a
	// beacon must not make a service expire in the middle of a list.
	startAnnouncer(t, h1, "--name", "a", "--port", "1", "--interval", "50ms", "--ttl", "10s")
	startAnnouncer(t, h2, "--name", "b", "--port", "2", "--interval", "50ms", "--ttl", "10s")

	ss := list(t, h0)
	var got []string
	for _, s := range ss {
		got = append(got, fmt.Sprintf("%s %s %s %v", s.Name, s.Iface, s.Addr, s.Seen))
	}
	want := []string{
		fmt.Sprintf("a eth0 %s [{eth0 %[1]s ipv4}]", h1.Addr("eth0")), // 10.77.0.11
		fmt.Sprintf("b eth1 %s [{eth1 %[1]s ipv4}]", h2.Addr("eth0")), // 10.77.1.12
	}
	if !slices.Equal(got, want) {
		t.Errorf("list on h0: got %q, want %q", got, want)
	}
	// --iface also limits what is heard: the other segment's frequent
	// beacons reach h0's socket, bound to every interface, during the list,
	// and must be dropped.
	for _, tc := range []struct {
		ifname string
		want   []string
	}{
		{"eth1", []string{"b"}},
		{"eth0", []string{"a"}},
	} {
		r := runCode(t, h0, 0, "list", "--json", "-v", "--iface", tc.ifname)
		if got := names(decodeList(t, r)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", r.desc, got, tc.want)
		}
		if n := stats(t, r.desc, r.stderr)["other_iface"]; n == 0 {
			t.Errorf("%s: got other_iface=0, want > 0", r.desc)
		}
	}
	for _, tc := range []struct {
		h    *netnstest.Host
		want []string
	}{
		{h1, []string{"a"}},
		{h2, []string{"b"}},
	} {
		if got := names(list(t, tc.h)); !slices.Equal(got, tc.want) {
			t.Errorf("list on %s: got %v, want %v", tc.h.Name, got, tc.want)
		}
	}
}

func TestNSBroadcastOnly(t *testing.T) {
	t.Parallel()
	testOneMethod(t, "--no-multicast", func(h *netnstest.Host) netip.Addr { return h.Broadcast("eth0") })
}

func TestNSMulticastOnly(t *testing.T) {
	t.Parallel()
	testOneMethod(t, "--no-broadcast", func(*netnstest.Host) netip.Addr { return beacon.DefaultGroup })
}

// testOneMethod checks that an announcer and a lister that both use only
// one method (flag disables the other) find each other, that a tap on a
// third host sees their beacons and queries go only to the destination dst
// returns, and that a lister with default settings finds the announcer too.
func testOneMethod(t *testing.T, flag string, dst func(*netnstest.Host) netip.Addr) {
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	want := dst(h0)
	tap := startTap(t, h2)
	startAnnouncer(t, h1, "--name", "x", "--interval", "100ms", "--ttl", "10s", flag)

	if got := names(list(t, h0, flag)); !slices.Equal(got, []string{"x"}) {
		t.Errorf("list %s: got %v, want [x]", flag, got)
	}
	// Senders write the copies of one message to all their destinations
	// back to back. So once the tap has two queries of that list and two
	// announcements, it has also had any copy of the first ones that went
	// to another destination.
	queries, announcements := 0, 0
	timeout := time.After(waitTimeout)
	for queries < 2 || announcements < 2 {
		var p tapped
		select {
		case p = <-tap:
		case <-timeout:
			t.Fatalf("tap on %s: got %d queries from %s and %d announcements from %s within %v, want 2 and 2",
				h2.Name, queries, h0.Name, announcements, h1.Name, waitTimeout)
		}
		if p.err != nil {
			t.Fatalf("tap on %s: %v", h2.Name, p.err)
		}
		switch {
		case p.b.Kind == beacon.KindQuery && p.src.Addr() == h0.Addr("eth0"):
			queries++
		case p.b.Kind == beacon.KindAnnounce && p.src.Addr() == h1.Addr("eth0"):
			announcements++
		default:
			continue
		}
		if p.dst != want {
			t.Errorf("with %s: got %s from %v to %v, want only to %v", flag, p.b.Kind, p.src, p.dst, want)
		}
	}

	// The stronger case: the default lister uses both methods and still
	// finds an announcer that uses one.
	if got := names(list(t, h0)); !slices.Equal(got, []string{"x"}) {
		t.Errorf("list: got %v, want [x]", got)
	}
}

// TestNSCoexist runs two announcers, a watch and a list on one host, which
// then share the lanfind port.
func TestNSCoexist(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	w := startWatch(t, h1, "--json")
	startAnnouncer(t, h1, "--name", "a", "--port", "1")
	startAnnouncer(t, h1, "--name", "b", "--port", "2")

	var ups []string
	for len(ups) < 2 {
		ev := w.nextEvent(t)
		if ev.Event != "up" {
			t.Fatalf("%s: got event %s, want up", w.desc, ev)
		}
		ups = append(ups, ev.Service.Name)
	}
	slices.Sort(ups)
	if !slices.Equal(ups, []string{"a", "b"}) {
		t.Errorf("%s: got ups of %v, want [a b]", w.desc, ups)
	}
	for _, h := range []*netnstest.Host{h1, h0} {
		if got := names(list(t, h)); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("list on %s: got %v, want [a b]", h.Name, got)
		}
	}
}

// TestNSForgedReplyIgnored answers h0's query from h2 twice: once with the
// query's request ID and once with another. Only the first may count, so
// the check is on the request ID, not on where the reply comes from.
func TestNSForgedReplyIgnored(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	startAnnouncer(t, h1, "--name", "real")
	pc, err := h2.ListenPacket(t.Context(), "udp4", fmt.Sprintf(":%d", beacon.DefaultPort))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c := pc.(*net.UDPConn)

	l := start(t, h0, "list", "--json", "-v", "--timeout", "2s")
	var q beacon.Beacon
	var querier netip.AddrPort
	if err := c.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, beacon.MaxSize+1)
	for q.Kind != beacon.KindQuery || q.Query.Attempt != 0 {
		n, src, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("waiting for %s's query on %s: %v", h0.Name, h2.Name, err)
		}
		if q, err = beacon.Parse(buf[:n]); err != nil {
			t.Fatalf("datagram from %v: %v", src, err)
		}
		querier = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	}
	if querier.Addr() != h0.Addr("eth0") {
		t.Fatalf("query: got source %v, want %v", querier, h0.Addr("eth0"))
	}

	forgedID := q.RequestID + 1
	if forgedID == 0 {
		forgedID = 1
	}
	for _, r := range []struct {
		name    string
		request uint64
	}{{"forged", forgedID}, {"legit", q.RequestID}} {
		b := beacon.Beacon{Kind: beacon.KindReply, Sender: rand.Uint64(), Seq: 1, RequestID: r.request,
			Services: []beacon.Service{{Instance: rand.Uint64(), Name: r.name, Port: 9, TTL: time.Minute, Host: h2.Name}}}
		p, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WriteToUDPAddrPort(p, querier); err != nil {
			t.Fatalf("send %s reply to %v: %v", r.name, querier, err)
		}
	}

	if code := l.wait(t); code != 0 {
		t.Fatalf("%s: got exit %d, want 0", l.desc, code)
	}
	var ss []service
	if err := json.Unmarshal([]byte(l.stdout.String()), &ss); err != nil {
		t.Fatalf("%s: %v in %q", l.desc, err, l.stdout)
	}
	var got []string
	for _, s := range ss {
		got = append(got, s.Name+" "+s.Addr)
	}
	if want := []string{"legit " + h2.Addr("eth0").String(), "real " + h1.Addr("eth0").String()}; !slices.Equal(got, want) {
		t.Errorf("%s: got %q, want %q", l.desc, got, want)
	}
	if n := stats(t, l.desc, l.stderr.String())["unknown_request"]; n != 1 {
		t.Errorf("%s: got unknown_request=%d, want 1", l.desc, n)
	}
}

// isUnsupported reports whether a Parse error means a datagram from a newer
// lanfind, which listeners count as unsupported rather than malformed.
func isUnsupported(err error) bool {
	return errors.Is(err, beacon.ErrVersion) || errors.Is(err, beacon.ErrKind)
}

// garbage returns datagrams a listener must drop without harm, by the
// counter they must raise.
func garbage(t *testing.T) (foreign, malformed, unsupported [][]byte) {
	t.Helper()
	b := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: 1, Seq: 1, Services: []beacon.Service{{
		Instance: 1, Name: "garbage", Type: "t", Port: 1, TTL: time.Second, Host: "h",
		Addrs: []netip.Addr{netip.MustParseAddr("10.77.0.99")}, Meta: map[string]string{"k": "v"},
	}}}
	good, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Record layout after the 28-byte header: count (1), record length (2),
	// instance (8), port (2), TTL (4), name length (1), ...
	const count, recLen, ttl, nameLen = beacon.HeaderSize, beacon.HeaderSize + 1, beacon.HeaderSize + 13, beacon.HeaderSize + 17
	edit := func(off int, v ...byte) []byte {
		p := slices.Clone(good)
		copy(p[off:], v)
		return p
	}
	malformed = [][]byte{
		good[:beacon.HeaderSize],          // no body
		good[:beacon.HeaderSize+5],        // record cut short
		good[:len(good)-1],                // last byte missing
		edit(5, byte(beacon.KindReply)),   // reply with request ID 0
		edit(count, 0),                    // no records
		edit(count, beacon.MaxServices+1), // too many records
		edit(recLen, 0xff, 0xff),          // record longer than the datagram
		edit(ttl, 0, 0, 0, 0),             // TTL 0 outside a goodbye
		edit(nameLen, 0),                  // empty name
		append(slices.Clone(good), make([]byte, beacon.MaxSize+1-len(good))...), // too big
	}
	for i, p := range malformed {
		if _, err := beacon.Parse(p); !beacon.LooksLikeBeacon(p) || err == nil || isUnsupported(err) {
			t.Fatalf("malformed datagram %d: got LooksLikeBeacon %t, Parse error %v; want true and a format error",
				i, beacon.LooksLikeBeacon(p), err)
		}
	}
	// What a newer lanfind might send: dropped quietly, counted apart.
	unsupported = [][]byte{
		edit(4, beacon.Version+1), // unknown version
		edit(5, 9),                // unknown kind
		edit(5, 0),                // kind 0
	}
	for i, p := range unsupported {
		if _, err := beacon.Parse(p); !beacon.LooksLikeBeacon(p) || !isUnsupported(err) {
			t.Fatalf("unsupported datagram %d: got LooksLikeBeacon %t, Parse error %v; want true and ErrVersion or ErrKind",
				i, beacon.LooksLikeBeacon(p), err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	foreign = [][]byte{{}, good[:beacon.HeaderSize-1]}
	for range 10 {
		p := make([]byte, 1+rng.IntN(beacon.MaxSize))
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		if p[0] == beacon.Magic[0] {
			p[0]++
		}
		foreign = append(foreign, p)
	}
	for i, p := range foreign {
		if beacon.LooksLikeBeacon(p) {
			t.Fatalf("foreign datagram %d: got LooksLikeBeacon true, want false", i)
		}
	}
	return foreign, malformed, unsupported
}

// TestNSMalformedDropped sends garbage to a watch, by broadcast and by
// unicast, and checks it counts and drops it and keeps working.
func TestNSMalformedDropped(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	w := startWatch(t, h0)

	pc, err := h1.ListenPacket(t.Context(), "udp4", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c := pc.(*net.UDPConn)
	foreign, malformed, unsupported := garbage(t)
	dsts := []netip.AddrPort{
		netip.AddrPortFrom(h0.Broadcast("eth0"), beacon.DefaultPort),
		netip.AddrPortFrom(h0.Addr("eth0"), beacon.DefaultPort),
	}
	for _, p := range slices.Concat(foreign, malformed, unsupported) {
		for _, dst := range dsts {
			if _, err := c.WriteToUDPAddrPort(p, dst); err != nil {
				t.Fatalf("send %d bytes to %v: %v", len(p), dst, err)
			}
		}
	}

	startAnnouncer(t, h1, "--name", "real", "--port", "7000")
	_, line := w.waitLine(t, w.stdout, 0, `"up" line of real`, func(s string) bool {
		f := strings.Fields(s)
		return len(f) > 1 && f[0] == "up" && f[1] == "real"
	})
	// Text form: event, name, type, ADDR:PORT, iface, host, meta.
	if f := strings.Fields(line); len(f) != 7 || f[2] != "-" || f[3] != addrPort(h1, 7000) || f[4] != "eth0" || f[6] != "-" {
		t.Errorf("%s: got line %q, want up real - %s eth0 HOST -", w.desc, line, addrPort(h1, 7000))
	}

	w.signal(t, syscall.SIGINT)
	if code := w.wait(t); code != 0 {
		t.Errorf("%s: SIGINT: got exit %d, want 0", w.desc, code)
	}
	st := stats(t, w.desc, w.stderr.String())
	for _, c := range []struct {
		name string
		want int
	}{
		{"foreign", len(dsts) * len(foreign)},
		{"malformed", len(dsts) * len(malformed)},
		{"unsupported", len(dsts) * len(unsupported)},
	} {
		if got := st[c.name]; got != uint64(c.want) {
			t.Errorf("%s: got %s=%d, want %d", w.desc, c.name, got, c.want)
		}
	}
}

func TestNSIfaceCommand(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 1)
	h0 := lab.Hosts[0]
	type ifc struct {
		Name     string `json:"name"`
		Selected bool   `json:"selected"`
		Reason   string `json:"reason"`
		Addrs    []struct {
			Prefix    string `json:"prefix"`
			Broadcast string `json:"broadcast"`
		} `json:"addrs"`
		Targets []string `json:"targets"`
	}
	for _, tc := range []struct {
		args        []string
		wantTargets []string
	}{
		{nil, []string{"10.77.0.255:28471", "239.255.70.70:28471"}},
		{[]string{"--no-multicast"}, []string{"10.77.0.255:28471"}},
		{[]string{"--discovery-port", "9999", "--group", "239.1.2.3"}, []string{"10.77.0.255:9999", "239.1.2.3:9999"}},
	} {
		r := runCode(t, h0, 0, append([]string{"iface", "--json"}, tc.args...)...)
		var ifs []ifc
		if err := json.Unmarshal([]byte(r.stdout), &ifs); err != nil {
			t.Fatalf("%s: %v in %q", r.desc, err, r.stdout)
		}
		var got []string
		for _, i := range ifs {
			var addrs []string
			for _, a := range i.Addrs {
				addrs = append(addrs, a.Prefix+" brd "+a.Broadcast)
			}
			got = append(got, fmt.Sprintf("%s selected=%t reason=%q addrs=%q targets=%q", i.Name, i.Selected, i.Reason, addrs, i.Targets))
		}
		want := []string{
			fmt.Sprintf("lo selected=false reason=%q addrs=%q targets=%q", "loopback", []string{"127.0.0.1/8 brd 127.255.255.255"}, []string{}),
			fmt.Sprintf("eth0 selected=true reason=%q addrs=%q targets=%q", "", []string{"10.77.0.10/24 brd 10.77.0.255"}, tc.wantTargets),
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s:\ngot  %q\nwant %q", r.desc, got, want)
		}
	}
}
