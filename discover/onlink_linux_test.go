package discover_test

import (
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/udp"
)

// TestNSOffLinkSource: h2 also holds 10.99.0.5/24, a subnet h0 and h1 do
// not have, and sends from it, as a host behind a router or a forger would.
// The kernel delivers those datagrams (reverse-path filtering is off, so
// only lanfind's own check stands between them and the application): the
// watch on h1 drops the forged announcement and counts it, and the
// announcer on h0 does not answer the query. The same datagrams from h2's
// on-link address are taken, which also shows the off-link ones were
// processed first.
func TestNSOffLinkSource(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	for _, h := range []*netnstest.Host{h0, h1} {
		mustRun(t, h, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
	}
	mustRun(t, h2, "ip", "addr", "add", "10.99.0.5/24", "dev", "eth0")

	sender, _ := startSender(t, announce.Config{Services: []announce.Service{{Name: "a"}}, Interval: time.Hour,
		Lister: h0.Lister(t), ListenPacket: h0.ListenPacket, Logger: slog.New(slog.DiscardHandler)})
	watch, ev, stopWatch := startWatch(t, discover.Config{ListenPacket: h1.ListenPacket, Lister: h1.Lister(t)})
	ev.waitUp(t, "a")

	open := func(src string) udp.Conn {
		c, err := udp.Listen(t.Context(), netip.MustParseAddrPort(src), udp.Options{ListenPacket: h2.ListenPacket})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	far, near := open("10.99.0.5:0"), open(h2.Addr("eth0").String()+":0")
	bcast := netip.AddrPortFrom(h2.Broadcast("eth0"), beacon.DefaultPort)
	announcer := netip.AddrPortFrom(h0.Addr("eth0"), beacon.DefaultPort)
	announce := func(c udp.Conn, name string, id uint64) {
		b := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: id, Seq: 1,
			Services: []beacon.Service{{Instance: id, Name: name, TTL: time.Minute}}}
		p, _ := b.Marshal()
		if _, err := c.WriteTo(p, bcast, 0); err != nil {
			t.Fatalf("send %s from %s: %v", name, c.LocalAddr(), err)
		}
	}
	query := func(c udp.Conn, id uint64) {
		b := beacon.Beacon{Kind: beacon.KindQuery, Sender: id, Seq: 1, RequestID: id, Query: &beacon.Query{Name: "a"}}
		p, _ := b.Marshal()
		if _, err := c.WriteTo(p, announcer, 0); err != nil {
			t.Fatalf("query from %s: %v", c.LocalAddr(), err)
		}
	}

	announce(far, "from-afar", 1)
	query(far, 2)
	announce(near, "from-near", 3)
	query(near, 4)
	ev.waitUp(t, "from-near")
	buf := make([]byte, beacon.MaxSize+1)
	near.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, _, err := near.ReadFrom(buf); err != nil {
		t.Fatalf("no reply to the on-link query: %v", err)
	}
	if ev.isUp("from-afar") {
		t.Error("the watch reported the off-link announcement up")
	}
	if st := watch.Stats(); st.OffLink != 1 {
		t.Errorf("watch off_link = %d, want 1", st.OffLink)
	}
	if st := sender.Stats(); st.BadSource != 1 || st.SendErrors != 0 {
		t.Errorf("announcer bad_source = %d, send_errors = %d; want 1 (the off-link query) and 0",
			st.BadSource, st.SendErrors)
	}
	far.SetReadDeadline(time.Now()) // the reply to near came after any reply to far would have
	if n, src, _, err := far.ReadFrom(buf); err == nil {
		t.Errorf("the off-link source got %d bytes from %s", n, src)
	}
	stopWatch()
}

// TestNSSameHostReply: a querier on the announcer's own host is a
// neighbour too. Its queries come back over loopback, and the reply,
// written with MSG_DONTROUTE to one of the host's own addresses, arrives
// on lo: it is mapped to the interface owning the address and counts as
// on-link.
func TestNSSameHostReply(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 1)
	h0 := lab.Hosts[0]
	sender, _ := startSender(t, announce.Config{Services: []announce.Service{{Name: "self"}}, Interval: time.Hour,
		Lister: h0.Lister(t), ListenPacket: h0.ListenPacket})
	rs, st := labCollect(t, h0) // the only beacon went before it existed: this is a reply
	if len(rs) != 1 || rs[0].Name != "self" || rs[0].Addr != h0.Addr("eth0") || rs[0].Iface != "eth0" {
		t.Fatalf("got %d results %+v, want self from %s on eth0", len(rs), rs, h0.Addr("eth0"))
	}
	if ast := sender.Stats(); st.OffLink != 0 || st.OtherIface != 0 || ast.Replies == 0 || ast.SendErrors != 0 {
		t.Fatalf("got listener off_link=%d other_iface=%d, announcer replies=%d send_errors=%d; want 0, 0, >0, 0",
			st.OffLink, st.OtherIface, ast.Replies, ast.SendErrors)
	}
}
