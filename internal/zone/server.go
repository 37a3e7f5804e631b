package zone

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/lanfind/lanfind/internal/ratelimit"
)

// maxRequest is the largest UDP request read: queries are small, but an
// EDNS(0) client may add options.
const maxRequest = 4096

// maxSources caps the rate limiter's table of source addresses.
const maxSources = 4096

// sockets are a Server's UDP socket and TCP listener on one address.
type sockets struct {
	udp *net.UDPConn
	tcp *net.TCPListener

	// limiter is nil on a loopback address. mu guards it.
	mu      sync.Mutex
	limiter *ratelimit.Limiter[netip.Addr]

	closeOnce sync.Once
	// connMu guards conns, the open TCP connections, and closed.
	connMu sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool

	wg sync.WaitGroup // every goroutine Run starts
}

// listen opens the UDP socket and, on the same port, the TCP listener.
// With port 0 the kernel picks the UDP port, and that port may already be
// taken for TCP: listen then tries again with a fresh pick, a few times.
func listen(addr string) (*sockets, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("zone: address %q: want IP:PORT such as 127.0.0.1:5354", addr)
	}
	const tries = 8
	for i := 0; ; i++ {
		u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
		if err != nil {
			return nil, fmt.Errorf("zone: %w", err)
		}
		port := u.LocalAddr().(*net.UDPAddr).AddrPort().Port()
		t, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ap.Addr(), port)))
		if err != nil {
			u.Close()
			if ap.Port() == 0 && errors.Is(err, syscall.EADDRINUSE) && i < tries-1 {
				continue
			}
			return nil, fmt.Errorf("zone: %w", err)
		}
		return &sockets{udp: u, tcp: t, conns: map[net.Conn]struct{}{}}, nil
	}
}

// Addr returns the address the server serves on (UDP and TCP), or the
// zero AddrPort without sockets.
func (s *Server) Addr() netip.AddrPort {
	if s.sock == nil {
		return netip.AddrPort{}
	}
	return s.sock.udp.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Run serves queries until ctx ends, then closes the sockets and returns
// nil; it returns an error if a socket fails. Without Config.Addr it only
// waits for ctx. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	if s.sock == nil {
		<-ctx.Done()
		return nil
	}
	sock := s.sock
	if !s.Addr().Addr().IsLoopback() {
		sock.limiter = ratelimit.New[netip.Addr](float64(s.cfg.Rate), 2*s.cfg.Rate, maxSources, nil)
	}
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	readers := min(runtime.GOMAXPROCS(0), 4)
	errc := make(chan error, readers+1)
	// The loops start under connMu, where Close marks the server closed,
	// so that Close either sees them in the WaitGroup or they never start.
	sock.connMu.Lock()
	if sock.closed {
		sock.connMu.Unlock()
		return nil
	}
	for range readers {
		sock.wg.Go(func() { errc <- s.serveUDP() })
	}
	sock.wg.Go(func() { errc <- s.serveTCP() })
	sock.connMu.Unlock()
	var err error
	for range readers + 1 {
		e := <-errc
		if err == nil && e != nil && !errors.Is(e, net.ErrClosed) {
			err = e
			s.Close() // one loop failed: stop the others
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Close closes the sockets and every TCP connection, and waits for Run's
// goroutines. It is idempotent and safe from any goroutine.
func (s *Server) Close() error {
	sock := s.sock
	if sock == nil {
		return nil
	}
	var err error
	sock.closeOnce.Do(func() {
		err = errors.Join(sock.udp.Close(), sock.tcp.Close())
		sock.connMu.Lock()
		sock.closed = true
		for c := range sock.conns {
			c.Close()
		}
		sock.connMu.Unlock()
	})
	sock.wg.Wait()
	return err
}

// serveUDP answers UDP queries until the socket is closed.
func (s *Server) serveUDP() error {
	sock := s.sock
	buf := make([]byte, maxRequest)
	out := make([]byte, 0, MaxUDPSize)
	for {
		n, src, err := sock.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			s.stats.errors.Add(1)
			s.log.Debug("zone: read udp", "err", err)
			continue
		}
		s.stats.udp.Add(1)
		if !s.allow(src.Addr()) {
			s.stats.rateLimited.Add(1)
			continue
		}
		resp, ok := s.AppendAnswer(out[:0], buf[:n], false)
		if !ok {
			continue
		}
		if _, err := sock.udp.WriteToUDPAddrPort(resp, src); err != nil {
			s.stats.errors.Add(1)
			s.log.Debug("zone: write udp", "to", src, "err", err)
		}
	}
}

// allow reports whether src may have one more UDP answer now.
func (s *Server) allow(src netip.Addr) bool {
	sock := s.sock
	if sock.limiter == nil {
		return true
	}
	sock.mu.Lock()
	defer sock.mu.Unlock()
	return sock.limiter.AllowN(src, 1)
}

// serveTCP accepts TCP connections until the listener is closed.
func (s *Server) serveTCP() error {
	sock := s.sock
	for {
		c, err := sock.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			s.stats.errors.Add(1)
			s.log.Debug("zone: accept", "err", err)
			time.Sleep(10 * time.Millisecond) // out of file descriptors: do not spin
			continue
		}
		if !sock.track(c, s.cfg.MaxConns) {
			s.stats.connsRejected.Add(1)
			c.Close()
			continue
		}
		sock.wg.Go(func() {
			defer sock.untrack(c)
			s.serveConn(c)
		})
	}
}

// track adds c to the open connections unless max are open or the
// sockets are closed, and reports whether it did.
func (sock *sockets) track(c net.Conn, max int) bool {
	sock.connMu.Lock()
	defer sock.connMu.Unlock()
	if sock.closed || len(sock.conns) >= max {
		return false
	}
	sock.conns[c] = struct{}{}
	return true
}

func (sock *sockets) untrack(c net.Conn) {
	sock.connMu.Lock()
	defer sock.connMu.Unlock()
	delete(sock.conns, c)
	c.Close()
}

// serveConn answers the queries of one TCP connection, each a message
// after its 2-byte length (RFC 1035 §4.2.2), until the client closes it,
// stays idle too long or sends a request that is dropped.
func (s *Server) serveConn(c net.Conn) {
	var size [2]byte
	var msg []byte
	out := make([]byte, 2, 512)
	for {
		if err := c.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout)); err != nil {
			return
		}
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(size[:]))
		if cap(msg) < n {
			msg = make([]byte, n)
		}
		msg = msg[:n]
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		s.stats.tcp.Add(1)
		resp, ok := s.AppendAnswer(out[:2], msg, true)
		if !ok {
			return
		}
		binary.BigEndian.PutUint16(resp, uint16(len(resp)-2))
		if err := c.SetWriteDeadline(time.Now().Add(s.cfg.IdleTimeout)); err != nil {
			return
		}
		if _, err := c.Write(resp); err != nil {
			s.stats.errors.Add(1)
			return
		}
		out = resp[:2]
	}
}
