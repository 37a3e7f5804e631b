package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/lanfind/lanfind/beacon"
)

// readyMark is what lanfind announce logs once it sends.
const readyMark = "announcing"

func svcName(host, j int) string { return fmt.Sprintf("h%02d-s%02d", host, j) }

// fleet keeps the announcers of a lab: services h<host>-s<j> for j < count.
type fleet struct {
	b     *bench
	lab   *Lab
	extra []string // more announce flags (--interval ...)
	mode  string   // b.mode, unless a measurement wants lanfind processes
	procs map[int][]*Proc
	count map[int]int
}

func (b *bench) newFleet(lab *Lab, extra ...string) *fleet {
	return &fleet{b: b, lab: lab, extra: extra, mode: b.mode, procs: map[int][]*Proc{}, count: map[int]int{}}
}

// ensure makes host i announce n services and waits until every new
// process announces.
func (f *fleet) ensure(hosts []int, n int) error {
	var started []*Proc
	for _, i := range hosts {
		h := f.lab.Hosts[i]
		if f.count[i] == n {
			continue
		}
		base := append([]string{"announce", "--hostname", h.Name}, f.extra...)
		if f.mode == modeProcs {
			for j := f.count[i]; j < n; j++ {
				args := append(base, "--name", svcName(i, j), "--type", "bench", "--port", fmt.Sprint(1000+j))
				p, err := h.Start(f.b.bin, args, StartOpts{ReadyMark: readyMark})
				if err != nil {
					return err
				}
				f.procs[i] = append(f.procs[i], p)
				started = append(started, p)
			}
			f.count[i] = n
			continue
		}
		for _, p := range f.procs[i] {
			p.Signal(syscall.SIGTERM)
			p.Wait(5 * time.Second)
		}
		bin, args := f.b.bin, base
		var list []string
		for j := range n {
			list = append(list, fmt.Sprintf("%s:%d:bench", svcName(i, j), 1000+j))
		}
		if f.mode == modeService {
			for _, s := range list {
				args = append(args, "--service", s)
			}
		} else {
			bin = f.b.self
			args = []string{helperArg, "-hostname", h.Name, "-services", strings.Join(list, ",")}
			if k := slices.Index(f.extra, "--interval"); k >= 0 {
				args = append(args, "-interval", f.extra[k+1])
			}
		}
		p, err := h.Start(bin, args, StartOpts{ReadyMark: readyMark})
		if err != nil {
			return err
		}
		f.procs[i] = []*Proc{p}
		started = append(started, p)
		f.count[i] = n
	}
	for _, p := range started {
		if err := p.Ready(30 * time.Second); err != nil {
			return err
		}
	}
	return nil
}

// expected returns the names the fleet announces.
func (f *fleet) expected() map[string]bool {
	m := map[string]bool{}
	for i, n := range f.count {
		for j := range n {
			m[svcName(i, j)] = true
		}
	}
	return m
}

func (f *fleet) all() []*Proc {
	var out []*Proc
	for _, ps := range f.procs {
		out = append(out, ps...)
	}
	return out
}

type jsonSvc struct {
	Name     string `json:"name"`
	Instance string `json:"instance"`
	Addr     string `json:"addr"`
	Port     int    `json:"port"`
}

// list runs lanfind list --json in h and counts the expected names found.
func (b *bench) list(ctx context.Context, h *Host, want map[string]bool, args ...string) (time.Duration, int, error) {
	wall, out, err := h.Timed(ctx, b.bin, append([]string{"list", "--json"}, args...)...)
	if err != nil {
		return wall, 0, err
	}
	var svcs []jsonSvc
	if err := json.Unmarshal(out, &svcs); err != nil {
		return wall, 0, fmt.Errorf("list output: %w", err)
	}
	seen := map[string]int{}
	for _, s := range svcs {
		if want[s.Name] {
			seen[s.Name]++
		}
	}
	return wall, len(seen), nil
}

