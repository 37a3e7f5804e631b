package watchtable

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/output"
	tt "github.com/lanfind/lanfind/internal/termtext"
)

// Timing of the live table.
const (
	tick   = time.Second     // ages are redrawn this often
	linger = 5 * time.Second // departures and updates stay marked this long
)

// rowKey identifies a row: an instance restarting under a new sender ID
// keeps its instance ID and address, so it keeps its row.
type rowKey struct {
	instance uint64
	addr     netip.Addr
}

func keyOf(r discover.Result) rowKey { return rowKey{r.Instance, r.Addr} }

type row struct {
	r       discover.Result
	changed time.Time // last up or update event
	updated bool      // the last event was an update
	gone    time.Time // when it went down; zero while it is up
	reason  string    // why it went down
}

// model is the state of the live table. It is owned by one goroutine.
type model struct {
	now    func() time.Time
	st     tt.Style
	rows   map[rowKey]*row
	height int // of the screen in lines; 0: no limit
}

func newModel(st tt.Style, now func() time.Time) *model {
	return &model{now: now, st: st, rows: make(map[rowKey]*row)}
}

// apply records one event. Rows that went down long enough ago stay
// until prune.
func (m *model) apply(ev discover.Event) {
	now := m.now()
	k := keyOf(ev.Service)
	rw := m.rows[k]
	if rw == nil {
		rw = &row{}
		m.rows[k] = rw
	}
	rw.r = ev.Service
	switch {
	case ev.Kind == discover.EventDown:
		rw.gone, rw.reason = now, ev.Reason
	case ev.Kind == discover.EventRefresh && !rw.changed.IsZero():
		// Heard again, unchanged: SEEN (rw.r.LastSeen) moves, the state
		// stays.
	default:
		rw.changed, rw.updated = now, ev.Kind == discover.EventUpdate
		rw.gone, rw.reason = time.Time{}, ""
	}
}

// prune drops the rows of instances that went down linger ago or more.
func (m *model) prune() {
	now := m.now()
	for k, rw := range m.rows {
		if !rw.gone.IsZero() && now.Sub(rw.gone) >= linger {
			delete(m.rows, k)
		}
	}
}

// frame lays out the screen: a title line, a header and one row per
// instance, cut to the screen's height. Untrusted text goes through
// termtext.Clean.
func (m *model) frame() [][]tt.Cell {
	now := m.now()
	var up, down int
	rows := make([]*row, 0, len(m.rows))
	for _, rw := range m.rows {
		rows = append(rows, rw)
		if rw.gone.IsZero() {
			up++
		} else {
			down++
		}
	}
	slices.SortFunc(rows, func(a, b *row) int { return discover.CompareResults(a.r, b.r) })
	title := fmt.Sprintf("lanfind watch: %d up", up)
	if down > 0 {
		title += fmt.Sprintf(", %d gone", down)
	}
	out := [][]tt.Cell{{{Text: title + " (q to quit)", SGR: m.st.Header}}}
	if len(rows) == 0 {
		return append(out, []tt.Cell{{Text: "waiting for services…", SGR: m.st.Dim}})
	}
	more := 0
	if limit := max(m.height-3, 1); m.height > 0 && len(rows) > limit {
		more, rows = len(rows)-limit, rows[:limit]
	}
	t := tt.Table{
		Header: []string{"STATE", "NAME", "TYPE", "ADDRESS", "IFACE", "HOST", "SEEN", "ADDRS"},
	}
	for _, rw := range rows {
		t.Rows = append(t.Rows, m.cells(rw, now))
	}
	out = append(out, t.Lines(m.st)...)
	if more > 0 {
		out = append(out, []tt.Cell{{Text: fmt.Sprintf("… %d more", more), SGR: m.st.Dim}})
	}
	return out
}

// cells returns the cells of one row of the table.
func (m *model) cells(rw *row, now time.Time) []tt.Cell {
	r := rw.r
	state := tt.Cell{Text: "up", SGR: m.st.Up}
	seen := tt.Age(now.Sub(r.LastSeen))
	switch {
	case !rw.gone.IsZero():
		state = tt.Cell{Text: "down: " + tt.Clean(tt.OrDash(rw.reason), 16), SGR: m.st.Down}
		seen = "gone " + tt.Age(now.Sub(rw.gone))
	case rw.updated && now.Sub(rw.changed) < linger:
		state = tt.Cell{Text: "updated", SGR: m.st.Update}
	}
	if r.Conflict {
		state = tt.Cell{Text: state.Text + " " + output.ConflictMark, SGR: m.st.Down}
	}
	var addrs []string
	for _, a := range r.Addrs {
		addrs = append(addrs, a.String())
	}
	return []tt.Cell{
		state,
		{Text: tt.Clean(r.Name, tt.CapName), SGR: m.st.Name},
		tt.OrDashCell(output.TypeText(r), m.st),
		{Text: r.AddrPort().String()},
		tt.OrDashCell(tt.Clean(r.Iface, tt.CapIface), m.st),
		tt.OrDashCell(tt.Clean(r.Host, tt.CapHost), m.st),
		{Text: seen, SGR: m.st.Dim},
		tt.OrDashCell(tt.Truncate(strings.Join(addrs, ","), 48), m.st),
	}
}

// view returns the frame as text with the style's SGR sequences.
func (m *model) view() string { return tt.Render(m.frame(), m.st) }
