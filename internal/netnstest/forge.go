//go:build linux

package netnstest

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// Forger sends UDP datagrams with any IPv4 source address and port from
// a host, through a raw socket: the attacker of the lab's security
// tests, which forges the addresses of hosts that exist (the victim's) or
// do not (unused addresses of the subnet, which no host answers ARP for).
type Forger struct {
	h    *Host
	fd   int
	once sync.Once
}

// Forger opens a raw socket in the host; the lab closes it at cleanup.
func (h *Host) Forger(t testing.TB) *Forger {
	t.Helper()
	fd := -1
	var err error
	h.Do(t, func() {
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		if err == nil {
			err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
		}
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		t.Fatalf("netnstest: %s: raw socket: %v", h.Name, err)
	}
	f := &Forger{h: h, fd: fd}
	h.lab.track(f)
	return f
}

// Send sends payload in a UDP datagram from src to dst (a unicast or
// broadcast address), routed by the host's table.
func (f *Forger) Send(src, dst netip.AddrPort, payload []byte) error {
	const ipLen, udpLen = 20, 8
	p := make([]byte, ipLen+udpLen+len(payload))
	p[0] = 0x45 // IPv4, 5-word header
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8] = 64 // TTL
	p[9] = unix.IPPROTO_UDP
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(p[12:16], s4[:])
	copy(p[16:20], d4[:])
	// The kernel fills the IP checksum and ID; the UDP checksum 0 means
	// none, which IPv4 allows.
	binary.BigEndian.PutUint16(p[ipLen:], src.Port())
	binary.BigEndian.PutUint16(p[ipLen+2:], dst.Port())
	binary.BigEndian.PutUint16(p[ipLen+4:], uint16(udpLen+len(payload)))
	copy(p[ipLen+udpLen:], payload)
	if err := unix.Sendto(f.fd, p, 0, &unix.SockaddrInet4{Addr: d4}); err != nil {
		return fmt.Errorf("netnstest: %s: forge %s -> %s: %w", f.h.Name, src, dst, err)
	}
	return nil
}

// Close closes the raw socket; it is idempotent.
func (f *Forger) Close() error {
	var err error
	f.once.Do(func() { err = unix.Close(f.fd) })
	return err
}
