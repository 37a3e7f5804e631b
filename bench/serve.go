package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Targets of "lanfind serve --dns" (issue 12).
const (
	serveQPSTarget  = 20000            // queries per second, on one core
	serveP99Target  = 2                // ms, at serveQPSTarget
	serveRSSTarget  = 20               // MB, idle, with 1000 services known
	serveDNSAddr    = "127.0.0.1:5354" // GOMAXPROCS=1
	serveHTTPAddr   = "127.0.0.1:8053"
	serveDNSAddr2   = "127.0.0.1:5355" // every core
	serveHTTPAddr2  = "127.0.0.1:8054"
	serveRunSeconds = 5
)

// serve: "lanfind serve" with 1000 services known (10 hosts × 100), asked
// by dnsperf on loopback in the serving host. Two servers run side by
// side, each with the whole live set: one runs Go code on one core
// (GOMAXPROCS=1), for the sustained rate (with dnsperf's default 100
// queries outstanding; the CPU time it used is reported beside) and its
// p99 latency at 20,000 queries per second; the other as deployed, with
// every core, for its p99 at that rate and its RSS, idle before any query
// and after the load. At saturation latency is only the queries
// outstanding divided by the rate, hence p99 at a fixed rate. Neither is
// pinned with taskset: on a machine shared with other work, pinning made
// serve's tail latency that of whatever else ran on the chosen core.
func (b *bench) serve(ctx context.Context) error {
	dnsperf, err := exec.LookPath("dnsperf")
	if err != nil {
		return fmt.Errorf("dnsperf (Debian package dnsperf): %w", err)
	}
	nh, per := b.size(10, 2), b.size(100, 10)
	lab, err := NewLab(nh + 1)
	if err != nil {
		return err
	}
	defer lab.Close()
	hosts := make([]int, nh)
	for i := range hosts {
		hosts[i] = i
	}
	f := b.newFleet(lab)
	if err := f.ensure(hosts, per); err != nil {
		return err
	}
	want := nh * per
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		load := strings.Join(strings.Fields(string(la))[:3], " ")
		b.res.Notes = append(b.res.Notes,
			"serve: load average before the run (the machine is shared): "+load)
	}
	q := lab.Hosts[nh]
	// Two servers, each with the whole live set: one runs Go code on one
	// core, the other as deployed (every core).
	one, err := b.startServe(ctx, q, want, serveDNSAddr, serveHTTPAddr, "GOMAXPROCS=1")
	if err != nil {
		return err
	}
	all, err := b.startServe(ctx, q, want, serveDNSAddr2, serveHTTPAddr2)
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // settle: what follows is idle
	idle, _ := snap([]int{all.Pid()})

	tmp, err := os.MkdirTemp("", "lfb-serve-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	queries := filepath.Join(tmp, "queries")
	var qb strings.Builder
	for i := range nh {
		for j := range per {
			fmt.Fprintf(&qb, "%s.lan A\n", svcName(i, j))
		}
	}
	if err := os.WriteFile(queries, []byte(qb.String()), 0o644); err != nil {
		return err
	}
	args := func(addr string, more ...string) []string {
		host, port, _ := strings.Cut(addr, ":")
		return append([]string{"-s", host, "-p", port, "-d", queries,
			"-l", strconv.Itoa(serveRunSeconds)}, more...)
	}
	// p99 returns the 99th percentile latency in ms of a run at
	// serveQPSTarget against addr.
	p99 := func(addr string) (float64, error) {
		_, out, err := q.Timed(ctx, dnsperf, args(addr, "-Q", strconv.Itoa(serveQPSTarget), "-v")...)
		if err != nil {
			return 0, err
		}
		lat, err := latencies(out)
		if err != nil {
			return 0, err
		}
		return 1000 * lat[len(lat)*99/100], nil
	}
	var qps, lost, p99one, p99all, cpu []float64
	for range b.runs(3, 1) {
		_, cpu0 := snap([]int{one.Pid()})
		wall, out, err := q.Timed(ctx, dnsperf, args(serveDNSAddr)...)
		if err != nil {
			return err
		}
		_, cpu1 := snap([]int{one.Pid()})
		cpu = append(cpu, 100*float64(cpu1-cpu0)/float64(wall))
		st, err := parseDnsperf(out)
		if err != nil {
			return err
		}
		qps, lost = append(qps, st.qps), append(lost, st.lostPct)

		v, err := p99(serveDNSAddr)
		if err != nil {
			return err
		}
		p99one = append(p99one, v)
		if v, err = p99(serveDNSAddr2); err != nil {
			return err
		}
		p99all = append(p99all, v)
	}
	loaded, _ := snap([]int{all.Pid()})
	g := fmt.Sprintf("serve --dns, %d services known (dnsperf on loopback)", want)
	for _, row := range []Row{
		{
			Name:    "sustained queries per second (one core)",
			Samples: qps,
			Target:  serveQPSTarget,
			Cmp:     ">=",
		},
		{
			Name:    "serve's CPU during those runs (% of one core)",
			Unit:    "%",
			Samples: cpu,
		},
		{
			Name:    "queries lost at that rate",
			Unit:    "%",
			Samples: lost,
		},
		{
			Name:    fmt.Sprintf("p99 latency at %d queries per second, one core", serveQPSTarget),
			Unit:    "ms",
			Samples: p99one,
			Target:  serveP99Target,
			Cmp:     "<=",
		},
		{
			Name:    fmt.Sprintf("p99 latency at %d queries per second, every core", serveQPSTarget),
			Unit:    "ms",
			Samples: p99all,
			Target:  serveP99Target,
			Cmp:     "<=",
		},
		{
			Name:    "RSS idle",
			Unit:    "MB",
			Samples: []float64{idle},
			Target:  serveRSSTarget,
			Cmp:     "<=",
		},
		{
			Name:    "RSS after the load",
			Unit:    "MB",
			Samples: []float64{loaded},
		},
	} {
		row.Group = g
		b.res.Add(row)
	}
	for _, p := range []*Proc{one, all} {
		p.Signal(2) // SIGINT: a clean exit
		p.Wait(5 * time.Second)
	}
	return nil
}

