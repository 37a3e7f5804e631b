package discover

import (
	"context"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/ifacetest"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

// TestPacketBeforeIfaceNotice: a datagram that arrived on an interface
// just selected (the reader already accepts it) reaches the operation
// before the notice of the change does; it is taken, not dropped as from
// an interface not selected.
func TestPacketBeforeIfaceNotice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p0, p1 := netip.MustParsePrefix("10.1.0.1/24"), netip.MustParsePrefix("10.2.0.1/24")
		hub := udptest.NewHub()
		h := hub.AddHost("q", udptest.Interface{Index: 2, Name: "eth0", Prefix: p0}, udptest.Interface{Index: 3, Name: "eth1", Prefix: p1})
		flags := iface.FlagUp | iface.FlagRunning | iface.FlagBroadcast | iface.FlagMulticast
		eth0 := iface.Interface{Index: 2, Name: "eth0", Flags: flags, Addrs: []iface.Addr{{Prefix: p0, Broadcast: iface.BroadcastOf(p0)}}}
		eth1 := iface.Interface{Index: 3, Name: "eth1", Flags: flags, Addrs: []iface.Addr{{Prefix: p1, Broadcast: iface.BroadcastOf(p1)}}}
		lister := ifacetest.New(eth0)
		l, err := New(Config{Lister: lister, Seam: &endpoint.Seam{Listen: h.Listen}})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		l.watch() // as Run does
		var ups []string
		s := l.newSession(func(ev Event) {
			if ev.Kind == EventUp {
				ups = append(ups, ev.Service.Name+" "+ev.Service.Iface)
			}
		})

		lister.Set(eth0, eth1)
		time.Sleep(endpoint.Settle)
		synctest.Wait()
		<-l.netChanged // as if the notice were not sent yet
		b := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: 9, Seq: 1, Services: []beacon.Service{{Instance: 9, Name: "b", TTL: time.Minute}}}
		l.in <- packet{b: b, src: netip.MustParseAddrPort("10.2.0.20:28471"), m: udp.Meta{IfIndex: 3}, at: time.Now()}
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		l.loop(ctx, s, nil, nil)
		if len(ups) != 1 || ups[0] != "b eth1" {
			t.Fatalf("got ups %q, want b on eth1; stats %+v", ups, l.Stats())
		}
	})
}

// TestGoodbyesCapped: the goodbyes a session remembers stay at most
// maxByes however many come, and a later goodbye of one instance and
// sender replaces its earlier one.
func TestGoodbyesCapped(t *testing.T) {
	s := &session{byes: map[instanceSender]goodbyeMark{}, byeMemory: reorderHorizon}
	now := time.Now()
	for i := range uint64(3 * maxByes) {
		s.noteGoodbye(i, 1, 5, now)
	}
	if len(s.byes) != maxByes {
		t.Fatalf("remembers %d goodbyes, want %d", len(s.byes), maxByes)
	}
	k := instanceSender{1, 2}
	for _, seq := range []uint32{1<<32 - 2, 3, 2} { // 3 comes after the wrap
		s.noteGoodbye(k.instance, k.sender, seq, now)
	}
	if got := s.byes[k].seq; got != 3 {
		t.Fatalf("latest goodbye of one instance: got seq %d, want 3", got)
	}
}
