package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/internal/sdnotify"
	"github.com/lanfind/lanfind/internal/serve"
	"github.com/lanfind/lanfind/internal/zone"
)

// Defaults of serve's flags: loopback only.
const (
	defaultDNSAddr  = "127.0.0.1:5354"
	defaultHTTPAddr = "127.0.0.1:8053"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the services found as DNS names and over HTTP, until interrupted",
		UsageText: "lanfind serve [--dns ADDR] [--http ADDR] [--socket PATH] [--domain D] [--name N] " +
			"[--type T] [--mdns]",
		Description: "Follows the services on the local network as watch does and serves\n" +
			"them to other programs. DNS (UDP and TCP) answers A, AAAA and TXT for\n" +
			"NAME.DOMAIN and SRV for _TYPE._tcp.DOMAIN, so that \"ssh db.lan\" works once\n" +
			"the system resolver forwards the domain to it (see the README).\n" +
			"HTTP serves /v1/services (as list --json),\n" +
			"/v1/events (as watch --json), /v1/prometheus (Prometheus http_sd), /metrics and\n" +
			"/healthz. Both listen on loopback unless told otherwise; an empty address\n" +
			"(--http '') turns that part off. With --mdns the services that Avahi and\n" +
			"Bonjour publish are served too (source \"mdns\"), as watch --mdns sees them.\n" +
			"It also serves the HTTP API on a unix socket (--socket), where list and\n" +
			"resolve --mdns take the mDNS services from its cache instead of asking the LAN.",
		Flags: commonFlags(
			&cli.StringFlag{
				Name:  "dns",
				Usage: "serve DNS on `ADDR` (IP:PORT, UDP and TCP); '' for none",
				Value: defaultDNSAddr,
			},
			&cli.StringFlag{
				Name:  "http",
				Usage: "serve the HTTP API on `ADDR` (IP:PORT); '' for none",
				Value: defaultHTTPAddr,
			},
			&cli.StringFlag{
				Name:  "domain",
				Usage: "answer for names under `DOMAIN`",
				Value: zone.DefaultDomain,
			},
			&cli.DurationFlag{
				Name:  "dns-ttl",
				Usage: "cap DNS TTLs (and the negative-caching TTL) at `D`, 1s to 1h",
				Value: zone.DefaultMaxTTL,
			},
			&cli.IntFlag{
				Name:  "dns-rate",
				Usage: "on a non-loopback --dns, answer at most `N` UDP queries a second per source",
				Value: zone.DefaultRate,
			},
			&cli.StringFlag{Name: "name", Usage: "only services named `NAME`"},
			&cli.StringFlag{Name: "type", Usage: "only services of type `TYPE`"},
			flagMaxEntries,
			flagMDNS,
			flagSocket,
		),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("serve takes no arguments, got %q", c.Args().First())
			}
			opts := serveOptions{
				dns:     c.String("dns"),
				http:    c.String("http"),
				domain:  c.String("domain"),
				dnsTTL:  c.Duration("dns-ttl"),
				dnsRate: c.Int("dns-rate"),
				name:    c.String("name"),
				typ:     c.String("type"),
				socket:  socketPath(c),
				sockSet: c.IsSet("socket"),
			}
			var s streams
			var err error
			if opts.common, s, err = bindShared(c, c.App.ErrWriter, slog.LevelInfo); err != nil {
				return s.exit(err)
			}
			return s.exit(runServe(c.Context, s, opts))
		},
	}
}

// serveOptions are serve's settings, from its flags.
type serveOptions struct {
	common
	dns     string // "" for none
	http    string // "" for none
	domain  string
	dnsTTL  time.Duration
	dnsRate int
	name    string
	typ     string
	socket  string // --socket, or the default; "" for none
	sockSet bool   // --socket was given: failing to listen is an error
}

