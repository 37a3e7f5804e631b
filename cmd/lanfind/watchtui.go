package main

// The live table "lanfind watch" shows on a terminal, drawn with tcell.
// The model (watchModel: apply an event, prune, lay out) is plain data and
// code, testable without a terminal; draw puts a frame on any tcell.Screen,
// so tests use tcell's simulation screen; runWatchTUI is the loop.

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/lanfind/lanfind/discover"
)

// Timing of the live table.
const (
	tuiTick   = time.Second     // ages are redrawn this often
	tuiLinger = 5 * time.Second // departures and updates stay marked this long
)

// rowKey identifies a row: an instance restarting under a new sender ID
// keeps its instance ID and address, so it keeps its row.
type rowKey struct {
	instance uint64
	addr     netip.Addr
}

type watchRow struct {
	r       discover.Result
	changed time.Time // last up or update event
	updated bool      // the last event was an update
	gone    time.Time // when it went down; zero while it is up
	reason  string    // why it went down
}

// watchModel is the state of the live table. It is owned by one goroutine.
type watchModel struct {
	now    func() time.Time
	st     style
	rows   map[rowKey]*watchRow
	height int // of the screen in lines; 0: no limit
}

func newWatchModel(st style, now func() time.Time) *watchModel {
	return &watchModel{now: now, st: st, rows: make(map[rowKey]*watchRow)}
}

// apply records one event.
func (m *watchModel) apply(ev discover.Event) {
	now := m.now()
	k := rowKey{ev.Service.Instance, ev.Service.Addr}
	row := m.rows[k]
	if row == nil {
		row = &watchRow{}
		m.rows[k] = row
	}
	row.r = ev.Service
	if ev.Kind == discover.EventDown {
		row.gone, row.reason = now, ev.Reason
	} else {
		row.changed, row.updated = now, ev.Kind == discover.EventUpdate
		row.gone, row.reason = time.Time{}, ""
	}
	m.prune()
}

// prune drops the rows of instances that went down tuiLinger ago or more.
func (m *watchModel) prune() {
	now := m.now()
	for k, row := range m.rows {
		if !row.gone.IsZero() && now.Sub(row.gone) >= tuiLinger {
			delete(m.rows, k)
		}
	}
}

// frame lays out the screen: a title line, a header and one row per
// instance, cut to the screen's height. Untrusted text goes through clean.
func (m *watchModel) frame() [][]cell {
	now := m.now()
	var up, down int
	rows := make([]*watchRow, 0, len(m.rows))
	for _, row := range m.rows {
		rows = append(rows, row)
		if row.gone.IsZero() {
			up++
		} else {
			down++
		}
	}
	slices.SortFunc(rows, func(a, b *watchRow) int { return discover.CompareResults(a.r, b.r) })
	title := fmt.Sprintf("lanfind watch: %d up", up)
	if down > 0 {
		title += fmt.Sprintf(", %d gone", down)
	}
	out := [][]cell{{{title + " (q to quit)", m.st.header}}}
	if len(rows) == 0 {
		return append(out, []cell{{"waiting for services…", m.st.dim}})
	}
	more := 0
	if limit := max(m.height-3, 1); m.height > 0 && len(rows) > limit {
		more, rows = len(rows)-limit, rows[:limit]
	}
	t := table{header: []string{"STATE", "NAME", "TYPE", "ADDRESS", "IFACE", "HOST", "SEEN", "ADDRS"}}
	for _, row := range rows {
		r := row.r
		state := cell{"up", m.st.up}
		seen := age(now.Sub(r.LastSeen))
		switch {
		case !row.gone.IsZero():
			state = cell{"down: " + clean(orDash(row.reason), 16), m.st.down}
			seen = "gone " + age(now.Sub(row.gone))
		case row.updated && now.Sub(row.changed) < tuiLinger:
			state = cell{"updated", m.st.update}
		}
		if r.Conflict {
			state = cell{state.text + " (conflict)", m.st.down}
		}
		var addrs []string
		for _, a := range r.Addrs {
			addrs = append(addrs, a.String())
		}
		t.rows = append(t.rows, []cell{
			state,
			{clean(r.Name, capName), m.st.name},
			orDashCell(clean(r.Type, capType), m.st),
			{r.AddrPort().String(), ""},
			orDashCell(clean(r.Iface, capIface), m.st),
			orDashCell(clean(r.Host, capHost), m.st),
			{seen, m.st.dim},
			orDashCell(truncate(strings.Join(addrs, ","), 48), m.st),
		})
	}
	out = append(out, t.lines(m.st)...)
	if more > 0 {
		out = append(out, []cell{{fmt.Sprintf("… %d more", more), m.st.dim}})
	}
	return out
}

// View returns the frame as text with the style's SGR sequences.
func (m *watchModel) View() string {
	var b strings.Builder
	for _, l := range m.frame() {
		for _, c := range l {
			b.WriteString(m.st.paint(c.sgr, c.text))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// draw puts the frame on s and shows it. s clips what does not fit.
func (m *watchModel) draw(s tcell.Screen) {
	_, m.height = s.Size()
	s.Clear()
	for y, l := range m.frame() {
		x := 0
		for _, c := range l {
			s.PutStrStyled(x, y, c.text, tcellStyle(c.sgr))
			x += textWidth(c.text)
		}
	}
	s.Show()
}

// tcellStyle maps the SGR sequences of style to tcell's styles.
func tcellStyle(sgr string) tcell.Style {
	st := tcell.StyleDefault
	switch sgr {
	case "1":
		st = st.Bold(true)
	case "2":
		st = st.Dim(true)
	case "31":
		st = st.Foreground(tcell.ColorMaroon)
	case "32":
		st = st.Foreground(tcell.ColorGreen)
	case "33":
		st = st.Foreground(tcell.ColorOlive)
	}
	return st
}

// quitKey reports whether ev asks the live table to end: q, Esc or Ctrl-C
// (the terminal is in raw mode, so Ctrl-C is a key, not SIGINT).
func quitKey(ev *tcell.EventKey) bool {
	return ev.Key() == tcell.KeyEscape || ev.Key() == tcell.KeyCtrlC || (ev.Key() == tcell.KeyRune && ev.Rune() == 'q')
}

// runWatchTUI shows the live table on s, which Init has set up, until ctx
// ends, the user quits or l.Run fails. It calls s.Fini.
func runWatchTUI(ctx context.Context, l *discover.Listener, s tcell.Screen, st style) error {
	defer s.Fini()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	events := make(chan discover.Event)
	runDone := make(chan error, 1)
	go func() {
		runDone <- l.Run(ctx, func(ev discover.Event) {
			select {
			case events <- ev:
			case <-ctx.Done():
			}
		})
	}()
	keys := make(chan tcell.Event, 16)
	stopKeys := make(chan struct{})
	go s.ChannelEvents(keys, stopKeys)
	defer func() {
		close(stopKeys)
		for range keys { // ChannelEvents closes keys when it returns
		}
	}()

	ticker := time.NewTicker(tuiTick)
	defer ticker.Stop()
	m := newWatchModel(st, time.Now)
	for {
		m.draw(s)
		select {
		case ev := <-events:
			m.apply(ev)
		case <-ticker.C:
			m.prune()
		case ev := <-keys:
			switch ev := ev.(type) {
			case *tcell.EventKey:
				if quitKey(ev) {
					cancel()
					return <-runDone
				}
			case *tcell.EventResize:
				s.Sync()
			}
		case err := <-runDone:
			return err
		}
	}
}
