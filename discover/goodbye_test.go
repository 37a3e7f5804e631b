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
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		l := q.listener(t, discover.Config{})
		var evs []string
		stop := runListener(t, l, func(ev discover.Event) {
			evs = append(evs, fmt.Sprintf("%v %s %s:%d", ev.Kind, ev.Reason, ev.Service.Name, ev.Service.Port))
		})
		synctest.Wait()
		src := netip.MustParseAddrPort("10.1.0.5:28471")
		dst := netip.AddrPortFrom(netip.MustParseAddr("10.1.0.255"), beacon.DefaultPort)
		port := uint16(1)
		send := func(kind beacon.Kind, sender uint64, seq uint32, name string) {
			t.Helper()
			ttl := time.Minute
			if kind == beacon.KindGoodbye {
				ttl = 0
			}
			b := beacon.Beacon{Kind: kind, Sender: sender, Seq: seq,
				Services: []beacon.Service{{Instance: sender * 10, Name: name, Port: port, TTL: ttl}}}
			p, err := b.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			q.h.Inject(2, src, dst, p)
			synctest.Wait()
		}
		expect := func(what string, want ...string) {
			t.Helper()
			if !slices.Equal(evs, want) {
				t.Fatalf("%s: got events %q, want %q", what, evs, want)
			}
			evs = nil
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
