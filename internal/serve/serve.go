package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/netutil"

	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/resident"
	"github.com/lanfind/lanfind/internal/zone"
)

// Limits of the HTTP server.
const (
	maxHTTPConns    = 128              // connections open at once
	maxStreams      = 64               // /v1/events streams open at once
	streamBuffer    = 256              // events a stream may lag behind
	writeTimeout    = 10 * time.Second // for one write to a client
	shutdownTimeout = 2 * time.Second  // for requests in flight when Run ends
)

// Config configures a [Server]. The zero value is valid: a server that
// follows every service on every usable interface and serves nothing.
type Config struct {
	// Discover configures the listener that finds the services; its Name
	// and Type filters limit what is served. Defaults to the zero
	// discover.Config.
	Discover discover.Config
	// DNS configures the DNS server; with DNS.Addr empty (the default) no
	// DNS is served. Its Logger defaults to Logger.
	DNS zone.Config
	// HTTP is the address to serve the HTTP API on, such as
	// "127.0.0.1:8053" (port 0 picks a free port). Defaults to none: no
	// HTTP.
	HTTP string
	// Logger receives logs. Nil discards them.
	Logger *slog.Logger
	// Socket is the path of a unix socket to serve the HTTP API and
	// /v1/resident on, for local programs (package resident: a socket
	// already there is replaced only when nothing answers on it).
	// Defaults to none.
	Socket string
	// SocketListener, if set, is a listening unix socket to serve there
	// instead of Socket's, such as one systemd passed (socket
	// activation); Close closes it. Defaults to none.
	SocketListener net.Listener
	// Extra are further feeds of the live set beside the listener, such
	// as the mDNS browser of "lanfind serve --mdns". Their results carry
	// their own discover.Result.Source; the caller closes them after Run.
	Extra []Source

	source source // tests: events from here instead of a discover.Listener
}

// ErrSocket is New's error when it cannot listen on Config.Socket.
var ErrSocket = errors.New("serve: unix socket")

// Source is a feed of up, update and down events for the live set. Run
// calls fn from one goroutine at a time until ctx ends, then returns nil,
// or returns the error that stopped it.
type Source interface {
	Run(ctx context.Context, fn func(discover.Event)) error
}

// source is what a Server uses of a [discover.Listener].
type source interface {
	Run(ctx context.Context, fn func(discover.Event)) error
	Stats() discover.Stats
	Close() error
}

var _ source = (*discover.Listener)(nil)

// Server keeps the live set of services and serves it. Its methods are
// safe for concurrent use; Run may be called once.
type Server struct {
	log  *slog.Logger
	src  source
	more []Source
	dns  *zone.Server // nil without DNS
	ln   net.Listener // nil without HTTP
	http *http.Server // nil without HTTP
	sln  net.Listener // the unix socket; nil without
	sock *http.Server // nil without the unix socket
	set  *liveSet
	met  *metricsRegistry

	done      chan struct{} // closed when Run stops: ends the event streams
	closeOnce sync.Once
}

// New validates and copies cfg, opens the discover listener (see
// [discover.New]), and the DNS and HTTP sockets that cfg asks for. Serve
// them with [Server.Run].
func New(cfg Config) (srv *Server, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{log: log, done: make(chan struct{}), more: cfg.Extra}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if cfg.HTTP != "" {
		if _, err := netip.ParseAddrPort(cfg.HTTP); err != nil {
			return nil, fmt.Errorf("serve: http address %q: want IP:PORT such as 127.0.0.1:8053",
				cfg.HTTP)
		}
	}
	s.src = cfg.source
	if s.src == nil {
		l, err := discover.New(cfg.Discover)
		if err != nil {
			return nil, err
		}
		s.src = l
	}
	if cfg.DNS.Addr != "" {
		dc := cfg.DNS
		if dc.Logger == nil {
			dc.Logger = log
		}
		if s.dns, err = zone.New(dc); err != nil {
			return nil, err
		}
	}
	s.set = newLiveSet(s.dns, len(cfg.Discover.Keys) > 0)
	s.met = newMetrics(s)
	if cfg.HTTP != "" {
		ln, err := net.Listen("tcp", cfg.HTTP)
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		s.ln = netutil.LimitListener(ln, maxHTTPConns)
		s.http = s.httpServer(s.Handler())
	}
	ln := cfg.SocketListener
	if ln == nil && cfg.Socket != "" {
		if ln, err = resident.Listen(cfg.Socket); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSocket, err)
		}
	}
	if ln != nil {
		s.sln = netutil.LimitListener(ln, maxHTTPConns)
		s.sock = s.httpServer(s.LocalHandler())
	}
	return s, nil
}

