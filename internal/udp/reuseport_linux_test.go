package udp_test

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/udp"
	"golang.org/x/sys/unix"
)

// TestNoReusePortOptions: Listen with NoReusePort sets SO_REUSEADDR and
// every other option but not SO_REUSEPORT, on both families, and so does
// its work after bind for an injected opener.
func TestNoReusePortOptions(t *testing.T) {
	o := udp.Options{NoReusePort: true}
	want4 := []sockopt{
		{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
		{"SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, 0},
		{"SO_BROADCAST", unix.SOL_SOCKET, unix.SO_BROADCAST, 1},
		{"IP_MTU_DISCOVER", unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO},
		{"IP_PKTINFO", unix.IPPROTO_IP, unix.IP_PKTINFO, 1},
		{"IP_MULTICAST_ALL", unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0},
	}
	checkOpts(t, udp.Socket(listen(t, localhost, o)), want4)
	checkOpts(t, udp.Socket(listen6(t, o)), []sockopt{
		{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
		{"SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, 0},
		{"IPV6_V6ONLY", unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1},
		{"IPV6_MULTICAST_ALL", unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0},
		{"IPV6_RECVPKTINFO", unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1},
	})
	// An opener that sets nothing: Listen adds what works after bind,
	// but not SO_REUSEPORT.
	o.ListenPacket = (&net.ListenConfig{}).ListenPacket
	checkOpts(t, udp.Socket(listen(t, localhost, o)), []sockopt{
		{"SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, 0},
		{"SO_BROADCAST", unix.SOL_SOCKET, unix.SO_BROADCAST, 1},
	})
	// Without NoReusePort the default opener sets both.
	checkOpts(t, udp.Socket(listen(t, localhost, udp.Options{})), []sockopt{
		{"SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
		{"SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, 1},
	})
}

// TestNoReusePortGetsUnicast checks the kernel behaviour that NoReusePort
// relies on (see "Sharing a port" in the package comment), with sockets of
// one user sharing a port of 127.0.0.1 and datagrams from 16 source ports
// (16 different hashes): the sockets with SO_REUSEPORT form a group that
// spreads unicast datagrams over its members; the newest socket without
// it gets every one; and a socket of the group that binds after it takes
// them over.
func TestNoReusePortGetsUnicast(t *testing.T) {
	a := listen(t, localhost, udp.Options{})
	b := listen(t, a.LocalAddr(), udp.Options{})
	c := listen(t, a.LocalAddr(), udp.Options{NoReusePort: true})
	if got := deliver(t, a, b, c); got[2] != senders {
		t.Errorf("a, b with SO_REUSEPORT, then c without: got %v datagrams, want all %d for c",
			got, senders)
	}
	e := listen(t, a.LocalAddr(), udp.Options{NoReusePort: true})
	if got := deliver(t, a, b, c, e); got[3] != senders {
		t.Errorf("then e without SO_REUSEPORT: got %v datagrams, want all %d for e", got, senders)
	}
	d := listen(t, a.LocalAddr(), udp.Options{})
	if got := deliver(t, a, b, c, e, d); got[2] != 0 || got[3] != 0 {
		t.Errorf("then d with SO_REUSEPORT: got %v datagrams, want none for c and e", got)
	}

	// The same with SO_REUSEPORT on the third socket: the group spreads
	// the datagrams (all 16 to it: probability 3^-16).
	a = listen(t, localhost, udp.Options{})
	b = listen(t, a.LocalAddr(), udp.Options{})
	c = listen(t, a.LocalAddr(), udp.Options{})
	if got := deliver(t, a, b, c); got[2] == senders {
		t.Errorf("a, b, c with SO_REUSEPORT: got %v datagrams, want them spread", got)
	}
}

const senders = 16

// deliver sends one datagram to the port of cs (one port) from each of
// senders sockets and returns how many each of cs received.
func deliver(t *testing.T, cs ...udp.Conn) []int {
	t.Helper()
	type got struct {
		i   int
		err error
	}
	recv := make(chan got, senders)
	deadline := time.Now().Add(5 * time.Second)
	for i, c := range cs {
		if err := c.SetReadDeadline(deadline); err != nil {
			t.Fatal(err)
		}
		go func() {
			b := make([]byte, 16)
			for {
				_, _, _, err := c.ReadFrom(b)
				recv <- got{i, err}
				if err != nil {
					return
				}
			}
		}()
	}
	for range senders {
		s, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(localhost))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.WriteToUDPAddrPort([]byte("x"), cs[0].LocalAddr())
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	n := make([]int, len(cs))
	total, ended := 0, 0
	for total < senders && ended < len(cs) {
		r := <-recv
		if r.err != nil {
			if !errors.Is(r.err, os.ErrDeadlineExceeded) {
				t.Errorf("read: %v", r.err)
			}
			ended++
			continue
		}
		n[r.i]++
		total++
	}
	// Stop the readers: a deadline in the past ends each pending read.
	for _, c := range cs {
		if err := c.SetReadDeadline(time.Unix(1, 0)); err != nil {
			t.Fatal(err)
		}
	}
	for ; ended < len(cs); ended++ {
		if r := <-recv; r.err == nil {
			n[r.i]++
			total++
			ended--
		}
	}
	if total != senders {
		t.Fatalf("got %d datagrams, want %d", total, senders)
	}
	return n
}
