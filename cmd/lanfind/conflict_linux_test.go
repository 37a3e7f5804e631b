package main

import (
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/netnstest"
)

// impostor announces, from host h, the service name that a genuine
// announcer announces (learnt from its clear beacons) under the same
// instance ID, with its own address and port 6666: a cloned machine, or an
// attacker. It answers every query and beacons every 200ms until the test
// ends.
func impostor(t *testing.T, h *netnstest.Host, name string) {
	t.Helper()
	pc, err := h.ListenPacket(t.Context(), "udp4", ":28471")
	if err != nil {
		t.Fatal(err)
	}
	c := pc.(*net.UDPConn)
	t.Cleanup(func() { c.Close() })
	bcast := netip.AddrPortFrom(h.Broadcast("eth0"), beacon.DefaultPort)
	var seq atomic.Uint32
	var fake atomic.Pointer[beacon.Service]
	send := func(kind beacon.Kind, request uint64, dst netip.AddrPort) {
		rec := fake.Load()
		if rec == nil {
			return
		}
		b := beacon.Beacon{Kind: kind, Sender: 666, Seq: seq.Add(1), RequestID: request,
			Services: []beacon.Service{*rec}}
		if p, err := b.Marshal(); err == nil {
			c.WriteToUDPAddrPort(p, dst) // a lost datagram is as good as a late one here
		}
	}
	go func() {
		buf := make([]byte, beacon.MaxSize+1)
		for {
			n, src, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			b, err := beacon.Parse(buf[:n])
			switch {
			case err != nil || b.Sender == 666:
			case b.Kind == beacon.KindQuery:
				send(beacon.KindReply, b.RequestID, src)
			case b.Kind == beacon.KindAnnounce && fake.Load() == nil:
				for _, rec := range b.Services {
					if rec.Name == name {
						rec.Port, rec.Host, rec.Addrs = 6666, "impostor", []netip.Addr{h.Addr("eth0")}
						fake.Store(&rec)
					}
				}
			}
		}
	}()
	go func() {
		for {
			select {
			case <-t.Context().Done():
				return
			case <-time.After(200 * time.Millisecond):
				send(beacon.KindAnnounce, 0, bcast)
			}
		}
	}()
	waitUntil(t, "the impostor learnt "+name, func() bool { return fake.Load() != nil })
}

// waitUntil polls cond until it holds or 5 seconds pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5s: still waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling, not waiting for an event
	}
}

// TestNSConflictShown: a second announcer of db under the same instance
// ID (an impostor) is marked as a conflict in every human format: the list
// table and the watch lines mark both rows, and resolve refuses to choose
// (exit 1, saying why) instead of printing either address.
func TestNSConflictShown(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	startAnnouncer(t, h1, "--name", "db", "--port", "5432", "--interval", "200ms")
	impostor(t, h2, "db")

	r := runCode(t, h0, 0, "list", "--no-color")
	var rows []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "db") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 2 || !strings.Contains(rows[0], "conflict") || !strings.Contains(rows[1], "conflict") {
		t.Errorf("list table: got db rows %q, want two, each marked conflict", rows)
	}

	w := start(t, h0, "watch", "--lines", "--no-color")
	marked := map[string]bool{}
	for len(marked) < 2 {
		l := w.nextLine(t, "a watch line")
		if f := strings.Fields(l); strings.Contains(l, " db ") && strings.Contains(l, "conflict") && len(f) > 3 {
			for _, f := range f {
				if strings.HasSuffix(f, ":5432") || strings.HasSuffix(f, ":6666") {
					marked[f] = true
				}
			}
		}
	}

	contested := 0
	for range 5 {
		r := runIn(t, h0, "resolve", "db")
		if r.code == 1 && r.stdout == "" && strings.Contains(r.stderr, "conflict") {
			contested++
		} else {
			t.Logf("resolve db: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	}
	if contested != 5 {
		t.Errorf("resolve db refused %d times of 5, want every time (exit 1, a conflict said)",
			contested)
	}
}
