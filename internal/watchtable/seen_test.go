package watchtable

import (
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/lanfind/lanfind/discover"
	tt "github.com/lanfind/lanfind/internal/termtext"
)

// TestSeenFollowsRefreshes checks that SEEN is the age of the last beacon
// or answer: a refresh moves it, and leaves the row's state (a recent
// update stays marked) alone.
func TestSeenFollowsRefreshes(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	m := newModel(tt.Style{}, clock.now)
	db := svc("db", 1, "10.0.0.2")
	db.LastSeen = clock.t
	m.apply(discover.Event{Kind: discover.EventUp, Service: db})

	clock.t = clock.t.Add(10 * time.Second)
	m.prune()
	if row := rowOf(m.view(), "db"); !strings.Contains(row, " 10s ago ") {
		t.Fatalf("db row 10s after its only beacon: got %q, want 10s ago", row)
	}
	db.LastSeen = clock.t
	m.apply(discover.Event{Kind: discover.EventRefresh, Service: db})
	row := rowOf(m.view(), "db")
	if !strings.HasPrefix(row, "up ") || !strings.Contains(row, " now ") {
		t.Errorf("db row after a refresh: got %q, want up, seen now", row)
	}

	// An update stays marked through the refreshes that follow it.
	clock.t = clock.t.Add(time.Second)
	db.Meta, db.LastSeen = map[string]string{"v": "2"}, clock.t
	m.apply(discover.Event{Kind: discover.EventUpdate, Service: db})
	clock.t = clock.t.Add(2 * time.Second)
	db.LastSeen = clock.t
	m.apply(discover.Event{Kind: discover.EventRefresh, Service: db})
	if row := rowOf(m.view(), "db"); !strings.HasPrefix(row, "updated ") {
		t.Errorf("db row after update and refresh: got %q, want updated", row)
	}
	clock.t = clock.t.Add(linger)
	m.prune()
	if row := rowOf(m.view(), "db"); !strings.HasPrefix(row, "up ") ||
		!strings.Contains(row, " 5s ago ") {
		t.Errorf("db row later: got %q, want up, 5s ago", row)
	}
}

// screenLines returns the text on s, a line per row without trailing
// spaces. Call it on the goroutine that draws on s.
func screenLines(s tcell.SimulationScreen) []string {
	cells, w, h := s.GetContents()
	var lines []string
	for y := range h {
		var b strings.Builder
		for x := range w {
			b.WriteString(string(cells[y*w+x].Runes))
		}
		lines = append(lines, strings.TrimRight(b.String(), " "))
	}
	return lines
}
