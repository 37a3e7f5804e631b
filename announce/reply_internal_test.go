package announce

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/udp"
	"github.com/lanfind/lanfind/internal/udp/udptest"
)

// TestReplyAfterUpdate: a query handled just before an Update (the
// reader matched it against the old records and Run had not queued the
// reply yet) is answered with the records announced when the reply goes:
// no removed service, no old port.
func TestReplyAfterUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pa, pq := netip.MustParsePrefix("10.1.0.2/24"), netip.MustParsePrefix("10.1.0.1/24")
		hub := udptest.NewHub()
		ha := hub.AddHost("a", udptest.Interface{Index: 2, Name: "eth0", Prefix: pa})
		hq := hub.AddHost("q", udptest.Interface{Index: 2, Name: "eth0", Prefix: pq})
		qc, err := hq.Listen(context.Background(), netip.AddrPortFrom(pq.Addr(), 40000), udp.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer qc.Close()
		s, err := New(Config{
			Services: []Service{{Name: "db", Port: 5432}, {Name: "web", Port: 80}},
			Lister: iface.Static{{Index: 2, Name: "eth0", Flags: iface.FlagUp | iface.FlagBroadcast,
				HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Addrs: []iface.Addr{{Prefix: pa, Broadcast: iface.BroadcastOf(pa)}}}},
			NoMulticast: true, Hostname: "a", MachineID: "m",
			Seam: &endpoint.Seam{Listen: ha.Listen},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()

		q := beacon.Beacon{Kind: beacon.KindQuery, Sender: 42, Seq: 1, RequestID: 7, Query: &beacon.Query{}}
		r, ok := s.handle(endpoint.Datagram{
			Beacon: q,
			Src:    qc.LocalAddr(),
			Meta:   udp.Meta{IfIndex: 2, Dst: iface.BroadcastOf(pa)},
			Plan:   s.ep.Plan(),
		})
		if !ok {
			t.Fatal("the query was not answered")
		}
		if err := s.Update([]Service{{Name: "db", Port: 5433}}); err != nil {
			t.Fatal(err)
		}
		s.sendReply(&r)

		buf := make([]byte, beacon.MaxSize+1)
		qc.SetReadDeadline(time.Now().Add(time.Second))
		n, _, _, err := qc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no reply: %v", err)
		}
		b, err := beacon.Parse(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, rec := range b.Services {
			got = append(got, fmt.Sprintf("%s:%d", rec.Name, rec.Port))
		}
		if want := []string{"db:5433"}; b.Kind != beacon.KindReply || !slices.Equal(got, want) {
			t.Fatalf("got %v %v, want a reply %v", b.Kind, got, want)
		}
	})
}

// TestRotateCovers: however the records' sizes cut a capped reply, the
// answers to consecutive attempts of a request start where the previous
// ones could end at the latest, so every record is in some answer within
// one round of attempts, even when the querier lists none as known.
func TestRotateCovers(t *testing.T) {
	for _, n := range []int{1, 5, 128, 129, 200, 1700} {
		recs := make([]beacon.Service, n)
		for i := range recs {
			recs[i] = beacon.Service{Instance: uint64(i), Name: fmt.Sprintf("s%d", i), TTL: time.Second}
			if i%3 == 0 {
				recs[i].Meta = map[string]string{"k": "a longer value that makes this record larger"}
			}
		}
		budget := beacon.MaxSize
		got := map[uint64]bool{}
		for attempt := range 256 {
			for _, r := range packedRecords(rotate(recs, uint8(attempt), budget, MaxReplyDatagrams), budget) {
				got[r.Instance] = true
			}
			if len(got) == n {
				t.Logf("%d records: all answered by attempt %d", n, attempt)
				break
			}
		}
		if len(got) != n {
			t.Errorf("%d records: %d answered in 256 attempts", n, len(got))
		}
	}
}

// packedRecords returns the records a capped reply carries: those of the
// first MaxReplyDatagrams datagrams, packed as Sender.pack packs them.
func packedRecords(recs []beacon.Service, budget int) []beacon.Service {
	var out []beacon.Service
	for range MaxReplyDatagrams {
		n := 0
		for n < len(recs) && n < beacon.MaxServices {
			b := beacon.Beacon{Kind: beacon.KindReply, Services: recs[:n+1]}
			if n > 0 && b.Size() > budget {
				break
			}
			n++
		}
		out, recs = append(out, recs[:n]...), recs[n:]
	}
	return out
}
