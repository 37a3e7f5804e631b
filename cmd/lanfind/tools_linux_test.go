package main

// Lab tests (tier 4) of interface globs, --exclude-iface and --log-format.

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/internal/netnstest"
)

// TestNSExcludeIface has h0 on both segments (eth0 on 0, eth1 on 1), h1 on
// segment 0 and h2 on segment 1; globs and excludes pick h0's interfaces.
func TestNSExcludeIface(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{0, 1}, {0}, {1}}})
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	startAnnouncer(t, h1, "--name", "a", "--interval", "50ms", "--ttl", "10s")
	startAnnouncer(t, h2, "--name", "b", "--interval", "50ms", "--ttl", "10s")

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--iface", "eth*"}, []string{"a", "b"}},
		{[]string{"--exclude-iface", "eth1"}, []string{"a"}},
		{[]string{"--exclude-iface", "*1"}, []string{"a"}},
		{[]string{"--iface", "eth?", "--exclude-iface", "eth0"}, []string{"b"}},
		{[]string{"--exclude-iface", "docker*", "--exclude-iface", "veth*"}, []string{"a", "b"}},
		{[]string{"--exclude-iface", "eth0,docker*"}, []string{"b"}},
	} {
		if got := names(list(t, h0, tc.args...)); !slices.Equal(got, tc.want) {
			t.Errorf("list %q on h0: got %v, want %v", tc.args, got, tc.want)
		}
	}
	// Excluding every usable interface is a configuration error.
	r := runCode(t, h0, 2, "list", "--exclude-iface", "eth*")
	if want := "lanfind: error: no usable interface (lo: loopback; eth0: excluded; eth1: excluded)\n"; r.stderr[:min(len(r.stderr), len(want))] != want {
		t.Errorf("%s: got stderr %q, want it to start with %q", r.desc, r.stderr, want)
	}

	// An announcer on h0 that excludes eth1 is heard on segment 0 only.
	startAnnouncer(t, h0, "--name", "c", "--interval", "50ms", "--ttl", "10s", "--exclude-iface", "eth1")
	if got := names(list(t, h1, "--name", "c")); !slices.Equal(got, []string{"c"}) {
		t.Errorf("list on h1: got %v, want [c]", got)
	}
	runCode(t, h2, 1, "list", "--name", "c", "--timeout", "500ms")
}

// TestNSLogFormatJSON checks that --log-format json writes one JSON object
// per log record on stderr.
func TestNSLogFormatJSON(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 1)
	h := lab.Hosts[0]
	p := start(t, h, "announce", "--name", "db", "--log-format", "json")
	_, line := p.waitLine(t, p.stderr, 0, `JSON record with msg "announcing"`, func(s string) bool {
		var rec map[string]any
		return json.Unmarshal([]byte(s), &rec) == nil && rec["msg"] == "announcing"
	})
	var rec struct {
		Time, Level, Msg, Iface, Dst string
	}
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Time == "" || rec.Level != "INFO" || rec.Iface != "eth0" || rec.Dst == "" {
		t.Errorf("%s: got record %s, want time, level INFO, iface eth0 and dst", p.desc, line)
	}
	lines, _ := p.stderr.lines()
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("%s: stderr line %q is not JSON", p.desc, l)
		}
	}
}

// TestNSAnnounceNoInterfaceYet checks that an announcer started before its
// interface is up (a boot that does not wait for the network) exits 1,
// which systemd's Restart=on-failure retries, and not 2, which the unit
// treats as a bad configuration that no restart can fix.
func TestNSAnnounceNoInterfaceYet(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 1)
	h := lab.Hosts[0]
	h.SetLink(t, "eth0", false)
	r := runCode(t, h, 1, "announce", "--name", "db")
	if want := "lanfind: error: no usable interface (lo: loopback; eth0: down)\n"; !strings.HasPrefix(r.stderr, want) {
		t.Errorf("%s: got stderr %q, want it to start with %q", r.desc, r.stderr, want)
	}
	runCode(t, h, 1, "announce", "--name", "db", "--iface", "eth0")
	// A name that picks nothing is a configuration problem.
	runCode(t, h, 2, "announce", "--name", "db", "--iface", "eth9")
}