// warm waits until a list in h finds every expected service (30 s at most).
func (b *bench) warm(ctx context.Context, h *Host, want map[string]bool) error {
	deadline := time.Now().Add(30 * time.Second)
	found := 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var err error
		if _, found, err = b.list(ctx, h, want); err != nil {
			return err
		}
		if found == len(want) {
			return nil
		}
	}
	return fmt.Errorf("warm-up: list found %d of %d within 30s", found, len(want))
}

// pcts turns found counts into percentages of total.
func pcts(found []float64, total int) []float64 {
	out := make([]float64, len(found))
	for i, n := range found {
		out[i] = 100 * n / float64(total)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pause lets the replies of one run die away before the next.
func pause() { time.Sleep(200 * time.Millisecond) }

// scale: 50 hosts × 100 services (issue 14: 5,000 services on 50 hosts)
// listed from a 51st host; the sweep over services per host feeds the
// chart.
func (b *bench) scale(ctx context.Context) error {
	nh := b.size(50, 5)
	steps := []int{1, 10, 50, 100}
	if b.opt.Quick {
		steps = []int{2, 10}
	}
	lab, err := NewLab(nh + 1)
	if err != nil {
		return err
	}
	defer lab.Close()
	q := lab.Hosts[nh]
	hosts := make([]int, nh)
	for i := range hosts {
		hosts[i] = i
	}
	// Without --service, 1000 announce processes would each receive every
	// other's beacons (about 400,000 deliveries a second at the default
	// interval), which would swamp a small machine: they beacon every
	// 10 minutes instead. list measures queries and replies either way.
	var extra []string
	if b.mode == modeProcs {
		extra = []string{"--interval", "10m"}
		b.res.Notes = append(b.res.Notes, "scale: without --service the 5000 announce processes run with --interval 10m, so that their background beacons (each delivered to every other process) do not swamp the machine; list measures query and replies either way")
	}
	f := b.newFleet(lab, extra...)
	b.res.SvcHosts = nh
	for k, per := range steps {
		logf("   %d hosts × %d services", nh, per)
		if err := f.ensure(hosts, per); err != nil {
			return err
		}
		want := f.expected()
		if err := b.warm(ctx, q, want); err != nil {
			return err
		}
		last := k == len(steps)-1
		runs := b.runs(5, 2)
		if last {
			runs = b.runs(10, 3)
		}
		pt := Point{X: float64(len(want)), Expected: len(want)}
		var walls, found, drops []float64
		for range runs {
			pause()
			before, err := q.Snmp()
			if err != nil {
				return err
			}
			wall, n, err := b.list(ctx, q, want)
			if err != nil {
				return err
			}
			after, err := q.Snmp()
			if err != nil {
				return err
			}
			d := after["RcvbufErrors"] - before["RcvbufErrors"]
			walls, found, drops = append(walls, ms(wall)), append(found, float64(n)), append(drops, float64(d))
			pt.WallMs = append(pt.WallMs, ms(wall))
			pt.FoundPct = append(pt.FoundPct, 100*float64(n)/float64(len(want)))
			pt.RcvbufErrors += d
		}
		b.res.BySvc = append(b.res.BySvc, pt)
		if last {
			total := float64(len(want))
			g := fmt.Sprintf("scale %d×%d", nh, per)
			b.res.Add(Row{Group: g, Name: "list --json wall", Unit: "ms", Samples: walls, Target: 1000, Cmp: "<="})
			b.res.Add(Row{Group: g, Name: fmt.Sprintf("found of %d", len(want)), Unit: "", Samples: found, Target: total, Cmp: ">=", Worst: true})
			b.res.Add(Row{Group: g, Name: "querier Udp RcvbufErrors per list", Unit: "", Samples: drops, Target: 0, Cmp: "<=", Worst: true})
		}
	}
	return nil
}

// lan100 is the quiet-LAN lab shared by quiet and loss: 10 hosts × 10
// services and a querier, h10; IPv6-only hosts when v6 (quiet6, loss6).
func (b *bench) lan100(ctx context.Context, v6 bool) (*Lab, map[string]bool, error) {
	if b.lab100 != nil && b.lab100v6 == v6 {
		return b.lab100, b.want100, nil
	}
	if b.lab100 != nil {
		b.lab100.Close()
		b.lab100, b.quietPoint = nil, nil
	}
	newLab := NewLab
	if v6 {
		newLab = NewLab6
	}
	lab, err := newLab(11)
	if err != nil {
		return nil, nil, err
	}
	f := b.newFleet(lab)
	if err := f.ensure([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 10); err != nil {
		lab.Close()
		return nil, nil, err
	}
	want := f.expected()
	if err := b.warm(ctx, lab.Hosts[10], want); err != nil {
		lab.Close()
		return nil, nil, err
	}
	b.lab100, b.want100, b.lab100v6 = lab, want, v6
	return lab, want, nil
}

// family names a group of rows: "" for IPv4, "IPv6-only " for v6.
func family(v6 bool) string {
	if v6 {
		return "IPv6-only "
	}
	return ""
}

// quiet: list and resolve on a quiet LAN of 100 services; IPv6-only
// hosts when v6.
func (b *bench) quiet(ctx context.Context, v6 bool) error {
	lab, want, err := b.lan100(ctx, v6)
	if err != nil {
		return err
	}
	q := lab.Hosts[10]
	pt := Point{X: 0, Expected: len(want)}
	w, err := startWire(q, hostIf, isLanfind)
	if err != nil {
		return err
	}
	defer w.Close()
	var walls, found []float64
	var wins []window
	for range b.runs(20, 5) {
		pause()
		t0 := time.Now()
		wall, n, err := b.list(ctx, q, want)
		if err != nil {
			return err
		}
		wins = append(wins, window{t0, time.Now().Add(lateReplies)})
		walls, found = append(walls, ms(wall)), append(found, float64(n))
		pt.WallMs = append(pt.WallMs, ms(wall))
		pt.FoundPct = append(pt.FoundPct, 100*float64(n)/float64(len(want)))
	}
	b.quietPoint = &pt
	g := family(v6) + "quiet 10×10"
	b.res.Add(Row{Group: g, Name: "list wall", Unit: "ms", Samples: walls, Target: 300, Cmp: "<="})
	b.res.Add(Row{Group: g, Name: "list found of 100", Samples: found, Target: 100, Cmp: ">=", Worst: true})
	frames, sizes, err := w.perRun(wins)
	if err != nil {
		return err
	}
	b.res.Add(Row{Group: g, Name: "list: bytes on the wire at the querier (tap)", Unit: "B", Samples: sizes})
	b.res.Add(Row{Group: g, Name: "list: datagrams on the wire at the querier (tap)", Samples: frames})
	res, err := b.resolves(ctx, q, b.runs(20, 5), v6)
	if err != nil {
		return err
	}
	b.res.Add(Row{Group: g, Name: "resolve NAME wall (process start included)", Unit: "ms", Samples: res, Target: 15, Cmp: "<="})
	if v6 {
		return nil // the side-by-side table is the IPv4 lab's
	}
	b.res.AddSide(lanfindTool, sideListWall, walls, "")
	b.res.AddSide(lanfindTool, sideFound, found, "")
	b.res.AddSide(lanfindTool, sideBytes, sizes, "")
	b.res.AddSide(lanfindTool, sideFrames, frames, "")
	b.res.AddSide(lanfindTool, sideResolve, res, "")
	return nil
}

// resolves runs lanfind resolve for random services of lan100 and
// returns the wall times.
// An IPv6-only lab (v6) resolves to [fd00:78::...]:PORT.
func (b *bench) resolves(ctx context.Context, q *Host, runs int, v6 bool) ([]float64, error) {
	var res []float64
	for range runs {
		pause()
		name := svcName(rand.IntN(10), rand.IntN(10))
		wall, out, err := q.Timed(ctx, b.bin, "resolve", name)
		if err != nil {
			return nil, err
		}
		want := subnet
		if v6 {
			want = "[" + subnet6
		}
		if !strings.HasPrefix(string(out), want) {
			return nil, fmt.Errorf("resolve %s printed %q", name, out)
		}
		res = append(res, ms(wall))
	}
	return res, nil
}

// isLanfind reports whether pk is lanfind traffic caused by a query:
// everything on its port but the periodic beacons other hosts send.
func isLanfind(pk tapPkt) bool {
	if pk.Sport != lanPort && pk.Dport != lanPort {
		return false
	}
	const kindAt = 5 // see the beacon package's header table
	return pk.Out || len(pk.Head) <= kindAt || beacon.Kind(pk.Head[kindAt]) != beacon.KindAnnounce
}

// setLoss makes h drop pct% of its incoming (in) and/or outgoing (out) UDP
// datagrams at random; pct 0 removes the rules.
func setLoss(h *Host, pct int, in, out bool) error {
	h.Cmd("nft", "delete", "table", "inet", "lfb_loss") // absent the first time
	if pct == 0 {
		return nil
	}
	var rules strings.Builder
	rules.WriteString("table inet lfb_loss {\n")
	if in {
		fmt.Fprintf(&rules, "  chain in { type filter hook input priority 0; policy accept; meta l4proto udp numgen random mod 100 < %d drop; }\n", pct)
	}
	if out {
		fmt.Fprintf(&rules, "  chain out { type filter hook output priority 0; policy accept; meta l4proto udp numgen random mod 100 < %d drop; }\n", pct)
	}
	rules.WriteString("}\n")
	f, err := os.CreateTemp("", "lfb-nft-*.conf")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(rules.String()); err != nil {
		f.Close()
		return err
	}
	f.Close()
	return h.Cmd("nft", "-f", f.Name())
}

// loss: 30% loss at the querier or at the announcers, and (not for v6, an
// IPv6-only lab) a sweep over the querier's loss for the chart.
func (b *bench) loss(ctx context.Context, v6 bool) error {
	lab, want, err := b.lan100(ctx, v6)
	if err != nil {
		return err
	}
	q := lab.Hosts[10]
	announcers := lab.Hosts[:10]
	w, err := startWire(q, hostIf, isLanfind)
	if err != nil {
		return err
	}
	defer w.Close()
	var wins []window
	measure := func(runs int) (walls, found []float64, err error) {
		wins = nil
		for range runs {
			pause()
			t0 := time.Now()
			wall, n, err := b.list(ctx, q, want, "--timeout", "2s")
			if err != nil {
				return nil, nil, err
			}
			wins = append(wins, window{t0, time.Now().Add(lateReplies)})
			walls, found = append(walls, ms(wall)), append(found, float64(n))
		}
		return walls, found, nil
	}
	setAll := func(pct int, in, out bool) error {
		for _, h := range announcers {
			if err := setLoss(h, pct, in, out); err != nil {
				return err
			}
		}
		return nil
	}
	type variant struct {
		name  string
		apply func() error
	}
	variants := []variant{
		{"30% of querier's incoming UDP dropped", func() error { return setLoss(q, 30, true, false) }},
		{"30% of announcers' incoming UDP dropped", func() error { return setAll(30, true, false) }},
		{"30% of announcers' outgoing UDP dropped", func() error { return setAll(30, false, true) }},
	}
	clear := func() error {
		if err := setLoss(q, 0, false, false); err != nil {
			return err
		}
		return setAll(0, false, false)
	}
	defer clear()
	var q30 *Point
	for _, v := range variants {
		if err := v.apply(); err != nil {
			return err
		}
		walls, found, err := measure(b.runs(20, 5))
		if err != nil {
			return err
		}
		if q30 == nil { // the querier's loss: the side-by-side figures
			frames, sizes, err := w.perRun(wins)
			if err != nil {
				return err
			}
			res, err := b.resolves(ctx, q, b.runs(20, 5), v6)
			if err != nil {
				return err
			}
			g := family(v6) + "loss: " + v.name
			b.res.Add(Row{Group: g, Name: "list: bytes on the wire at the querier (tap)", Unit: "B", Samples: sizes})
			b.res.Add(Row{Group: g, Name: "list: datagrams on the wire at the querier (tap)", Samples: frames})
			b.res.Add(Row{Group: g, Name: "resolve NAME wall", Unit: "ms", Samples: res})
			if !v6 { // the side-by-side table is the IPv4 lab's
				b.res.AddSide(lanfindTool, sideFound30, found, "")
				b.res.AddSide(lanfindTool, sideBytes30, sizes, "")
				b.res.AddSide(lanfindTool, sideFrames30, frames, "")
				b.res.AddSide(lanfindTool, sideResolve30, res, "")
			}
		}
		if err := clear(); err != nil {
			return err
		}
		all := 0
		for _, n := range found {
			if int(n) == len(want) {
				all++
			}
		}
		g := family(v6) + "loss: " + v.name
		b.res.Add(Row{Group: g, Name: "list --timeout 2s found of 100", Samples: found, Target: 99, Cmp: ">=", Worst: true,
			Note: fmt.Sprintf("all 100 in %d of %d runs", all, len(found))})
		b.res.Add(Row{Group: g, Name: "list --timeout 2s wall", Unit: "ms", Samples: walls})
		if q30 == nil {
			q30 = &Point{X: 30, WallMs: walls, FoundPct: pcts(found, len(want)), Expected: len(want)}
		}
	}
	if v6 {
		return nil // the chart is the IPv4 lab's
	}
	// The sweep for the chart.
	for _, pct := range []int{0, 10, 20, 30, 40, 50} {
		var pt Point
		switch {
		case pct == 30:
			pt = *q30
		case pct == 0 && b.quietPoint != nil:
			pt = *b.quietPoint
		default:
			if err := setLoss(q, pct, true, false); err != nil {
				return err
			}
			walls, found, err := measure(b.runs(10, 3))
			if err != nil {
				return err
			}
			pt = Point{X: float64(pct), WallMs: walls, FoundPct: pcts(found, len(want)), Expected: len(want)}
		}
		pt.X = float64(pct)
		b.res.ByLoss = append(b.res.ByLoss, pt)
		if pct == 50 {
			found := make([]float64, len(pt.FoundPct))
			for i, p := range pt.FoundPct {
				found[i] = p * float64(pt.Expected) / 100
			}
			b.res.AddSide(lanfindTool, sideFound50, found, "")
		}
	}
	return nil
}

// event is one line of lanfind watch --json.
type event struct {
	Event   string  `json:"event"`
	Reason  string  `json:"reason"`
	Service jsonSvc `json:"service"`
	At      time.Time
}

// nextEvent reads watch lines until one satisfies pred or d passes.
func nextEvent(lines <-chan Line, d time.Duration, pred func(event) bool) (event, bool) {
	timeout := time.After(d)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return event{}, false
			}
			var ev event
			if json.Unmarshal([]byte(l.Text), &ev) != nil {
				continue
			}
			ev.At = l.At
			if pred(ev) {
				return ev, true
			}
		case <-timeout:
			return event{}, false
		}
	}
}

