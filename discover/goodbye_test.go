package discover_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

// TestLateDatagramAfterGoodbye: a datagram the announcer sent before its
// goodbye but that is handled after it (a reply reaches the query socket,
// the goodbye the beacon socket, and the two readers race) does not bring
// the service back; a later one (the same Sender running again) does.
// The same holds when the goodbye comes first of all, and a late datagram
// does not undo a newer record (a port changed).
func TestLateDatagramAfterGoodbye(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, _, evs, stop := fakeWatch(t, discover.Config{}, func(ev discover.Event) string {
			return fmt.Sprintf("%v %s %s:%d", ev.Kind, ev.Reason, ev.Service.Name, ev.Service.Port)
		})
		port := uint16(1)
		send := func(kind beacon.Kind, sender uint64, seq uint32, name string) {
			t.Helper()
			inject(t, q, kind, sender, seq, beacon.Service{Instance: sender * 10, Name: name, Port: port,
				TTL: time.Minute})
		}
		expect := func(what string, want ...string) {
			t.Helper()
			expectEvents(t, what, evs, want)
		}
		send(beacon.KindAnnounce, 7, 1, "db")
		send(beacon.KindGoodbye, 7, 3, "db")
		expect("beacon and goodbye", "up  db:1", "down goodbye db:1")
		send(beacon.KindAnnounce, 7, 2, "db")
		expect("a beacon sent before the goodbye")
		send(beacon.KindAnnounce, 7, 4, "db")
		expect("the same sender again, after its goodbye", "up  db:1")
		port = 2
		send(beacon.KindAnnounce, 7, 6, "db")
		expect("a new port", "update  db:2")
		port = 1
		send(beacon.KindAnnounce, 7, 5, "db")
		expect("the old port, sent before the new one")
		send(beacon.KindGoodbye, 8, 2, "web")
		send(beacon.KindAnnounce, 8, 1, "web")
		expect("a goodbye that overtook the beacon")
		stop()
	})
}

// TestSequenceBelief: in clear mode a sequence number far from the
// sender's is believed only when a second datagram continues it; an older
// record a second after a newer one is a contradiction, taken and shown
// as a conflict; a goodbye is remembered for a second only.
func TestSequenceBelief(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, l, evs, stop := fakeWatch(t, discover.Config{}, func(ev discover.Event) string {
			return fmt.Sprintf("%v %s %d %t", ev.Kind, ev.Reason, ev.Service.Port, ev.Service.Conflict)
		})
		send := func(kind beacon.Kind, seq uint32, port uint16) {
			t.Helper()
			inject(t, q, kind, 7, seq, beacon.Service{Instance: 70, Name: "db", Port: port, TTL: time.Hour})
		}
		expect := func(what string, want ...string) {
			t.Helper()
			expectEvents(t, what, evs, want)
		}
		const far = 1 << 30
		type msg struct {
			kind beacon.Kind
			seq  uint32
			port uint16
		}
		ann := func(seq uint32, port uint16) msg { return msg{beacon.KindAnnounce, seq, port} }
		bye := func(seq uint32) msg { return msg{beacon.KindGoodbye, seq, 0} }
		for _, step := range []struct {
			what  string
			after time.Duration // sleep first
			send  []msg
			want  []string
		}{
			{"first beacon", 0, []msg{ann(100, 1)}, []string{"up  1 false"}},
			{"2^30 ahead, alone", 0, []msg{ann(100+far, 2), bye(101 + far/2), ann(101, 1)}, nil},
			{"a jump a second datagram confirms", 0, []msg{ann(200_000, 3), ann(200_001, 3)},
				[]string{"update  3 false"}},
			{"the old line again: back and forth", 2 * time.Second, []msg{ann(102, 1), ann(103, 1)},
				[]string{"update  1 true"}},
			{"an older record within a second", 0, []msg{ann(1103, 3), ann(104, 1)},
				[]string{"update  3 true"}},
			{"an older record a second later", 2 * time.Second, []msg{ann(105, 1)},
				[]string{"update  1 true"}},
			{"a minute without contradiction", time.Minute, []msg{ann(106, 1)},
				[]string{"update  1 false"}},
			{"a record sent before a goodbye", 0, []msg{bye(200), ann(107, 1)},
				[]string{"down goodbye 1 false"}},
			{"a record a second after a goodbye", 2 * time.Second, []msg{ann(108, 1)},
				[]string{"up  1 false"}},
			{"the same record 1000 ahead", 0, []msg{ann(1108, 1)}, nil},
			{"the same record older, a second later", 2 * time.Second, []msg{ann(109, 1)},
				[]string{"update  1 true"}},
		} {
			time.Sleep(step.after)
			for _, m := range step.send {
				send(m.kind, m.seq, m.port)
			}
			expect(step.what, step.want...)
		}
		if st := l.Stats(); st.Implausible != 4 {
			t.Fatalf("got implausible=%d, want 4 (2^30 ahead twice, the first datagram of each jump)",
				st.Implausible)
		}
		stop()
	})
}

// inject delivers a datagram of kind from sender with rec (TTL 0 for a
// goodbye) to q's beacon port, from 10.1.0.5, and waits for the listener.
func inject(t *testing.T, q fakeHost, kind beacon.Kind, sender uint64, seq uint32, rec beacon.Service) {
	t.Helper()
	injectFrom(t, q, "10.1.0.5", kind, sender, seq, rec)
}

// injectFrom is inject from the address src.
func injectFrom(t *testing.T, q fakeHost, src string, kind beacon.Kind, sender uint64, seq uint32,
	rec beacon.Service) {
	t.Helper()
	if kind == beacon.KindGoodbye {
		rec.TTL = 0
	}
	b := beacon.Beacon{Kind: kind, Sender: sender, Seq: seq, Services: []beacon.Service{rec}}
	p, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	from := netip.AddrPortFrom(netip.MustParseAddr(src), beacon.DefaultPort)
	dst := netip.AddrPortFrom(netip.MustParseAddr("10.1.0.255"), beacon.DefaultPort)
	q.h.Inject(2, from, dst, p)
	synctest.Wait()
}

// expectEvents fails unless *evs is want, then empties it.
func expectEvents(t *testing.T, what string, evs *[]string, want []string) {
	t.Helper()
	if !slices.Equal(*evs, want) {
		t.Fatalf("%s: got events %q, want %q", what, *evs, want)
	}
	*evs = nil
}

// fakeWatch runs a listener with cfg on host q (10.1.0.1/24) of a new hub,
// inside a synctest bubble, and records its events as describe writes them.
func fakeWatch(t *testing.T, cfg discover.Config, describe func(discover.Event) string) (q fakeHost,
	l *discover.Listener, evs *[]string, stop func()) {
	t.Helper()
	q = addHost(udptest.NewHub(), "q", "10.1.0.1/24")
	l = q.listener(t, cfg)
	evs = new([]string)
	stop = runListener(t, l, func(ev discover.Event) { *evs = append(*evs, describe(ev)) })
	synctest.Wait()
	return q, l, evs, stop
}
