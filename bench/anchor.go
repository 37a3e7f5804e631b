package main

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// An anchor is another mDNS implementation measured beside lanfind: it
// announces and browses the same services (h<host>-s<j>, type _bench._udp)
// in a lab of the same shape, with the same clock and loss rules, so that
// every figure of the side-by-side table is measured the same way.
type anchor interface {
	// Tool describes the anchor's column.
	Tool() Tool
	// Announce starts announcing svcs ("NAME:PORT") on h, waits until it
	// runs, and returns the processes that make up the announcer.
	Announce(h *Host, svcs []string) ([]*Proc, error)
	// List runs one browse on h and returns its wall time and the names
	// it printed with an address and a port.
	List(ctx context.Context, h *Host) (time.Duration, []string, error)
	// Resolve looks up one service on h and returns its wall time and
	// what it printed.
	Resolve(ctx context.Context, h *Host, name string) (time.Duration, string, error)
	// Watch starts a continuous browse on h and returns its processes.
	Watch(h *Host) ([]*Proc, error)
	// Fresh prepares h for a list or a resolve that starts cold, with
	// nothing cached from earlier runs.
	Fresh(h *Host) error
}

// anchorKeys are the anchors -anchors accepts, in table order.
var anchorKeys = []string{"hashicorp", "pion", "avahi", "zeroconf"}

//go:embed anchors/zeroconf/anchor.py
var zeroconfScript []byte

// newAnchor builds or finds the anchor key, with its programs under tmp.
func newAnchor(key, tmp string) (anchor, error) {
	switch key {
	case "hashicorp", "pion":
		pkg := map[string]string{"hashicorp": "hashimdns", "pion": "pionmdns"}[key]
		mod := map[string]string{"hashicorp": "github.com/hashicorp/mdns", "pion": "github.com/pion/mdns/v2"}[key]
		bin := filepath.Join(tmp, pkg)
		build := exec.Command("go", "build", "-o", bin, "./anchors/"+pkg)
		build.Env = goBuildEnv()
		out, err := build.CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("build %s: %v: %s", pkg, err, out)
		}
		ver, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", mod).Output()
		if err != nil {
			return nil, fmt.Errorf("version of %s: %w", mod, err)
		}
		t := Tool{Key: key, Name: strings.TrimPrefix(mod, "github.com/") + " " + strings.TrimSpace(string(ver))}
		t.Name = strings.Replace(t.Name, "/v2", "", 1)
		switch key {
		case "hashicorp":
			t.How = "one process per host with one mdns.Server per service (its client takes one service from each response); " +
				"list: mdns.Query with the default 1 s timeout, IPv6 off; resolve: the same query, exiting at the first entry of that name; " +
				"watch: a query every 5 s in a loop (the library has no continuous browse)"
		case "pion":
			t.How = "one process per host, one Conn with every service (WithService); list: Browse for 1 s; " +
				"resolve: Browse until the instance is found; watch: Browse until killed"
		}
		t.How = "built by the harness with the same go build as lanfind (CGO_ENABLED=0); " + t.How
		return &execAnchor{tool: t, argv: []string{bin}}, nil
	case "zeroconf":
		py := "/usr/bin/python3" // Debian's, which has python3-zeroconf
		out, err := exec.Command(py, "-I", "-c", "import zeroconf; print(zeroconf.__version__)").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("python3-zeroconf: %v: %s (apt-get install python3-zeroconf)", err, trimmed(out))
		}
		script := filepath.Join(tmp, "zeroconf-anchor.py")
		if err := os.WriteFile(script, zeroconfScript, 0o644); err != nil {
			return nil, err
		}
		return &execAnchor{tool: Tool{Key: key, Name: "python-zeroconf " + trimmed(out),
			How: "one python3 process per host registering every service (AsyncZeroconf); list: ServiceBrowser for a 3 s window, " +
				"then get_service_info for each name; resolve: get_service_info; watch: ServiceBrowser until killed"},
			argv: []string{py, "-I", script}}, nil
	case "avahi":
		return newAvahi(tmp)
	}
	return nil, fmt.Errorf("unknown anchor %q (want %s)", key, strings.Join(anchorKeys, ", "))
}

func trimmed(b []byte) string { return strings.TrimSpace(string(b)) }

