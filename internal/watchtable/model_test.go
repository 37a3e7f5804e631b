package watchtable

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/gdamore/tcell/v2"

	"github.com/lanfind/lanfind/discover"
	tt "github.com/lanfind/lanfind/internal/termtext"
)

// fakeClock is a settable clock for the live table.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func svc(name string, instance uint64, addr string) discover.Result {
	return discover.Result{Instance: instance, Name: name, Type: "http", Port: 80, Host: "h-" + name, Iface: "eth0",
		Addr: netip.MustParseAddr(addr), Addrs: []netip.Addr{netip.MustParseAddr(addr), netip.MustParseAddr("172.17.0.1")},
		TTL: 15 * time.Second}
}

// rowOf returns the line of the view that shows name, or "".
func rowOf(view, name string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, " "+name+" ") {
			return l
		}
	}
	return ""
}

func TestWatchModel(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	m := newModel(tt.Style{}, clock.now)
	if v := m.view(); !strings.Contains(v, "waiting for services") {
		t.Errorf("empty view: got %q", v)
	}

	db, web := svc("db", 1, "10.0.0.2"), svc("web", 2, "10.0.0.3")
	db.LastSeen, web.LastSeen = clock.t, clock.t
	m.apply(discover.Event{Kind: discover.EventUp, Service: db})
	m.apply(discover.Event{Kind: discover.EventUp, Service: web})
	v := m.view()
	if !strings.HasPrefix(v, "lanfind watch: 2 up (q to quit)\n") {
		t.Errorf("title: got %q", v)
	}
	row := rowOf(v, "db")
	for _, want := range []string{"up", "http", "10.0.0.2:80", "eth0", "h-db", "now", "10.0.0.2,172.17.0.1"} {
		if !strings.Contains(row, want) {
			t.Errorf("db row %q lacks %q", row, want)
		}
	}
	if strings.Index(v, " db ") > strings.Index(v, " web ") {
		t.Errorf("rows not sorted by name:\n%s", v)
	}

	// Ages move with the clock on each tick.
	clock.t = clock.t.Add(4 * time.Second)
	m.prune()
	if row := rowOf(m.view(), "db"); !strings.Contains(row, "4s ago") {
		t.Errorf("db row after 4s: got %q, want 4s ago", row)
	}

	// An update is marked for a while.
	db.Meta = map[string]string{"v": "2"}
	db.LastSeen = clock.t
	m.apply(discover.Event{Kind: discover.EventUpdate, Service: db})
	if row := rowOf(m.view(), "db"); !strings.HasPrefix(row, "updated") {
		t.Errorf("db row after update: got %q, want updated", row)
	}
	clock.t = clock.t.Add(linger)
	m.prune()
	if row := rowOf(m.view(), "db"); !strings.HasPrefix(row, "up ") {
		t.Errorf("db row a while after update: got %q, want up", row)
	}

	// A departure stays with its reason, then goes.
	m.apply(discover.Event{Kind: discover.EventDown, Reason: discover.ReasonGoodbye, Service: web})
	v = m.view()
	if row := rowOf(v, "web"); !strings.HasPrefix(row, "down: goodbye") || !strings.Contains(row, "gone now") {
		t.Errorf("web row after goodbye: got %q", row)
	}
	if !strings.HasPrefix(v, "lanfind watch: 1 up, 1 gone") {
		t.Errorf("title after goodbye: got %q", v)
	}
	clock.t = clock.t.Add(linger - time.Second)
	m.prune()
	if rowOf(m.view(), "web") == "" {
		t.Errorf("web gone before %v", linger)
	}
	clock.t = clock.t.Add(time.Second)
	m.prune()
	if row := rowOf(m.view(), "web"); row != "" {
		t.Errorf("web still shown %v after its goodbye: %q", linger, row)
	}

	// A restart under a new sender ID (same instance, same address) keeps
	// its row; a second announcer of the instance elsewhere gets its own.
	db2 := db
	db2.Sender = 99
	m.apply(discover.Event{Kind: discover.EventUpdate, Service: db2})
	other := svc("db", 1, "10.0.0.9")
	other.Conflict = true
	m.apply(discover.Event{Kind: discover.EventUp, Service: other})
	if n := strings.Count(m.view(), " db "); n != 2 {
		t.Errorf("got %d db rows, want 2:\n%s", n, m.view())
	}
	if row := rowOf(m.view(), "db"); !strings.Contains(m.view(), "(conflict)") {
		t.Errorf("conflict not shown: %q", row)
	}

	// The screen's height cuts rows; tcell clips columns.
	for i := range 20 {
		m.apply(discover.Event{Kind: discover.EventUp, Service: svc(strings.Repeat("x", i+1), uint64(100+i), "10.0.1.1")})
	}
	scr := tcell.NewSimulationScreen("UTF-8")
	if err := scr.Init(); err != nil {
		t.Fatal(err)
	}
	defer scr.Fini()
	scr.SetSize(40, 10)
	m.draw(scr)
	lines := strings.Split(strings.TrimSuffix(m.view(), "\n"), "\n")
	if len(lines) != 10 {
		t.Errorf("got %d lines, want 10", len(lines))
	}
	if !strings.HasPrefix(lines[len(lines)-1], "… 15 more") {
		t.Errorf("last line: got %q, want … 15 more", lines[len(lines)-1])
	}
	screen := screenLines(scr)
	if !strings.HasPrefix(screen[0], "lanfind watch: 22 up") || !strings.HasPrefix(screen[1], "STATE") ||
		!strings.HasPrefix(screen[9], "… 15 more") {
		t.Errorf("screen:\n%s", strings.Join(screen, "\n"))
	}

	for _, k := range []*tcell.EventKey{
		tcell.NewEventKey(tcell.KeyRune, 'q', 0), tcell.NewEventKey(tcell.KeyEscape, 0, 0), tcell.NewEventKey(tcell.KeyCtrlC, 0, 0),
	} {
		if !quitKey(k) {
			t.Errorf("%s: does not quit", k.Name())
		}
	}
	if k := tcell.NewEventKey(tcell.KeyRune, 'x', 0); quitKey(k) {
		t.Errorf("%s: quits", k.Name())
	}
}

