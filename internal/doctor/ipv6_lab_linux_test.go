package doctor_test

import (
	"strings"
	"testing"

	"github.com/lanfind/lanfind/internal/doctor"
	"github.com/lanfind/lanfind/internal/netnstest"
)

// TestNSDoctorIPv6 runs the checks on an IPv6-only host: the IPv6 socket
// opens, the group is joined and listed by the kernel, and the probe comes
// back by IPv6 multicast; nothing is a problem.
func TestNSDoctorIPv6(t *testing.T) {
	t.Parallel()
	lab := netnstest.NewStacks(t, netnstest.StackIPv6)
	h := lab.Hosts[0]
	lister := h.Lister(t)
	var fs []doctor.Finding
	var err error
	h.Do(t, func() { fs, err = doctor.Run(t.Context(), doctor.Config{Lister: lister}) })
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, f := range fs {
		text = append(text, f.Level+" ["+f.Check+"] "+f.Message)
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{
		"ok [ipv6] UDP port 28471 can be bound on IPv6; interfaces with IPv6: eth0",
		"ok [multicast] joined ff02::efff:4646 on eth0 (the kernel lists the membership)",
		"ok [self] eth0 hears its own probe: multicast to ff02::efff:4646",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("findings lack %q:\n%s", want, all)
		}
	}
	if n := doctor.Problems(fs); n != 0 {
		t.Errorf("got %d problems, want 0:\n%s", n, all)
	}
}