func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// SocketPath returns the path of the unix socket, or "".
func (s *Server) SocketPath() string {
	if s.sln == nil {
		return ""
	}
	return s.sln.Addr().String()
}

// DNSAddr returns the address DNS is served on, or the zero AddrPort.
func (s *Server) DNSAddr() netip.AddrPort {
	if s.dns == nil {
		return netip.AddrPort{}
	}
	return s.dns.Addr()
}

// HTTPAddr returns the address the HTTP API is served on, or the zero
// AddrPort.
func (s *Server) HTTPAddr() netip.AddrPort {
	if s.ln == nil {
		return netip.AddrPort{}
	}
	return s.ln.Addr().(*net.TCPAddr).AddrPort()
}

// Stats returns the discover listener's counters.
func (s *Server) Stats() discover.Stats { return s.src.Stats() }

// Run follows the services (those of the listener and of cfg.Extra) and
// serves them until ctx ends, then returns nil; it returns an error when
// a source or a server fails, having stopped the others.
func (s *Server) Run(ctx context.Context) error {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4+len(s.more))
	for _, src := range append([]Source{s.src}, s.more...) {
		wg.Go(func() {
			errs <- src.Run(ctx, s.set.apply)
			cancel()
		})
	}
	if s.dns != nil {
		wg.Go(func() {
			errs <- s.dns.Run(ctx)
			cancel()
		})
	}
	for _, h := range s.httpServers() {
		wg.Go(func() {
			err := h.srv.Serve(h.ln)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			errs <- err
			cancel()
		})
	}
	<-ctx.Done()
	close(s.done)
	for _, h := range s.httpServers() {
		sctx, scancel := context.WithTimeout(context.Background(), shutdownTimeout)
		if err := h.srv.Shutdown(sctx); err != nil {
			s.log.Debug("serve: http shutdown", "err", err)
			h.srv.Close()
		}
		scancel()
	}
	wg.Wait()
	close(errs)
	var err error
	for e := range errs {
		err = errors.Join(err, e)
	}
	if parent.Err() != nil {
		return nil
	}
	return err
}

// Close closes the listener and the sockets. It is idempotent and safe
// from any goroutine; a Run in progress returns.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.src != nil {
			err = s.src.Close()
		}
		if s.dns != nil {
			err = errors.Join(err, s.dns.Close())
		}
		for _, h := range s.httpServers() {
			err = errors.Join(err, h.srv.Close())
			// The listener was not yet served, or closed by Close.
			if e := h.ln.Close(); !errors.Is(e, net.ErrClosed) {
				err = errors.Join(err, e)
			}
		}
	})
	return err
}

// httpServer is an HTTP server and its listener.
type httpServer struct {
	srv *http.Server
	ln  net.Listener
}

// httpServers returns the HTTP servers in use: TCP, the unix socket.
func (s *Server) httpServers() []httpServer {
	var out []httpServer
	if s.http != nil {
		out = append(out, httpServer{s.http, s.ln})
	}
	if s.sock != nil {
		out = append(out, httpServer{s.sock, s.sln})
	}
	return out
}
