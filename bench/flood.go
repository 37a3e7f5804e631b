package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/lanfind/lanfind/beacon"
)

// lanPort is lanfind's default discovery port.
const lanPort = beacon.DefaultPort

// openSender opens a UDP socket in h that may send to broadcast addresses.
func openSender(h *Host) (*net.UDPConn, error) {
	var c net.PacketConn
	err := h.Do(func() (err error) {
		lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1) })
			return serr
		}}
		c, err = lc.ListenPacket(context.Background(), "udp4", h.Addr.String()+":0")
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.(*net.UDPConn), nil
}

// paced sends total datagrams made by gen at rate per second, for at most
// limit, and returns how many went out and how long it took.
func paced(c *net.UDPConn, dst netip.AddrPort, total, rate int, limit time.Duration, gen func(i int) []byte) (sent int, took time.Duration) {
	t0 := time.Now()
	const tick = 10 * time.Millisecond
	perTick := max(rate*int(tick)/int(time.Second), 1)
	for i := 0; i < total && time.Since(t0) < limit; {
		for k := 0; k < perTick && i < total; k++ {
			if _, err := c.WriteToUDPAddrPort(gen(i), dst); err == nil {
				sent++
			}
			i++
		}
		// Keep to the schedule: datagram i is due at t0 + i/rate.
		if d := time.Until(t0.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
			time.Sleep(d)
		}
	}
	return sent, time.Since(t0)
}

// garbage returns datagram i of the garbage flood: random bytes, or a
// lanfind header followed by random bytes, or a valid beacon cut short.
func garbage(valid []byte) func(int) []byte {
	pool := make([]byte, 1<<20) // random bytes, drawn once
	for i := range pool {
		pool[i] = byte(rand.Uint32())
	}
	buf := make([]byte, 1400)
	return func(i int) []byte {
		off := rand.IntN(len(pool) - 1400)
		switch i % 3 {
		case 0:
			return pool[off : off+rand.IntN(1300)+1]
		case 1:
			n := copy(buf, pool[off:off+beacon.HeaderSize+rand.IntN(1000)])
			copy(buf, valid[:6]) // magic, version, kind
			return buf[:n]
		default:
			return valid[:rand.IntN(len(valid))]
		}
	}
}

// queries returns query i of the query flood: browse-all queries, each with
// a new request ID, so each is answered. They are one marshalled query with
// the sequence number and request ID patched in, so the sender keeps up.
func queries() func(int) []byte {
	b := beacon.Beacon{Kind: beacon.KindQuery, Sender: rand.Uint64() | 1, Seq: 1, RequestID: 1, Query: &beacon.Query{}}
	p, err := b.Marshal()
	if err != nil {
		panic(err) // a constant, valid query
	}
	return func(i int) []byte {
		binary.BigEndian.PutUint32(p[16:], uint32(i+1))     // sequence number
		binary.BigEndian.PutUint64(p[20:], rand.Uint64()|1) // request ID
		return p
	}
}

// usage samples the RSS and CPU time of processes.
type usage struct {
	mu   sync.Mutex
	peak map[int]int64
	stop chan struct{}
	done chan struct{}
}