func is(kind, name string) func(event) bool {
	return func(ev event) bool { return ev.Event == kind && ev.Service.Name == name }
}

// churn: goodbye, expiry and restart as seen by a watch.
func (b *bench) churn(ctx context.Context) error {
	lab, err := NewLab(3)
	if err != nil {
		return err
	}
	defer lab.Close()
	wh, ah, lh := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	w, err := wh.Start(b.bin, []string{"watch", "--json"}, StartOpts{Lines: true})
	if err != nil {
		return err
	}
	lines := w.Lines()
	start := func(name string, extra ...string) (*Proc, error) {
		args := append([]string{"announce", "--hostname", ah.Name, "--name", name, "--port", "9"}, extra...)
		p, err := ah.Start(b.bin, args, StartOpts{ReadyMark: readyMark})
		if err != nil {
			return nil, err
		}
		return p, p.Ready(10 * time.Second)
	}
	short := []string{"--interval", "1s", "--ttl", "3s"}
	const ttl = 3 * time.Second
	var term, kill, killDef, restartEntries, restartEvents []float64
	for i := range b.runs(5, 2) {
		// SIGTERM: goodbye.
		name := fmt.Sprintf("term-%d", i)
		p, err := start(name, short...)
		if err != nil {
			return err
		}
		if _, ok := nextEvent(lines, 10*time.Second, is("up", name)); !ok {
			return fmt.Errorf("watch did not report %s up", name)
		}
		t0 := time.Now()
		p.Signal(syscall.SIGTERM)
		ev, ok := nextEvent(lines, 5*time.Second, is("down", name))
		if !ok {
			return fmt.Errorf("watch did not report %s down within 5s of SIGTERM", name)
		}
		term = append(term, ms(ev.At.Sub(t0)))
		p.Wait(5 * time.Second)

		// SIGKILL: expiry.
		name = fmt.Sprintf("kill-%d", i)
		if p, err = start(name, short...); err != nil {
			return err
		}
		if _, ok := nextEvent(lines, 10*time.Second, is("up", name)); !ok {
			return fmt.Errorf("watch did not report %s up", name)
		}
		time.Sleep(rand.N(time.Second)) // kill at a random point of the interval
		t0 = time.Now()
		p.Kill()
		if ev, ok = nextEvent(lines, ttl+5*time.Second, is("down", name)); !ok {
			return fmt.Errorf("watch did not report %s down within TTL+5s of SIGKILL", name)
		}
		kill = append(kill, ms(ev.At.Sub(t0)))

		// Restart: SIGKILL and start again at once; the entry must be
		// replaced (no second entry, no down, no second up).
		name = fmt.Sprintf("restart-%d", i)
		if p, err = start(name, short...); err != nil {
			return err
		}
		if _, ok := nextEvent(lines, 10*time.Second, is("up", name)); !ok {
			return fmt.Errorf("watch did not report %s up", name)
		}
		p.Kill()
		p.Wait(5 * time.Second)
		if p, err = start(name, short...); err != nil {
			return err
		}
		spurious := 0
		nextEvent(lines, ttl+time.Second, func(ev event) bool {
			if ev.Service.Name == name && (ev.Event == "up" || ev.Event == "down") {
				spurious++
			}
			return false
		})
		_, out, err := lh.Timed(ctx, b.bin, "list", "--json", "--name", name)
		if err != nil {
			return err
		}
		var svcs []jsonSvc
		json.Unmarshal(out, &svcs)
		restartEntries = append(restartEntries, float64(len(svcs)))
		restartEvents = append(restartEvents, float64(spurious))
		p.Signal(syscall.SIGTERM)
		nextEvent(lines, 5*time.Second, is("down", name))
		p.Wait(5 * time.Second)
	}
	g := "churn (watch; announce --interval 1s --ttl 3s)"
	b.res.Add(Row{Group: g, Name: "SIGTERM → watch prints down", Unit: "ms", Samples: term, Target: 1000, Cmp: "<=", Worst: true})
	b.res.Add(Row{Group: g, Name: "SIGKILL → watch prints down (expired)", Unit: "ms", Samples: kill, Target: ms(ttl + time.Second), Cmp: "<=", Worst: true})
	b.res.Add(Row{Group: g, Name: "restart: entries listed for the instance", Samples: restartEntries, Target: 1, Cmp: "<=", Worst: true})
	b.res.Add(Row{Group: g, Name: "restart: up/down events within TTL+1s", Samples: restartEvents, Target: 0, Cmp: "<=", Worst: true})

	// The defaults' bound: interval 5s, TTL 15s.
	for i := range b.runs(3, 1) {
		if b.opt.Runs > 3 {
			break
		}
		name := fmt.Sprintf("kill-default-%d", i)
		p, err := start(name)
		if err != nil {
			return err
		}
		if _, ok := nextEvent(lines, 10*time.Second, is("up", name)); !ok {
			return fmt.Errorf("watch did not report %s up", name)
		}
		// Kill at a random point of the interval.
		time.Sleep(time.Duration(rand.Int64N(int64(5 * time.Second))))
		t0 := time.Now()
		p.Kill()
		ev, ok := nextEvent(lines, 20*time.Second, is("down", name))
		if !ok {
			return fmt.Errorf("watch did not report %s down within 20s of SIGKILL", name)
		}
		killDef = append(killDef, ms(ev.At.Sub(t0)))
	}
	b.res.Add(Row{Group: "churn (defaults: interval 5s, TTL 15s)", Name: "SIGKILL → watch prints down (expired)", Unit: "ms", Samples: killDef, Target: 16000, Cmp: "<=", Worst: true})
	return nil
}