// execAnchor is an anchor program that takes the command line of the
// anchors package (announce, list, resolve, watch).
type execAnchor struct {
	tool Tool
	argv []string
}

func (a *execAnchor) Tool() Tool { return a.tool }

func (a *execAnchor) args(more ...string) []string { return append(slices.Clone(a.argv[1:]), more...) }

func (a *execAnchor) Announce(h *Host, svcs []string) ([]*Proc, error) {
	p, err := h.Start(a.argv[0], a.args("announce", "-host", h.Name, "-addr", h.Addr.String(), "-services", strings.Join(svcs, ",")),
		StartOpts{ReadyMark: readyMark})
	if err != nil {
		return nil, err
	}
	return []*Proc{p}, p.Ready(30 * time.Second)
}

func (a *execAnchor) List(ctx context.Context, h *Host) (time.Duration, []string, error) {
	wall, out, err := h.Timed(ctx, a.argv[0], a.args("list")...)
	var names []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && strings.HasPrefix(f[1], subnet) {
			names = append(names, f[0])
		}
	}
	return wall, names, err
}

func (a *execAnchor) Resolve(ctx context.Context, h *Host, name string) (time.Duration, string, error) {
	wall, out, err := h.Timed(ctx, a.argv[0], a.args("resolve", "-timeout", "3s", name)...)
	return wall, trimmed(out), err
}

func (a *execAnchor) Watch(h *Host) ([]*Proc, error) {
	p, err := h.Start(a.argv[0], a.args("watch"), StartOpts{})
	return []*Proc{p}, err
}

func (a *execAnchor) Fresh(*Host) error { return nil }

// mdnsPort is the port of every anchor (RFC 6762).
const mdnsPort = 5353

func isMDNS(pk tapPkt) bool { return pk.Sport == mdnsPort || pk.Dport == mdnsPort }