// startServe starts "lanfind serve" in h with env (VAR=VALUE) and returns
// once it knows want services.
func (b *bench) startServe(ctx context.Context, h *Host, want int, dns, http string, env ...string) (*Proc, error) {
	args := append(env, b.bin, "serve", "--dns", dns, "--http", http)
	p, err := h.Start("env", args, StartOpts{ReadyMark: "serving"})
	if err != nil {
		return nil, err
	}
	if err := p.Ready(10 * time.Second); err != nil {
		return nil, err
	}
	return p, waitServices(ctx, h, http, want)
}

// waitServices waits until the serve in h whose HTTP API is on addr counts
// want services (30 s at most).
func waitServices(ctx context.Context, h *Host, addr string, want int) error {
	deadline := time.Now().Add(30 * time.Second)
	got := -1
	for time.Now().Before(deadline) && ctx.Err() == nil {
		body, err := httpGet(h, addr, "/metrics")
		if err != nil {
			return err
		}
		for line := range strings.Lines(body) {
			if v, ok := strings.CutPrefix(line, "lanfind_services "); ok {
				got, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		if got == want {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("serve knew %d of %d services after 30s", got, want)
}

// httpGet fetches http://addr/path over a connection opened in h.
func httpGet(h *Host, addr, path string) (string, error) {
	var c net.Conn
	if err := h.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", addr, 5*time.Second)
		return err
	}); err != nil {
		return "", err
	}
	dial := func(context.Context, string, string) (net.Conn, error) { return c, nil }
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext:       dial,
		},
	}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// dnsperfStats are the figures of one dnsperf run.
type dnsperfStats struct {
	qps     float64
	lostPct float64
}

// parseDnsperf reads dnsperf's summary:
//
//	Queries lost:         0 (0.00%)
//	Queries per second:   41234.567890
func parseDnsperf(out []byte) (dnsperfStats, error) {
	var st dnsperfStats
	found := 0
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "Queries per second:"); ok {
			if _, err := fmt.Sscan(v, &st.qps); err == nil {
				found++
			}
		}
		if v, ok := strings.CutPrefix(line, "Queries lost:"); ok {
			if _, pct, ok := strings.Cut(v, "("); ok {
				if _, err := fmt.Sscanf(pct, "%f%%", &st.lostPct); err == nil {
					found++
				}
			}
		}
	}
	if found != 2 {
		return st, fmt.Errorf("dnsperf output without its summary:\n%s", out)
	}
	return st, nil
}

// latencies returns the sorted latencies, in seconds, of the answers
// dnsperf -v reports, one a line: "> NOERROR h00-s00.lan A 0.000123".
func latencies(out []byte) ([]float64, error) {
	var lat []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "> ") {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			lat = append(lat, v)
		}
	}
	if len(lat) < 100 {
		return nil, fmt.Errorf("dnsperf -v reported %d answers, want at least 100", len(lat))
	}
	slices.Sort(lat)
	return lat, nil
}
