package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
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
	FrameLen     int    // Ethernet frame without FCS
	IPLen        int    // IP total length
	Head         []byte // the first bytes of the UDP payload (up to 8)
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
	return t.loop(func() bool { return time.Now().Before(until) }, fn)
}

// loop calls fn for each UDP frame (IPv4, or IPv6 without extension
// headers, as lanfind sends) while more reports true (checked
// at least every 100 ms) and until fn returns true, which it reports.
func (t *tap) loop(more func() bool, fn func(tapPkt) bool) (bool, error) {
	buf := make([]byte, 2048)
	for more() {
		n, from, err := unix.Recvfrom(t.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return false, err
		}
		pk, ok := parseUDP(buf[:n])
		if !ok {
			continue
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

// parseUDP parses an Ethernet frame carrying UDP over IPv4 or IPv6.
func parseUDP(p []byte) (tapPkt, bool) {
	if len(p) < 14 {
		return tapPkt{}, false
	}
	ip := p[14:]
	var pk tapPkt
	var udp []byte
	switch binary.BigEndian.Uint16(p[12:]) {
	case 0x0800:
		if len(ip) < 20+8 {
			return pk, false
		}
		ihl := int(ip[0]&0x0f) * 4
		if ip[0]>>4 != 4 || ip[9] != 17 || len(ip) < ihl+8 {
			return pk, false
		}
		pk.Src, pk.Dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		pk.IPLen = int(binary.BigEndian.Uint16(ip[2:]))
		udp = ip[ihl:]
	case 0x86dd:
		if len(ip) < 40+8 || ip[0]>>4 != 6 || ip[6] != 17 {
			return pk, false
		}
		pk.Src, pk.Dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		pk.IPLen = 40 + int(binary.BigEndian.Uint16(ip[4:]))
		udp = ip[40:]
	default:
		return pk, false
	}
	pk.At = time.Now()
	pk.Sport, pk.Dport = binary.BigEndian.Uint16(udp), binary.BigEndian.Uint16(udp[2:])
	pk.FrameLen = len(p)
	pk.Head = bytes.Clone(udp[8:min(len(udp), 16)])
	return pk, true
}

// wire records, in the background, the frames on one interface that match
// a protocol, so that the bytes of each run can be summed afterwards.
type wire struct {
	t     *tap
	match func(tapPkt) bool
	stop  chan struct{}
	done  chan struct{}

	mu   sync.Mutex // guards pkts and err
	pkts []tapPkt
	err  error
}

// startWire taps ifname in h and keeps the frames match accepts.
func startWire(h *Host, ifname string, match func(tapPkt) bool) (*wire, error) {
	t, err := openTap(h, ifname)
	if err != nil {
		return nil, err
	}
	w := &wire{t: t, match: match, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		more := func() bool {
			select {
			case <-w.stop:
				return false
			default:
				return true
			}
		}
		_, err := t.loop(more, func(pk tapPkt) bool {
			if w.match(pk) {
				w.mu.Lock()
				w.pkts = append(w.pkts, pk)
				w.mu.Unlock()
			}
			return false
		})
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
	}()
	return w, nil
}

// between returns the frames and their bytes seen from t0 to t1.
func (w *wire) between(t0, t1 time.Time) (frames, size int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, pk := range w.pkts {
		if !pk.At.Before(t0) && !pk.At.After(t1) {
			frames++
			size += pk.FrameLen
		}
	}
	return frames, size, w.err
}

// Close stops the tap.
func (w *wire) Close() {
	close(w.stop)
	<-w.done
	w.t.Close()
}

// window is the time one run's traffic can be on the wire: from just before
// its process starts to a little after it exits, when late replies land.
type window struct{ t0, t1 time.Time }

// lateReplies is how long after a querier exits its replies are counted.
const lateReplies = 150 * time.Millisecond

// perRun sums each window's frames and bytes once the last one has closed.
func (w *wire) perRun(wins []window) (frames, sizes []float64, err error) {
	if len(wins) > 0 {
		time.Sleep(time.Until(wins[len(wins)-1].t1))
	}
	for _, win := range wins {
		f, b, err := w.between(win.t0, win.t1)
		if err != nil {
			return nil, nil, err
		}
		frames, sizes = append(frames, float64(f)), append(sizes, float64(b))
	}
	return frames, sizes, nil
}