// anchors measures each anchor of -anchors in a lab of its own: 10 hosts ×
// 10 services and a querier, as quiet and loss do for lanfind; then one
// idle announcer and one watch, as idle does.
func (b *bench) anchors(ctx context.Context) error {
	var errs []string
	for _, key := range strings.Split(b.opt.Anchors, ",") {
		if ctx.Err() != nil {
			break
		}
		a, err := newAnchor(key, b.tmp)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		logf("   anchor %s", a.Tool().Name)
		if err := b.anchor(ctx, a); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", a.Tool().Name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func (b *bench) anchor(ctx context.Context, a anchor) error {
	t := a.Tool()
	b.res.AddTool(t)
	lab, err := NewLab(11)
	if err != nil {
		return err
	}
	defer lab.Close()
	q := lab.Hosts[10]
	want := map[string]bool{}
	var announcers []*Proc
	for i := range 10 {
		var svcs []string
		for j := range 10 {
			want[svcName(i, j)] = true
			svcs = append(svcs, fmt.Sprintf("%s:%d", svcName(i, j), 1000+j))
		}
		ps, err := a.Announce(lab.Hosts[i], svcs)
		if err != nil {
			return err
		}
		announcers = append(announcers, ps...)
	}
	w, err := startWire(q, hostIf, isMDNS)
	if err != nil {
		return err
	}
	defer w.Close()
	list := func() (time.Duration, int, window, error) {
		pause()
		if err := a.Fresh(q); err != nil {
			return 0, 0, window{}, err
		}
		t0 := time.Now()
		wall, names, err := a.List(ctx, q)
		win := window{t0, time.Now().Add(lateReplies)}
		seen := map[string]bool{}
		for _, n := range names {
			if want[n] {
				seen[n] = true
			}
		}
		return wall, len(seen), win, err
	}
	// Warm up: until one list finds everything (the announcers may still
	// be probing), 30 s at most; the anchor keeps what it gets after that.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; {
		_, n, _, err := list()
		if err != nil {
			return err
		}
		if n == len(want) {
			break
		}
	}
	lists := func(runs int) (walls, counts []float64, wins []window, err error) {
		for range runs {
			wall, n, win, err := list()
			if err != nil {
				return nil, nil, nil, err
			}
			walls, counts, wins = append(walls, ms(wall)), append(counts, float64(n)), append(wins, win)
		}
		return walls, counts, wins, nil
	}
	resolves := func(runs int) ([]float64, error) {
		var walls []float64
		for range runs {
			pause()
			if err := a.Fresh(q); err != nil {
				return nil, err
			}
			i, j := rand.IntN(10), rand.IntN(10)
			wall, out, err := a.Resolve(ctx, q, svcName(i, j))
			if err != nil {
				return nil, err
			}
			if !strings.Contains(out, lab.Hosts[i].Addr.String()) {
				// Not found: its whole wait counts, as a failed lanfind
				// resolve's would.
				b.res.Notes = append(b.res.Notes, fmt.Sprintf("%s: resolve %s found nothing (printed %q) in %.0f ms",
					t.Name, svcName(i, j), out, ms(wall)))
			}
			walls = append(walls, ms(wall))
		}
		return walls, nil
	}
	runs := b.runs(5, 3)
	walls, found, wins, err := lists(runs)
	if err != nil {
		return err
	}
	frames, sizes, err := w.perRun(wins)
	if err != nil {
		return err
	}
	b.res.AddSide(t.Key, sideListWall, walls, "")
	b.res.AddSide(t.Key, sideFound, found, "")
	b.res.AddSide(t.Key, sideBytes, sizes, "")
	b.res.AddSide(t.Key, sideFrames, frames, "")
	res, err := resolves(runs)
	if err != nil {
		return err
	}
	b.res.AddSide(t.Key, sideResolve, res, resolveNote(t.Key))

	defer setLoss(q, 0, false, false)
	if err := setLoss(q, 30, true, false); err != nil {
		return err
	}
	_, found, wins, err = lists(runs)
	if err != nil {
		return err
	}
	if frames, sizes, err = w.perRun(wins); err != nil {
		return err
	}
	b.res.AddSide(t.Key, sideFound30, found, "")
	b.res.AddSide(t.Key, sideBytes30, sizes, "")
	b.res.AddSide(t.Key, sideFrames30, frames, "")
	if res, err = resolves(runs); err != nil {
		return err
	}
	b.res.AddSide(t.Key, sideResolve30, res, resolveNote(t.Key))
	if err := setLoss(q, 50, true, false); err != nil {
		return err
	}
	if _, found, _, err = lists(runs); err != nil {
		return err
	}
	b.res.AddSide(t.Key, sideFound50, found, "")
	if err := setLoss(q, 0, false, false); err != nil {
		return err
	}

	// Idle: one announcer of one service and one watch, nothing else.
	for _, p := range announcers {
		p.Kill()
		p.Wait(5 * time.Second)
	}
	ann, err := a.Announce(lab.Hosts[0], []string{"idle:8080"})
	if err != nil {
		return err
	}
	watch, err := a.Watch(q)
	if err != nil {
		return err
	}
	time.Sleep(b.idleSettle())
	b.res.AddSide(t.Key, sideIdleRSS, []float64{rssMB(ann)}, rssNote(ann))
	b.res.AddSide(t.Key, sideWatchRSS, []float64{rssMB(watch)}, rssNote(watch))
	return nil
}

func resolveNote(key string) string {
	if key == "avahi" {
		return "avahi-resolve -n HOST.local (a host name: Avahi's tools resolve no single service)"
	}
	return ""
}

// idleSettle is how long an idle process runs before its RSS is read: as
// long as idle lets lanfind's announcer run (1.5 s and three intervals).
func (b *bench) idleSettle() time.Duration {
	return 1500*time.Millisecond + 3*b.idleInterval()
}

// idleInterval is lanfind's beacon interval in idle.
func (b *bench) idleInterval() time.Duration { return time.Duration(b.size(5, 1)) * time.Second }

// rssMB returns the summed RSS of procs in MB.
func rssMB(procs []*Proc) float64 {
	var sum int64
	for _, p := range procs {
		if rss, _, err := procStat(p.Pid()); err == nil {
			sum += rss
		}
	}
	return float64(sum) / (1 << 20)
}

// rssNote names the processes of a sum of several.
func rssNote(procs []*Proc) string {
	if len(procs) < 2 {
		return ""
	}
	var parts []string
	for _, p := range procs {
		rss, _, _ := procStat(p.Pid())
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.Pid()))
		parts = append(parts, fmt.Sprintf("%s %.1f MB", trimmed(comm), float64(rss)/(1<<20)))
	}
	return "sum of " + strings.Join(parts, " + ")
}
