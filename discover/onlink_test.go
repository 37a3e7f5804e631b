package discover_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

// TestOffLinkSourcesAreDropped: a datagram whose source lies outside the
// subnets of the interface it arrived on (routed here, or forged) is
// dropped and counted, while the same beacon from a neighbour is taken.
func TestOffLinkSourcesAreDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := udptest.NewHub()
		q := addHost(hub, "q", "10.1.0.1/24")
		l := q.listener(t, discover.Config{})
		var ups []string
		stop := runListener(t, l, func(ev discover.Event) {
			if ev.Kind == discover.EventUp {
				ups = append(ups, ev.Service.Name+" from "+ev.Service.Addr.String())
			}
		})
		synctest.Wait()
		dst := netip.AddrPortFrom(netip.MustParseAddr("10.1.0.255"), beacon.DefaultPort)
		for i, src := range []string{"10.9.0.5", "10.1.1.5", "0.0.0.0", "192.168.1.7", "10.1.0.5"} {
			b := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: uint64(100 + i), Seq: 1,
				Services: []beacon.Service{{Instance: uint64(100 + i), Name: "svc", TTL: time.Minute}}}
			p, err := b.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			q.h.Inject(2, netip.AddrPortFrom(netip.MustParseAddr(src), beacon.DefaultPort), dst, p)
			synctest.Wait()
		}
		// A reply to the listener's own query, from afar, is dropped too.
		qaddr := netip.AddrPortFrom(q.addr, l.QueryAddr().Port())
		q.h.Inject(2, netip.MustParseAddrPort("10.200.0.9:28471"), qaddr, []byte("not even a beacon"))
		synctest.Wait()
		stop()
		if len(ups) != 1 || ups[0] != "svc from 10.1.0.5" {
			t.Errorf("got ups %q, want only svc from the neighbour 10.1.0.5", ups)
		}
		if st := l.Stats(); st.OffLink != 5 || st.Accepted != 1 || st.Foreign != 0 {
			t.Errorf("got off_link=%d accepted=%d foreign=%d, want 5, 1, 0 (off-link datagrams are dropped before parsing)",
				st.OffLink, st.Accepted, st.Foreign)
		}
	})
}
