package udp_test

import (
	"context"
	"net"
	"testing"

	"github.com/lanfind/lanfind/internal/udp"
	"golang.org/x/sys/unix"
)

func TestSocketOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    udp.Options
		want map[string]int // SO_RCVBUF: at least (Linux doubles it)
	}{
		{"defaults", udp.Options{}, map[string]int{"IP_MULTICAST_TTL": 1, "IP_MULTICAST_LOOP": 1}},
		{"set", udp.Options{MulticastTTL: 4, NoMulticastLoopback: true, ReadBuffer: 100000},
			map[string]int{"IP_MULTICAST_TTL": 4, "IP_MULTICAST_LOOP": 0, "SO_RCVBUF": 100000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var uc *net.UDPConn
			tc.o.ListenPacket = func(ctx context.Context, network, address string) (net.PacketConn, error) {
				pc, err := udp.ListenConfig().ListenPacket(ctx, network, address)
				uc, _ = pc.(*net.UDPConn)
				return pc, err
			}
			listen(t, localhost, tc.o)
			want := map[string]int{
				"SO_REUSEADDR":     1,
				"SO_REUSEPORT":     1,
				"SO_BROADCAST":     1,
				"IP_MTU_DISCOVER":  unix.IP_PMTUDISC_DO,
				"IP_PKTINFO":       1,
				"IP_MULTICAST_ALL": 0,
			}
			for k, v := range tc.want {
				want[k] = v
			}
			opts := map[string][2]int{
				"SO_REUSEADDR":      {unix.SOL_SOCKET, unix.SO_REUSEADDR},
				"SO_REUSEPORT":      {unix.SOL_SOCKET, unix.SO_REUSEPORT},
				"SO_BROADCAST":      {unix.SOL_SOCKET, unix.SO_BROADCAST},
				"SO_RCVBUF":         {unix.SOL_SOCKET, unix.SO_RCVBUF},
				"IP_MTU_DISCOVER":   {unix.IPPROTO_IP, unix.IP_MTU_DISCOVER},
				"IP_PKTINFO":        {unix.IPPROTO_IP, unix.IP_PKTINFO},
				"IP_MULTICAST_TTL":  {unix.IPPROTO_IP, unix.IP_MULTICAST_TTL},
				"IP_MULTICAST_LOOP": {unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP},
				"IP_MULTICAST_ALL":  {unix.IPPROTO_IP, unix.IP_MULTICAST_ALL},
			}
			rc, err := uc.SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			for name, v := range want {
				o := opts[name]
				var got int
				var gerr error
				if err := rc.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), o[0], o[1]) }); err != nil {
					t.Fatal(err)
				}
				if gerr != nil {
					t.Errorf("get %s: %v", name, gerr)
				} else if name == "SO_RCVBUF" && got < v || name != "SO_RCVBUF" && got != v {
					t.Errorf("%s: got %d, want %d", name, got, v)
				}
			}
		})
	}
}

// An opener that sets none of lanfind's options still gets those that work
// after bind.
func TestInjectedOpenerGetsOptions(t *testing.T) {
	var uc *net.UDPConn
	o := udp.Options{ListenPacket: func(ctx context.Context, network, address string) (net.PacketConn, error) {
		pc, err := (&net.ListenConfig{}).ListenPacket(ctx, network, address)
		uc, _ = pc.(*net.UDPConn)
		return pc, err
	}}
	listen(t, localhost, o)
	checkOpts(t, uc, []sockopt{
		{"SO_BROADCAST", unix.SOL_SOCKET, unix.SO_BROADCAST, 1},
		{"IP_MTU_DISCOVER", unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO},
		{"IP_MULTICAST_ALL", unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0},
	})
}

func TestSocketOptions6(t *testing.T) {
	var uc *net.UDPConn
	o := udp.Options{ListenPacket: func(ctx context.Context, network, address string) (net.PacketConn, error) {
		pc, err := udp.ListenConfig().ListenPacket(ctx, network, address)
		uc, _ = pc.(*net.UDPConn)
		return pc, err
	}}
	listen6(t, o)
	checkOpts(t, uc, []sockopt{
		{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
		{"SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, 1},
		{"IPV6_V6ONLY", unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1},
		{"IPV6_MTU_DISCOVER", unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_DO},
		{"IPV6_MULTICAST_ALL", unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0},
		{"IPV6_RECVPKTINFO", unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1},
		{"IPV6_MULTICAST_HOPS", unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 1},
		{"IPV6_UNICAST_HOPS", unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 1},
		{"IPV6_MULTICAST_LOOP", unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 1},
	})
}

type sockopt struct {
	name       string
	level, opt int
	want       int
}

// checkOpts checks the socket options of uc.
func checkOpts(t *testing.T, uc *net.UDPConn, opts []sockopt) {
	t.Helper()
	rc, err := uc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		var got int
		var gerr error
		get := func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), o.level, o.opt) }
		if err := rc.Control(get); err != nil {
			t.Fatal(err)
		}
		if gerr != nil || got != o.want {
			t.Errorf("%s: got %d (%v), want %d", o.name, got, gerr, o.want)
		}
	}
}
