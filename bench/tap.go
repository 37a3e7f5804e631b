package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// tap counts frames on one interface with a packet socket (AF_PACKET), in
// both directions, as tcpdump would.
type tap struct{ fd int }

// tapPkt is one IPv4 UDP frame.
type tapPkt struct {
	At           time.Time
	Out          bool // sent by this host
	Src, Dst     netip.Addr
	Sport, Dport uint16
	FrameLen     int // Ethernet frame without FCS
	IPLen        int // IP total length
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openTap opens a packet socket on ifname inside h.
func openTap(h *Host, ifname string) (*tap, error) {
	t := &tap{fd: -1}
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		t.fd = fd
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			return fmt.Errorf("bind packet socket to %s: %w", ifname, err)
		}
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
		tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	if err != nil {
		if t.fd >= 0 {
			unix.Close(t.fd)
		}
		return nil, err
	}
	return t, nil
}

func (t *tap) Close() { unix.Close(t.fd) }

// read calls fn for each IPv4 UDP frame until fn returns true or until.
// It reports whether fn returned true.
func (t *tap) read(until time.Time, fn func(tapPkt) bool) (bool, error) {
	buf := make([]byte, 2048)
	for time.Now().Before(until) {
		n, from, err := unix.Recvfrom(t.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return false, err
		}
		p := buf[:n]
		if n < 14+20+8 || binary.BigEndian.Uint16(p[12:]) != 0x0800 {
			continue
		}
		ip := p[14:]
		ihl := int(ip[0]&0x0f) * 4
		if ip[0]>>4 != 4 || ip[9] != 17 || len(ip) < ihl+8 {
			continue
		}
		pk := tapPkt{
			At:       time.Now(),
			Src:      netip.AddrFrom4([4]byte(ip[12:16])),
			Dst:      netip.AddrFrom4([4]byte(ip[16:20])),
			Sport:    binary.BigEndian.Uint16(ip[ihl:]),
			Dport:    binary.BigEndian.Uint16(ip[ihl+2:]),
			FrameLen: n,
			IPLen:    int(binary.BigEndian.Uint16(ip[2:])),
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			pk.Out = ll.Pkttype == unix.PACKET_OUTGOING
		}
		if fn(pk) {
			return true, nil
		}
	}
	return false, nil
}
