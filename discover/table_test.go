package discover_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/discover"
)

// TestSourceShare: one source address may hold a quarter of the table;
// its new instances past that replace its own least recently heard ones,
// and a newcomer from another source finds room.
func TestSourceShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, l, evs, stop := fakeWatch(t, discover.Config{MaxEntries: 40}, func(ev discover.Event) string {
			return fmt.Sprintf("%v %s %s", ev.Kind, ev.Reason, ev.Service.Name)
		})
		var want []string
		for i := range 30 {
			time.Sleep(time.Millisecond) // f0 is the least recently heard
			name := fmt.Sprintf("f%d", i)
			inject(t, q, beacon.KindAnnounce, uint64(100+i), 1, beacon.Service{Instance: uint64(i + 1),
				Name: name, TTL: time.Hour})
			if i >= 10 {
				want = append(want, fmt.Sprintf("down evicted f%d", i-10))
			}
			want = append(want, "up  "+name)
		}
		injectFrom(t, q, "10.1.0.6", beacon.KindAnnounce, 7, 1, beacon.Service{Instance: 7000,
			Name: "other", TTL: time.Hour})
		want = append(want, "up  other")
		expectEvents(t, "30 instances from one source, then one from another", evs, want)
		if st := l.Stats(); st.Evicted != 20 || st.TableFull != 0 {
			t.Fatalf("got evicted=%d table_full=%d, want 20 and 0", st.Evicted, st.TableFull)
		}
		stop()
	})
}