func sample(pids []int) *usage {
	u := &usage{peak: map[int]int64{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(u.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			for _, pid := range pids {
				if rss, _, err := procStat(pid); err == nil {
					u.mu.Lock()
					u.peak[pid] = max(u.peak[pid], rss)
					u.mu.Unlock()
				}
			}
			select {
			case <-u.stop:
				return
			case <-t.C:
			}
		}
	}()
	return u
}

func (u *usage) Stop() map[int]int64 {
	close(u.stop)
	<-u.done
	return u.peak
}

// snap returns the largest RSS (MB) and the total CPU time of pids.
func snap(pids []int) (rssMB float64, cpu time.Duration) {
	for _, pid := range pids {
		rss, c, err := procStat(pid)
		if err == nil {
			rssMB = max(rssMB, float64(rss)/(1<<20))
			cpu += c
		}
	}
	return rssMB, cpu
}

// cpuRates measures the CPU share (% of one core) that the processes a
// and the processes b use over the same d.
func cpuRates(a, b []int, d time.Duration) (float64, float64) {
	_, a0 := snap(a)
	_, b0 := snap(b)
	time.Sleep(d)
	_, a1 := snap(a)
	_, b1 := snap(b)
	return 100 * float64(a1-a0) / float64(d), 100 * float64(b1-b0) / float64(d)
}

// flood: garbage and a query flood against a running announce and watch.
func (b *bench) flood(ctx context.Context) error {
	lab, err := NewLab(4)
	if err != nil {
		return err
	}
	defer lab.Close()
	wh, fh, lh := lab.Hosts[1], lab.Hosts[2], lab.Hosts[3] // announce on Hosts[0]
	const nsvc = 10
	f := b.newFleet(lab)
	if f.mode == modeLib {
		f.mode = modeProcs // measure lanfind itself: 10 small processes
	}
	if err := f.ensure([]int{0}, nsvc); err != nil {
		return err
	}
	want := f.expected()
	w, err := wh.Start(b.bin, []string{"watch", "--json"}, StartOpts{Lines: true})
	if err != nil {
		return err
	}
	ups := 0
	if _, ok := nextEvent(w.Lines(), 15*time.Second, func(ev event) bool {
		if ev.Event == "up" && want[ev.Service.Name] {
			ups++
		}
		return ups == nsvc
	}); !ok {
		return fmt.Errorf("watch reported %d of %d up", ups, nsvc)
	}
	var apids []int
	for _, p := range f.all() {
		apids = append(apids, p.Pid())
	}
	wpids := []int{w.Pid()}
	settle := time.Duration(b.size(3, 2)) * time.Second
	aCPUBefore, wCPUBefore := cpuRates(apids, wpids, settle)
	aRSS0, aCPU0 := snap(apids)
	wRSS0, wCPU0 := snap(wpids)

	c, err := openSender(fh)
	if err != nil {
		return err
	}
	defer c.Close()
	valid, err := (&beacon.Beacon{Kind: beacon.KindAnnounce, Sender: 7, Seq: 1, Services: []beacon.Service{{
		Instance: 9, Name: "flood", Type: "x", Port: 1, TTL: time.Minute, Host: "f",
		Addrs: []netip.Addr{fh.Addr}, Meta: map[string]string{"k": "v"}}}}).Marshal()
	if err != nil {
		return err
	}
	bcast := netip.AddrPortFrom(netip.MustParseAddr(subnet+"255"), lanPort)
	u := sample(append(append([]int{}, apids...), wpids...))

	// Garbage: 100,000 datagrams to the subnet broadcast address (both
	// announce and watch receive each), with a list in the middle.
	type listRes struct {
		wall time.Duration
		n    int
		err  error
	}
	listDuring := func(after time.Duration) chan listRes {
		ch := make(chan listRes, 1)
		go func() {
			time.Sleep(after)
			wall, n, err := b.list(ctx, lh, want)
			ch <- listRes{wall, n, err}
		}()
		return ch
	}
	nGarbage := b.size(100000, 20000)
	lc := listDuring(time.Second)
	gSent, gTook := paced(c, bcast, nGarbage, 25000, 60*time.Second, garbage(valid))
	lg := <-lc
	if lg.err != nil {
		return lg.err
	}
	// Queries: 10,000 per second for 10 s, with a list in the middle.
	qDur := time.Duration(b.size(10, 3)) * time.Second
	lc = listDuring(qDur / 2)
	qSent, qTook := paced(c, bcast, 10000*int(qDur/time.Second), 10000, qDur+5*time.Second, queries())
	lq := <-lc
	if lq.err != nil {
		return lq.err
	}
	peak := u.Stop()
	_, aCPU1 := snap(apids)
	_, wCPU1 := snap(wpids)
	floodTime := gTook + qTook
	aCPUDuring := 100 * float64(aCPU1-aCPU0) / float64(floodTime)
	wCPUDuring := 100 * float64(wCPU1-wCPU0) / float64(floodTime)

	time.Sleep(time.Second) // let the last replies go
	aCPUAfter, wCPUAfter := cpuRates(apids, wpids, settle)
	aRSS2, _ := snap(apids)
	wRSS2, _ := snap(wpids)
	var aPeak, wPeak float64
	for _, pid := range apids {
		aPeak = max(aPeak, float64(peak[pid])/(1<<20))
	}
	wPeak = float64(peak[w.Pid()]) / (1 << 20)

	downs := 0
	nextEvent(w.Lines(), 10*time.Millisecond, func(ev event) bool {
		if ev.Event == "down" {
			downs++
		}
		return false
	})
	g := "flood"
	b.res.Add(Row{Group: g, Name: fmt.Sprintf("garbage datagrams sent (%.0f/s)", float64(gSent)/gTook.Seconds()), Samples: []float64{float64(gSent)}})
	b.res.Add(Row{Group: g, Name: fmt.Sprintf("queries sent (%.0f/s)", float64(qSent)/qTook.Seconds()), Samples: []float64{float64(qSent)}})
	b.res.Add(Row{Group: g, Name: "list during garbage flood: found of 10", Samples: []float64{float64(lg.n)}, Target: nsvc, Cmp: ">=", Worst: true,
		Note: fmt.Sprintf("wall %.0f ms", ms(lg.wall))})
	b.res.Add(Row{Group: g, Name: "list during query flood: found of 10", Samples: []float64{float64(lq.n)}, Target: nsvc, Cmp: ">=", Worst: true,
		Note: fmt.Sprintf("wall %.0f ms", ms(lq.wall))})
	b.res.Add(Row{Group: g, Name: "watch down events during floods", Samples: []float64{float64(downs)}, Target: 0, Cmp: "<=", Worst: true})
	three := func(name, unit string, v ...float64) {
		b.res.Add(Row{Group: g, Name: name, Unit: unit, Samples: v,
			Show: fmt.Sprintf("%s / %s / %s %s", fmtNum(v[0]), fmtNum(v[1]), fmtNum(v[2]), unit)})
	}
	who := "announce"
	if len(apids) > 1 {
		who = fmt.Sprintf("announce (%d processes: largest RSS, total CPU)", len(apids))
	}
	three(who+" RSS before / peak / after", "MB", aRSS0, aPeak, aRSS2)
	three("watch RSS before / peak / after", "MB", wRSS0, wPeak, wRSS2)
	three(who+" CPU before / during / after", "% of a core", aCPUBefore, aCPUDuring, aCPUAfter)
	three("watch CPU before / during / after", "% of a core", wCPUBefore, wCPUDuring, wCPUAfter)
	return nil
}

// idle: RSS and traffic of one idle announcer.
func (b *bench) idle(ctx context.Context) error {
	lab, err := NewLab(2)
	if err != nil {
		return err
	}
	defer lab.Close()
	h := lab.Hosts[0]
	interval := b.idleInterval()
	p, err := h.Start(b.bin, []string{"announce", "--hostname", h.Name, "--name", "idle", "--type", "http", "--port", "8080",
		"--meta", "version=1.2.3", "--interval", interval.String()}, StartOpts{ReadyMark: readyMark})
	if err != nil {
		return err
	}
	if err := p.Ready(10 * time.Second); err != nil {
		return err
	}
	watch, err := lab.Hosts[1].Start(b.bin, []string{"watch", "--json"}, StartOpts{})
	if err != nil {
		return err
	}
	// Beacons go at 0 and 1 s, then every interval: count three intervals
	// from 1.5 s on (idleSettle in all).
	time.Sleep(1500 * time.Millisecond)
	t, err := openTap(h, hostIf) // opened now, so it holds nothing older
	if err != nil {
		return err
	}
	defer t.Close()
	const n = 3
	var count, frameBytes, ipBytes int
	until := time.Now().Add(n * interval)
	if _, err := t.read(until, func(pk tapPkt) bool {
		if os.Getenv("LFB_DEBUG") != "" {
			logf("tap %+v", pk)
		}
		if pk.Out && pk.Sport == lanPort {
			count++
			frameBytes += pk.FrameLen
			ipBytes += pk.IPLen
		}
		return false
	}); err != nil {
		return err
	}
	rss, _ := snap([]int{p.Pid()})
	wrss, _ := snap([]int{watch.Pid()})
	g := "idle announcer (1 service, 1 interface)"
	perInterval := float64(count) / n
	b.res.Add(Row{Group: g, Name: "RSS", Unit: "MB", Samples: []float64{rss}, Target: 15, Cmp: "<="})
	b.res.Add(Row{Group: g, Name: "RSS of a watch on another host, started with it", Unit: "MB", Samples: []float64{wrss}})
	b.res.AddSide(lanfindTool, sideIdleRSS, []float64{rss}, "")
	b.res.AddSide(lanfindTool, sideWatchRSS, []float64{wrss}, "")
	b.res.Add(Row{Group: g, Name: fmt.Sprintf("datagrams per interval per interface (tap, %d intervals of %v)", n, interval), Samples: []float64{perInterval}, Target: 2, Cmp: "<="})
	if count > 0 {
		perMin := float64(frameBytes) / n * float64(time.Minute/announce5s)
		b.res.Add(Row{Group: g, Name: "bytes per minute at the default 5s interval (Ethernet frames)", Unit: "B", Samples: []float64{perMin},
			Note: fmt.Sprintf("%d-byte frames, %d-byte IP datagrams", frameBytes/count, ipBytes/count)})
	}
	return nil
}

const announce5s = 5 * time.Second

// hotplug: an address added to a running announcer's interface.
func (b *bench) hotplug(ctx context.Context) error {
	lab, err := NewLab(2)
	if err != nil {
		return err
	}
	defer lab.Close()
	h := lab.Hosts[0]
	t, err := openTap(h, hostIf)
	if err != nil {
		return err
	}
	defer t.Close()
	p, err := h.Start(b.bin, []string{"announce", "--hostname", h.Name, "--name", "hot", "--port", "1"}, StartOpts{ReadyMark: readyMark})
	if err != nil {
		return err
	}
	if err := p.Ready(10 * time.Second); err != nil {
		return err
	}
	// Past the fast repeat at 1 s: the next regular beacon is 5 s away.
	time.Sleep(1500 * time.Millisecond)
	added := netip.MustParseAddr("10.78.1.10")
	if err := run("ip", "-n", h.NS, "addr", "add", added.String()+"/24", "brd", "+", "dev", hostIf); err != nil {
		return err
	}
	t0 := time.Now()
	var at time.Time
	ok, err := t.read(t0.Add(5*time.Second), func(pk tapPkt) bool {
		if pk.Out && pk.Src == added && pk.Sport == lanPort {
			at = pk.At
			return true
		}
		return false
	})
	if err != nil {
		return err
	}
	g := "hot-plug"
	if !ok {
		b.res.Add(Row{Group: g, Name: "address added → first beacon from it", Unit: "ms", Note: "not supported by this build: none within 5 s"})
		return nil
	}
	b.res.Add(Row{Group: g, Name: "address added → first beacon from it", Unit: "ms", Samples: []float64{ms(at.Sub(t0))}, Target: 2000, Cmp: "<="})
	return nil
}
