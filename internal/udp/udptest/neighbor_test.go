package udptest_test

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/lanfind/lanfind/internal/udp"
)

func TestWriteToNeighbor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, a, b, _ := lan()
		rb := listen(t, b, wild(port), udp.Options{})
		ta := listen(t, a, wild(0), udp.Options{})
		if _, err := ta.WriteToNeighbor([]byte("hi"), netip.AddrPortFrom(bAddr, port), 2); err != nil {
			t.Fatalf("WriteToNeighbor to b: %v", err)
		}
		if g := read(t, rb); g.msg != "hi" || g.src.Addr() != aAddr {
			t.Fatalf("got %q from %s, want %q from %s", g.msg, g.src, "hi", aAddr)
		}
		for _, tc := range []struct {
			dst     string
			ifIndex int
			want    error
		}{
			{"10.0.0.255:28471", 2, syscall.EINVAL},
			{"255.255.255.255:28471", 2, syscall.EINVAL},
			{"239.255.70.70:28471", 2, syscall.EINVAL},
			{"0.0.0.0:28471", 2, syscall.EINVAL},
			{"10.0.0.2:0", 2, syscall.EINVAL},
			{"192.168.1.3:28471", 2, syscall.ENETUNREACH}, // c, but not on eth0's link
			{"10.9.9.9:28471", 0, syscall.ENETUNREACH},
		} {
			if _, err := ta.WriteToNeighbor([]byte("no"), netip.MustParseAddrPort(tc.dst), tc.ifIndex); !errors.Is(err, tc.want) {
				t.Errorf("WriteToNeighbor to %s via %d: got %v, want %v", tc.dst, tc.ifIndex, err, tc.want)
			}
		}
		none(t, "b after refused writes", rb)
	})
}
