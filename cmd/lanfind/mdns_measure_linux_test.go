package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
)

// TestNSMDNSMeasure measures "lanfind list --mdns --type http" (browsing
// itself, and taking the services from a warm resident "serve --mdns" on
// its host) against "avahi-browse -rptk _http._tcp" for 100 services that
// avahi-daemon publishes on 10 hosts: instances found, wall time and the
// mDNS bytes in and out of the querier (IP packets, nftables counters),
// with no loss and with 30 % of the querier's incoming mDNS dropped. It is a measurement,
// not a check, and takes about a minute: it runs only when
// LANFIND_MDNS_MEASURE is set, and logs the figures for bench/results.
func TestNSMDNSMeasure(t *testing.T) {
	if os.Getenv("LANFIND_MDNS_MEASURE") == "" {
		t.Skip("a measurement run: set LANFIND_MDNS_MEASURE=1")
	}
	const hosts, perHost, runs = 10, 10, 7
	// Hosts beyond the two queriers each get a fresh avahi-daemon for one
	// run of avahi-browse with a cold cache, as lanfind always has.
	lan := netnstest.New(t, hosts+3+2*runs)
	requiretest.Need(t, "avahi-daemon", "avahi-browse", "dbus-daemon", "nft")
	for i := range hosts {
		var ss []mdnslab.Service
		for j := range perHost {
			ss = append(ss, mdnslab.Service{Name: fmt.Sprintf("web %d-%d", i, j), Type: "_http._tcp",
				Port: 8000 + j, TXT: []string{"path=/" + strconv.Itoa(j)}})
		}
		mdnslab.StartAvahi(t, lan.Hosts[i], fmt.Sprintf("web%d", i), ss...)
	}
	qLanfind, qAvahi, qRes := lan.Hosts[hosts], lan.Hosts[hosts+1], lan.Hosts[hosts+2]
	av := mdnslab.StartAvahi(t, qAvahi, "querier")
	dir, err := os.MkdirTemp("", "lfres")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "serve.sock")
	// counters sets up the measuring table on a querier: mDNS bytes in and
	// out, with 30 % of what comes in dropped first if loss. The querier's
	// own multicast, looped back to it, did not cross the wire: the input
	// counter leaves it out.
	counters := func(h *netnstest.Host, loss bool) {
		t.Helper()
		cmds := [][]string{
			{"add", "table", "inet", "mm"},
			{"add", "chain", "inet", "mm", "in", "{ type filter hook input priority 0 ; }"},
			{"add", "chain", "inet", "mm", "out", "{ type filter hook output priority 0 ; }"},
			{"flush", "chain", "inet", "mm", "in"},
			{"flush", "chain", "inet", "mm", "out"},
		}
		if loss {
			cmds = append(cmds, []string{"add", "rule", "inet", "mm", "in", "udp", "sport", "5353",
				"numgen", "random", "mod", "100", "<", "30", "drop"})
		}
		cmds = append(cmds,
			[]string{"add", "rule", "inet", "mm", "in", "udp", "dport", "5353",
				"ip", "saddr", "!=", h.Addr("eth0").String(), "counter"},
			[]string{"add", "rule", "inet", "mm", "out", "udp", "dport", "5353", "counter"})
		for _, args := range cmds {
			if out, err := h.Run(t, "nft", args...); err != nil {
				t.Fatalf("nft %v: %v\n%s", args, err, out)
			}
		}
	}
	// Let every Avahi finish probing and announcing its services.
	want := hosts * perHost
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _ := av.Browse(t, "-rptk", "_http._tcp")
		if n := countNames(mdnslab.ParseBrowse(out)); n >= want {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("avahi-browse on the querier sees %d of %d services", n, want)
		}
		time.Sleep(500 * time.Millisecond)
	}

	type run struct {
		found int
		wall  time.Duration
		bytes int
	}
	cold := lan.Hosts[hosts+3:]
	measure := func(loss bool) (lf, lr, ab, abCold []run) {
		for _, h := range []*netnstest.Host{qLanfind, qAvahi, qRes} {
			counters(h, loss)
		}
		// The resident browses every type, as "lanfind serve --mdns" does
		// by default; a fresh one for each measure (the lab kills a
		// process after a minute). Its own schedule queries at 0, 1, 3,
		// 7, 15, 31 and 63 s and refreshes records at 80 % of their TTL
		// (96 s for Avahi's 120 s): the runs go between 31 and 63 s, so
		// that each counts what one list costs.
		started := time.Now()
		srv := startServe(t, qRes, "--mdns", "--dns", "", "--http", "127.0.0.1:0", "--socket", sock)
		time.Sleep(time.Until(started.Add(32 * time.Second)))
		t.Logf("the resident's own mDNS traffic in its first %v: %d bytes",
			time.Since(started).Round(time.Second), counterBytes(t, qRes))
		for range runs {
			time.Sleep(1500 * time.Millisecond)
			before := counterBytes(t, qRes)
			r := runIn(t, qRes, "list", "-v", "--mdns", "--json", "--type", "http", "--timeout", "5s",
				"--socket", sock)
			var rs []service
			json.Unmarshal([]byte(r.stdout), &rs)
			if !strings.Contains(r.stderr, logFromResident) {
				t.Errorf("%s: not from the resident:\n%s", r.desc, r.stderr)
			}
			lr = append(lr, run{found: len(rs), wall: r.elapsed, bytes: counterBytes(t, qRes) - before})
			if m := residentElapsedRE.FindStringSubmatch(r.stderr); m != nil {
				t.Logf("the resident's answer took %s", m[1])
			}
		}
		srv.signal(t, syscall.SIGTERM)
		srv.wait(t)
		for range runs {
			time.Sleep(1500 * time.Millisecond)
			before := counterBytes(t, qLanfind)
			r := runIn(t, qLanfind, "list", "--mdns", "--json", "--type", "http", "--timeout", "5s")
			var ss []service
			json.Unmarshal([]byte(r.stdout), &ss)
			lf = append(lf, run{found: len(ss), wall: r.elapsed, bytes: counterBytes(t, qLanfind) - before})

			time.Sleep(1500 * time.Millisecond)
			before = counterBytes(t, qAvahi)
			start := time.Now()
			out, _ := av.Browse(t, "-rptk", "_http._tcp")
			ab = append(ab, run{found: countNames(mdnslab.ParseBrowse(out)), wall: time.Since(start),
				bytes: counterBytes(t, qAvahi) - before})

			time.Sleep(1500 * time.Millisecond)
			h := cold[0]
			cold = cold[1:]
			counters(h, loss)
			avCold := mdnslab.StartAvahi(t, h, "cold-"+h.Name)
			before = counterBytes(t, h)
			start = time.Now()
			out, _ = avCold.Browse(t, "-rptk", "_http._tcp")
			abCold = append(abCold, run{found: countNames(mdnslab.ParseBrowse(out)), wall: time.Since(start),
				bytes: counterBytes(t, h) - before})
		}
		return lf, lr, ab, abCold
	}
	report := func(label string, rs []run) {
		var walls []time.Duration
		var found []int
		bytes := 0
		for _, r := range rs {
			walls = append(walls, r.wall)
			found = append(found, r.found)
			bytes += r.bytes
		}
		slices.Sort(walls)
		t.Logf("%-34s found %v of %d, median wall %v (min %v, max %v), mean mDNS bytes at the querier %d",
			label, found, want, walls[len(walls)/2].Round(time.Millisecond), walls[0].Round(time.Millisecond),
			walls[len(walls)-1].Round(time.Millisecond), bytes/len(rs))
	}
	// resolve: lanfind's own protocol against an mDNS name, process
	// start included.
	startAnnouncer(t, lan.Hosts[0], "--name", "db", "--port", "5432")
	var own, viaMDNS []time.Duration
	for range runs {
		time.Sleep(1500 * time.Millisecond)
		r := runCode(t, qLanfind, 0, "resolve", "db")
		own = append(own, r.elapsed)
		r = runCode(t, qLanfind, 0, "resolve", "--mdns", "--type", "http", "web 3-4")
		if want := lan.Hosts[3].Addr("eth0").String() + ":8004\n"; r.stdout != want {
			t.Errorf("resolve --mdns: got %q, want %q", r.stdout, want)
		}
		viaMDNS = append(viaMDNS, r.elapsed)
	}
	slices.Sort(own)
	slices.Sort(viaMDNS)
	t.Logf("resolve db (lanfind): median %v; resolve --mdns --type http \"web 3-4\": median %v (min %v, max %v)",
		own[len(own)/2].Round(100*time.Microsecond), viaMDNS[len(viaMDNS)/2].Round(100*time.Microsecond),
		viaMDNS[0].Round(100*time.Microsecond), viaMDNS[len(viaMDNS)-1].Round(100*time.Microsecond))

	lf, lr, ab, abCold := measure(false)
	report("lanfind list --mdns --type http", lf)
	report("the same, via a warm resident", lr)
	report("avahi-browse -rptk _http._tcp", ab)
	report("avahi-browse, cold avahi-daemon", abCold)
	lf, lr, ab, abCold = measure(true)
	report("30% loss: lanfind list --mdns", lf)
	report("30% loss: via a warm resident", lr)
	report("30% loss: avahi-browse -rptk", ab)
	report("30% loss: avahi-browse, cold", abCold)
}

func countNames(rs []mdnslab.Resolved) int {
	names := map[string]bool{}
	for _, r := range rs {
		names[r.Name] = true
	}
	return len(names)
}

// residentElapsedRE finds how long the resident's answer took in list -v.
var residentElapsedRE = regexp.MustCompile(`from the resident.* elapsed=(\S+)`)

var counterRE = regexp.MustCompile(`counter packets \d+ bytes (\d+)`)

// counterBytes sums the byte counters of the measuring table. A run's
// bytes are the difference before and after it ("nft reset counters"
// resets only named counters, not those of rules, before nftables 1.0.7).
func counterBytes(t *testing.T, h *netnstest.Host) int {
	t.Helper()
	out, err := h.Run(t, "nft", "list", "table", "inet", "mm")
	if err != nil {
		t.Fatalf("nft list: %v\n%s", err, out)
	}
	n := 0
	for _, m := range counterRE.FindAllStringSubmatch(out, -1) {
		b, _ := strconv.Atoi(m[1])
		n += b
	}
	return n
}
