package watchtable

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/netnstest"
	tt "github.com/lanfind/lanfind/internal/termtext"
)

// snapScreen is a simulation screen that keeps the text of each frame it
// shows, taken on the goroutine that draws, and signals it on shown.
type snapScreen struct {
	tcell.SimulationScreen
	shown chan struct{} // receives after each Show, without blocking it

	// mu guards text.
	mu   sync.Mutex
	text []string
}

func (s *snapScreen) Show() {
	s.SimulationScreen.Show()
	lines := screenLines(s.SimulationScreen)
	s.mu.Lock()
	s.text = lines
	s.mu.Unlock()
	select {
	case s.shown <- struct{}{}:
	default:
	}
}

// row returns the line of the last frame that shows the service name, or "".
func (s *snapScreen) row(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.text {
		if strings.Contains(l, " "+name+" ") {
			return l
		}
	}
	return ""
}

// TestNSLiveTableSeen checks, over real broadcast and multicast, that the
// live table's SEEN column is the age of the last beacon: an announcer
// that beacons every 200ms is seen "now" seconds after it came up, not
// "2s ago" as when SEEN counted from the up event.
func TestNSLiveTableSeen(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	snd, err := announce.New(announce.Config{
		Services:     []announce.Service{{Name: "db", Type: "postgres", Port: 5432}},
		Interval:     200 * time.Millisecond,
		ListenPacket: h1.ListenPacket,
		Lister:       h1.Lister(t),
	})
	if err != nil {
		t.Fatalf("announce.New: %v", err)
	}
	t.Cleanup(func() { snd.Close() })
	l, err := discover.New(discover.Config{
		Refreshes:    true,
		ListenPacket: h0.ListenPacket,
		Lister:       h0.Lister(t),
	})
	if err != nil {
		t.Fatalf("discover.New: %v", err)
	}
	t.Cleanup(func() { l.Close() })

	scr := &snapScreen{
		SimulationScreen: tcell.NewSimulationScreen("UTF-8"),
		shown:            make(chan struct{}, 1),
	}
	if err := scr.Init(); err != nil {
		t.Fatal(err)
	}
	scr.SetSize(120, 10)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sndDone, tableDone := make(chan error, 1), make(chan error, 1)
	go func() { sndDone <- snd.Run(ctx) }()
	go func() { tableDone <- run(ctx, l.Run, scr, tt.Style{}) }()

	// Wait for the row, then for a frame drawn 2.5s later.
	deadline := time.After(10 * time.Second)
	var up time.Time
	for {
		select {
		case <-scr.shown:
		case err := <-tableDone:
			t.Fatalf("live table ended early: %v", err)
		case <-deadline:
			t.Fatalf("no frame with db 2.5s after it came up; last row %q", scr.row("db"))
		}
		row := scr.row("db")
		if row == "" {
			continue
		}
		if up.IsZero() {
			up = time.Now()
		}
		if time.Since(up) < 2500*time.Millisecond {
			continue
		}
		if !strings.HasPrefix(row, "up ") || !strings.Contains(row, " now ") {
			t.Errorf("db row 2.5s after up: got %q, want state up and SEEN now", row)
		}
		break
	}
	cancel()
	if err := <-tableDone; err != nil {
		t.Errorf("live table: %v", err)
	}
	if err := <-sndDone; err != nil {
		t.Errorf("announce Run: %v", err)
	}
}
