package main

import (
	"strings"
	"testing"

	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/netnstest"
)

// TestNSWatchTerminalMDNSFamily: the live table of "lanfind watch" shows
// what the lines would print. With --mdns it has the services Avahi
// publishes, marked "(mdns)", beside lanfind's own; with --family 6 a
// dual-stack announcer's address is its IPv6 one. (Before, the table
// showed neither: it was fed by lanfind's listener alone, unfiltered.)
func TestNSWatchTerminalMDNSFamily(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewStacks(t, netnstest.StackDual, netnstest.StackDual)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	mdnslab.StartAvahi(t, h1, "printhost", mdnslab.Service{Name: "Office Printer", Type: "_ipp._tcp", Port: 631})
	startAnnouncer(t, h1, "--name", "db", "--type", "postgres", "--port", "5432", "--interval", "200ms")

	for _, c := range []struct {
		args []string
		want []string // words the table shows (tcell moves the cursor over spaces)
		not  string   // and one it does not
	}{
		{[]string{"watch", "--mdns"}, []string{"Printer", "ipp", "(mdns)", addrPort(h1, 5432)}, ""},
		{[]string{"watch", "--family", "6"}, []string{"[" + h1.Addr6("eth0").String() + "]:5432"}, h1.Addr("eth0").String()},
	} {
		desc := "lanfind " + strings.Join(c.args, " ") + " on a terminal"
		p, out, stdin := startOnTerminal(t, h0, desc, true, c.args...)
		for _, w := range c.want {
			waitOutput(t, p, out, w)
		}
		s := quitTerminal(t, p, out, stdin)
		if c.not != "" && strings.Contains(s, c.not) {
			t.Errorf("%s: the table shows %s; output:\n%q", p.desc, c.not, s)
		}
	}
}