// TestWatchScreenColours checks the styles the live table draws with.
func TestWatchScreenColours(t *testing.T) {
	for _, st := range []tt.Style{{}, tt.Colours} {
		m := newModel(st, func() time.Time { return time.Unix(1000, 0) })
		m.apply(discover.Event{Kind: discover.EventUp, Service: svc("db", 1, "10.0.0.2")})
		scr := tcell.NewSimulationScreen("UTF-8")
		if err := scr.Init(); err != nil {
			t.Fatal(err)
		}
		scr.SetSize(80, 5)
		m.draw(scr)
		cells, w, _ := scr.GetContents()
		got := cells[2*w].Style // "up" in the first row
		want := tcell.StyleDefault
		if st == tt.Colours {
			want = want.Foreground(tcell.ColorGreen)
		}
		if got != want || string(cells[2*w].Runes) != "u" {
			t.Errorf("style %v: cell %q has style %v, want %v", st, cells[2*w].Runes, got, want)
		}
		scr.Fini()
	}
}

// TestHostileTextIsEscaped: what an attacker on the LAN puts in a name, a
// type, a host or a reason reaches the live table escaped.
func TestHostileTextIsEscaped(t *testing.T) {
	for _, st := range []tt.Style{{}, tt.Colours} {
		for _, s := range []string{"\x1b[2J\x1b[H", "\u009b31m", "safe\u202egnp.exe", "line\nbreak", "bad\xff"} {
			r := svc(s, 1, "10.0.0.2")
			r.Type, r.Host = s, s
			m := newModel(st, func() time.Time { return time.Unix(104, 0) })
			m.apply(discover.Event{Kind: discover.EventUp, Service: r})
			checkSafe(t, m.view(), st)
			m.apply(discover.Event{Kind: discover.EventDown, Reason: s, Service: r})
			checkSafe(t, m.view(), st)
		}
	}
}

// checkSafe fails unless out, once the SGR sequences of st are removed,
// holds only printable text, spaces and newlines.
func checkSafe(t *testing.T, out string, st tt.Style) {
	t.Helper()
	for _, sgr := range []string{st.Header, st.Name, st.Dim, st.Up, st.Update, st.Down, "0"} {
		if sgr != "" {
			out = strings.ReplaceAll(out, "\x1b["+sgr+"m", "")
		}
	}
	for _, r := range out {
		if r != '\n' && r != ' ' && !unicode.IsPrint(r) {
			t.Errorf("unsafe rune %U in %q", r, out)
		}
	}
}

// countingScreen is a simulation screen that counts the frames shown.
type countingScreen struct {
	tcell.SimulationScreen
	shows atomic.Int64
}

func (s *countingScreen) Show() {
	s.shows.Add(1)
	s.SimulationScreen.Show()
}

// TestLiveTableFlood: a flood of events (20,000 instances coming up, as
// forged announcements bring them) never holds up the Listener that
// reports them, costs a few redraws a second rather than one per event,
// and leaves the table showing every instance.
func TestLiveTableFlood(t *testing.T) {
	const events = 20000
	scr := &countingScreen{SimulationScreen: tcell.NewSimulationScreen("UTF-8")}
	if err := scr.Init(); err != nil {
		t.Fatal(err)
	}
	scr.SetSize(120, 40)
	var emitted atomic.Int64
	var took time.Duration
	flood := func(ctx context.Context, fn func(discover.Event)) error {
		start := time.Now()
		for i := range events {
			if time.Since(start) > 5*time.Second {
				break // held up by the screen: the test fails below
			}
			fn(discover.Event{Kind: discover.EventUp, Service: svc(fmt.Sprintf("flood-%d", i),
				uint64(i+1), "10.0.0.2")})
			emitted.Add(1)
		}
		took = time.Since(start)
		<-ctx.Done()
		return nil
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, flood, scr, tt.Style{}) }()
	deadline := time.Now().Add(10 * time.Second)
	for emitted.Load() < events && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling a counter
	}
	time.Sleep(200 * time.Millisecond) // the last frame
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	n, shows := emitted.Load(), scr.shows.Load()
	t.Logf("%d events reported in %v, %d frames shown", n, took.Round(time.Millisecond), shows)
	if n != events || took > 2*time.Second {
		t.Errorf("the flood reported %d of %d events in %v: the screen held the Listener up", n, events, took)
	}
	if shows > events/100 {
		t.Errorf("%d frames for %d events, want at most one per 100", shows, events)
	}
}
