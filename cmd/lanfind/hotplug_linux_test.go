package main

import (
	"strings"
	"testing"

	"github.com/lanfind/lanfind/internal/netnstest"
)

// TestNSWatchIfaceDown unplugs the only interface through which "lanfind
// watch" hears a service: the service is reported down with reason
// iface-down, in JSON and in the table.
func TestNSWatchIfaceDown(t *testing.T) {
	t.Parallel()
	// h0 announces on segment 1; h1 and h2 watch on segments 0 and 1.
	lab := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{1}, {0, 1}, {0, 1}}})
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	w := startWatch(t, h1, "--json")
	tw := startWatch(t, h2)
	startAnnouncer(t, h0, "--name", "db", "--port", "5432")
	w.expectEvent(t, "up", "", "db")
	n, _ := tw.waitLine(t, tw.stdout, 0, "up line", func(s string) bool { return strings.HasPrefix(s, "up ") })

	h1.DelLink(t, "eth1")
	w.expectEvent(t, "down", "iface-down", "db")
	h2.DelLink(t, "eth1")
	tw.waitLine(t, tw.stdout, n+1, "down (iface-down) line", func(s string) bool {
		return strings.HasPrefix(s, "down (iface-down) ")
	})
}
