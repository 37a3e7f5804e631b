package discover_test

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

// TestRefreshEvents checks that with Config.Refreshes, Run reports every
// beacon that refreshes an instance unchanged as EventRefresh with a later
// LastSeen (once per beacon, not per copy), and that without it Run reports
// only the change.
func TestRefreshEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		a := addHost(hub, "a", "10.1.0.2/24")
		var mu sync.Mutex
		got := map[bool][]discover.Event{} // by Config.Refreshes
		for _, refreshes := range []bool{false, true} {
			l := q.listener(t, discover.Config{Refreshes: refreshes})
			runListener(t, l, func(ev discover.Event) {
				mu.Lock()
				got[refreshes] = append(got[refreshes], ev)
				mu.Unlock()
			})
		}
		synctest.Wait() // both listen before anything is announced
		const interval = time.Second
		run(t, a.sender(t, announce.Config{
			Interval: interval,
			Services: []announce.Service{{Name: "db", Port: 5432}},
		}))
		time.Sleep(3*interval + interval/2)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()

		if evs := got[false]; len(evs) != 1 || evs[0].Kind != discover.EventUp {
			t.Errorf("without Refreshes: got %v, want one up event", evs)
		}
		evs := got[true]
		// Beacons at 0 and 1s (the repeat of a start), 2s and 3s.
		if len(evs) != 4 || evs[0].Kind != discover.EventUp {
			t.Fatalf("with Refreshes: got %d events %v, want up and 3 refreshes", len(evs), evs)
		}
		for i, ev := range evs[1:] {
			prev := evs[i].Service.LastSeen
			if ev.Kind != discover.EventRefresh || ev.Kind.String() != "refresh" {
				t.Errorf("event %d: got %v, want refresh", i+1, ev.Kind)
			}
			if !ev.Service.LastSeen.After(prev) {
				t.Errorf("event %d: LastSeen %v, want after %v", i+1, ev.Service.LastSeen, prev)
			}
			if ev.Service.Name != "db" || ev.Service.Port != 5432 {
				t.Errorf("event %d: got %s port %d, want db port 5432",
					i+1, ev.Service.Name, ev.Service.Port)
			}
		}
	})
}