// check validates the options that the libraries would reject with a
// less helpful message.
func (o serveOptions) check() error {
	if o.dns == "" && o.http == "" {
		return usageErrorf("--dns '' and --http '' together leave nothing to serve")
	}
	for _, f := range []struct{ flag, addr, example string }{
		{"--dns", o.dns, defaultDNSAddr},
		{"--http", o.http, defaultHTTPAddr},
	} {
		if _, err := netip.ParseAddrPort(f.addr); f.addr != "" && err != nil {
			return usageErrorf("%s %q: want IP:PORT such as %s", f.flag, f.addr, f.example)
		}
	}
	if _, err := zone.ParseDomain(o.domain); err != nil {
		return usageErrorf("--domain %q: want labels of letters, digits and inner hyphens, such as %q",
			o.domain, zone.DefaultDomain)
	}
	if o.dnsTTL < time.Second || o.dnsTTL > time.Hour {
		return usageErrorf("--dns-ttl %v: want 1s to 1h", o.dnsTTL)
	}
	if o.dnsRate < 1 {
		return usageErrorf("--dns-rate %d: want 1 or more", o.dnsRate)
	}
	return nil
}

// runServe runs "lanfind serve" until ctx ends.
func runServe(ctx context.Context, s streams, opts serveOptions) error {
	if err := opts.check(); err != nil {
		return err
	}
	lc, err := listenerConfig(s, opts.common, "--name", opts.name, opts.typ)
	if err != nil {
		return err
	}
	b, closeB, err := openMDNS(ctx, s, opts.common, opts.name, opts.typ, keepBrowsing)
	if err != nil {
		return runtimeError(err)
	}
	defer closeB()
	var extra []serve.Source
	if b != nil {
		extra = append(extra, browseFeed{b: b, name: opts.name, typ: opts.typ,
			ifaces: opts.ifaces, excludes: opts.excludes})
	}
	cfg := serve.Config{
		// A socket systemd passed (lanfind-serve.socket) comes first.
		SocketListener: socketListener(),
		Discover:       lc,
		DNS: zone.Config{
			Domain: opts.domain,
			MaxTTL: opts.dnsTTL,
			Addr:   opts.dns,
			Rate:   opts.dnsRate,
		},
		HTTP:   opts.http,
		Socket: opts.socket,
		Logger: s.Log,
		Extra:  extra,
	}
	srv, err := serve.New(cfg)
	if errors.Is(err, serve.ErrSocket) && !opts.sockSet {
		// The default socket is an extra: serve DNS and HTTP without it.
		s.Log.Warn(err.Error() + "; serving without it (list --mdns then browses itself)")
		cfg.Socket = ""
		srv, err = serve.New(cfg)
	}
	if err != nil {
		return runtimeError(err)
	}
	defer srv.Close()
	defer time.AfterFunc(releaseAfter, releaseStartup).Stop()
	var parts []string
	attrs := []any{}
	if a := srv.DNSAddr(); a.IsValid() {
		parts = append(parts, "DNS on "+a.String())
		attrs = append(attrs, "dns", a.String(), "domain", opts.domain)
	}
	if a := srv.HTTPAddr(); a.IsValid() {
		parts = append(parts, "HTTP on "+a.String())
		attrs = append(attrs, "http", a.String())
	}
	if p := srv.SocketPath(); p != "" {
		attrs = append(attrs, "socket", p)
	}
	s.Log.Info("serving", attrs...)
	n := sdnotify.New(s.Log)
	n.Ready("serving " + strings.Join(parts, ", "))
	stopWatchdog := n.Watchdog(ctx)
	err = srv.Run(ctx)
	stopWatchdog()
	n.Stopping()
	logStats(s.Log, srv)
	return runtimeError(err)
}

// socketListener returns the unix socket the service manager passed
// (socket activation, as lanfind-serve.socket does), or nil: it then
// takes the place of --socket.
func socketListener() net.Listener {
	if ln := sdnotify.UnixListener(); ln != nil {
		return ln
	}
	return nil
}
