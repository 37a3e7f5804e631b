package main

// --mdns: DNS-SD over multicast DNS beside lanfind's own protocol. list,
// resolve and watch merge what Avahi, Bonjour and other responders publish
// into their results (source "mdns"); announce also publishes its services
// as DNS-SD instances. See the README section "Living with mDNS".

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/config"
	"github.com/lanfind/lanfind/internal/serve"
	"github.com/lanfind/lanfind/mdns"
	"github.com/lanfind/lanfind/mdns/browse"
	"github.com/lanfind/lanfind/mdns/publish"
)

var (
	flagMDNS = &cli.BoolFlag{
		Name:    "mdns",
		Usage:   "also speak DNS-SD over mDNS, as Avahi and Bonjour do (never with a key)",
		EnvVars: []string{"LANFIND_MDNS"},
	}
	flagMDNSType = &cli.StringFlag{
		Name: "mdns-type",
		Usage: "publish the services of the command line as DNS-SD `TYPE`, " +
			"e.g. _postgresql._tcp (default: _<type>._tcp, untyped: " + defaultMDNSType + ")",
	}
)

// defaultMDNSType is the DNS-SD type of a service without a lanfind type.
const defaultMDNSType = "_lanfind._tcp"

// mdnsSource is discover.Result.Source for DNS-SD results.
const mdnsSource = "mdns"

// bindMDNS reads --mdns into o and refuses it with a key: nothing received
// over mDNS can be verified, and what lanfind publishes there would be
// unauthenticated copies of keyed services.
func bindMDNS(c *cli.Context, o *common) error {
	o.mdns = c.Bool("mdns")
	if o.mdns && len(o.keys) > 0 {
		return usageErrorf("--mdns with --secret-file: mDNS cannot be authenticated; use one or the other")
	}
	return nil
}

// browseTypes maps a lanfind --type to the DNS-SD types browsed: "" to
// all (enumeration), "ipp" to _ipp._tcp and _ipp._udp, "_ipp._tcp" to
// itself. ok is false for a type no DNS-SD service can have.
func browseTypes(typ string) (ts []mdns.ServiceType, ok bool) {
	if typ == "" {
		return nil, true
	}
	if strings.HasPrefix(typ, "_") {
		t, err := mdns.ParseServiceType(typ)
		return []mdns.ServiceType{t}, err == nil
	}
	if mdns.ValidServiceName(typ) != nil {
		return nil, false
	}
	t := strings.ToLower(typ)
	return []mdns.ServiceType{{Name: t, Proto: "tcp"}, {Name: t, Proto: "udp"}}, true
}

// browserUse is how a command uses its mDNS querier.
type browserUse int

const (
	// keepBrowsing: watch and serve Run it for long, asking for multicast
	// answers after the first question; its socket shares port 5353 in
	// the user's SO_REUSEPORT group, as the responder's does.
	keepBrowsing browserUse = iota
	// oneShot: list and resolve ask with the unicast-response bit and
	// must hear the unicast answers, so its socket stays out of that
	// group (browse.Config.NoReusePort; see "Sharing a port" in
	// internal/udp).
	oneShot
)

// newBrowser opens an mDNS querier for name (if any) and typ (if any),
// used as use says, or returns nil when typ cannot be a DNS-SD type
// (logged).
func newBrowser(ctx context.Context, s streams, o common, name, typ string, use browserUse) (
	*browse.Browser, error) {
	types, ok := browseTypes(typ)
	if !ok {
		s.Log.Warn(fmt.Sprintf("--mdns: type %q cannot be a DNS-SD service type; "+
			"searching lanfind's own protocol only", typ))
		return nil, nil
	}
	// The browser opens the system's lister itself and follows interface
	// changes with it.
	return browse.New(ctx, browse.Config{
		Interfaces:  o.ifaces,
		Exclude:     o.excludes,
		NoIPv4:      o.noIPv4,
		NoIPv6:      o.noIPv6,
		Types:       types,
		Name:        name,
		NoReusePort: use == oneShot,
		Logger:      s.Log,
	})
}

// openMDNS opens the browser of --mdns (see newBrowser): nil when o has
// no --mdns. closeB closes it, if any, and may be deferred at once.
func openMDNS(ctx context.Context, s streams, o common, name, typ string, use browserUse) (
	b *browse.Browser, closeB func(), err error) {
	if o.mdns {
		b, err = newBrowser(ctx, s, o, name, typ, use)
	}
	return b, func() {
		if b != nil {
			b.Close()
		}
	}, err
}

// mdnsSearch is where list and resolve get their DNS-SD results: a
// resident serve's cache (fromResident) or a browser of their own; neither
// without --mdns, or for a type DNS-SD cannot have.
type mdnsSearch struct {
	b      *browse.Browser
	cached []discover.Result // from the resident
	viaRes bool              // cached is the answer
}

// openMDNSSearch opens the mDNS part of a search for name (and o.typ):
// with --mdns it asks a resident first (see fromResident; first as there),
// and else opens a browser on the calling goroutine. closeM closes the
// browser, if any, and may be deferred at once.
func openMDNSSearch(ctx context.Context, s streams, o searchOptions, name string, first bool) (
	m mdnsSearch, closeM func(), err error) {
	if o.mdns {
		if _, ok := browseTypes(o.typ); ok {
			if rs, ok := fromResident(ctx, s, o, name, first); ok {
				return mdnsSearch{cached: rs, viaRes: true}, func() {}, nil
			}
		}
	}
	m.b, closeM, err = openMDNS(ctx, s, o.common, name, o.typ, oneShot)
	return m, closeM, err
}

// active reports whether m searches at all.
func (m mdnsSearch) active() bool { return m.viaRes || m.b != nil }

// collect runs the browser's Collect in the background (see collectMDNS),
// or hands back the resident's answer; wait returns the results.
func (m mdnsSearch) collect(ctx context.Context, s streams) (wait func() []discover.Result) {
	if m.viaRes {
		return func() []discover.Result { return m.cached }
	}
	return collectMDNS(ctx, s, m.b)
}

// resolve returns the first instance up: the resident's first (it answered
// with at least one, see fromResident) or the browser's (resolveMDNS).
func (m mdnsSearch) resolve(ctx context.Context) (discover.Result, error) {
	if m.viaRes {
		return m.cached[0], nil
	}
	return resolveMDNS(ctx, m.b)
}

// mdnsResult maps a DNS-SD instance to lanfind's result shape.
func mdnsResult(e browse.Entry) discover.Result {
	r := discover.Result{
		Instance: e.ID,
		Name:     e.Name,
		Type:     e.Type.Name,
		Proto:    e.Type.Proto,
		Port:     e.Port,
		Host:     e.Host,
		Addrs:    e.Addrs,
		Meta:     e.Meta,
		TTL:      e.TTL,
		Addr:     e.AddrPort().Addr(),
		Iface:    e.Iface,
		LastSeen: e.LastSeen,
		Source:   mdnsSource,
	}
	r.Paths = []discover.Path{{Iface: e.Iface, Addr: e.Addr, LastSeen: e.LastSeen}}
	return r
}

// mdnsEvent maps a browse event to a discover event.
func mdnsEvent(ev browse.Event) discover.Event {
	k := map[browse.Kind]discover.EventKind{
		browse.Up:     discover.EventUp,
		browse.Update: discover.EventUpdate,
		browse.Down:   discover.EventDown,
	}[ev.Kind]
	return discover.Event{Kind: k, Reason: ev.Reason, Service: mdnsResult(ev.Entry)}
}

// browseFeed is an mDNS browser as a source of discover events: watch
// --mdns prints them, serve --mdns feeds its live set with them. For serve
// it is also a serve.Asker: list and resolve --mdns take its services from
// the live set (see fromResident). name, typ, ifaces and excludes are the
// browser's filters and interfaces.
type browseFeed struct {
	b                *browse.Browser
	name, typ        string
	ifaces, excludes []string
}

func (f browseFeed) Run(ctx context.Context, fn func(discover.Event)) error {
	return f.b.Run(ctx, func(ev browse.Event) { fn(mdnsEvent(ev)) })
}

// Answer covers a search when the browser browses at least its types and
// name on the same interfaces.
func (f browseFeed) Answer(q serve.Query) serve.Answer {
	a := serve.Answer{Source: mdnsSource, Since: f.b.Started(), Warm: f.b.Warm()}
	types, ok := browseTypes(q.Type)
	if !ok || !f.covers(q, types) {
		return a
	}
	a.Covered = true
	a.Match = func(r discover.Result) bool { return mdnsMatch(r, q.Name, types) }
	return a
}

func (f browseFeed) covers(q serve.Query, types []mdns.ServiceType) bool {
	if f.name != "" && !strings.EqualFold(f.name, q.Name) {
		return false
	}
	if !slices.Equal(f.ifaces, q.Interfaces) || !slices.Equal(f.excludes, q.Exclude) {
		return false
	}
	if f.typ == "" {
		return true
	}
	own, _ := browseTypes(f.typ)
	return len(types) > 0 && !slices.ContainsFunc(types, func(t mdns.ServiceType) bool {
		return !slices.ContainsFunc(own, func(o mdns.ServiceType) bool {
			return strings.EqualFold(o.Name, t.Name) && o.Proto == t.Proto
		})
	})
}

// Refresh asks the LAN once more for q's types (browse.Browser.Ask).
func (f browseFeed) Refresh(ctx context.Context, q serve.Query) error {
	types, _ := browseTypes(q.Type)
	return f.b.Ask(ctx, types)
}

var _ serve.Asker = browseFeed{}

// collectMDNS runs b.Collect in the background; wait returns its results.
func collectMDNS(ctx context.Context, s streams, b *browse.Browser) (wait func() []discover.Result) {
	if b == nil {
		return func() []discover.Result { return nil }
	}
	done := make(chan []discover.Result, 1)
	go func() {
		es, err := b.Collect(ctx)
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			s.Log.Warn("--mdns: " + err.Error())
		}
		rs := make([]discover.Result, 0, len(es))
		for _, e := range es {
			rs = append(rs, mdnsResult(e))
		}
		logMDNSStats(s, b)
		done <- rs
	}()
	return func() []discover.Result { return <-done }
}

func logMDNSStats(s streams, b *browse.Browser) {
	st := b.Stats()
	s.Log.Debug("mdns stats",
		"sent", st.Sent,
		"sent_bytes", st.SentBytes,
		"received", st.Received,
		"received_bytes", st.ReceivedBytes,
		"own", st.Own,
		"dropped", st.Dropped)
}

// resolveMDNS runs b until the first instance is up and returns it.
func resolveMDNS(ctx context.Context, b *browse.Browser) (discover.Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var r discover.Result
	found := false
	err := b.Run(ctx, func(ev browse.Event) {
		if ev.Kind == browse.Up && !found {
			r, found = mdnsResult(ev.Entry), true
			cancel()
		}
	})
	if found {
		return r, nil
	}
	if err == nil {
		err = discover.ErrNotFound
	}
	return r, err
}

// mdnsType returns the DNS-SD type a lanfind service is published as:
// explicit (--mdns-type) if set, else _<type>._tcp, else defaultMDNSType.
func mdnsType(explicit, typ string) (mdns.ServiceType, error) {
	s := explicit
	if s == "" && typ != "" {
		s = "_" + strings.ToLower(typ) + "._tcp"
	}
	if s == "" {
		s = defaultMDNSType
	}
	t, err := mdns.ParseServiceType(s)
	if err != nil {
		return t, &exitError{
			code: exitUsage,
			msg:  fmt.Sprintf("mdns: type %q cannot be a DNS-SD service type: %v", s, err),
			hint: "set one with --mdns-type _name._tcp (name: 1-15 letters, digits and hyphens)",
		}
	}
	return t, nil
}

// mdnsServices returns the DNS-SD instances of svcs, announce's services
// (those from flags first, then fc's): a file service is published when
// its mdns key says so, else when --mdns or the file's top-level mdns key
// is true; a flag service when --mdns is given. The
// type is the service's mdns_type, --mdns-type for flag services, or
// _<type>._tcp. A file's top-level mdns is the one read at start, as
// reloads leave top-level settings alone.
func (as *announceSettings) mdnsServices(svcs []announce.Service, fc *config.File) ([]publish.Service, error) {
	var out []publish.Service
	nflag := len(as.flagServices)
	for i, s := range svcs {
		on, explicit := as.mdns, as.mdnsType
		if i >= nflag && fc != nil && i-nflag < len(fc.ServiceMDNS) {
			m := fc.ServiceMDNS[i-nflag]
			explicit = m.Type
			switch {
			case m.Set:
				on = m.On
			case as.file != nil:
				on = as.mdns || as.file.MDNS
			}
		}
		if !on {
			continue
		}
		t, err := mdnsType(explicit, s.Type)
		if err != nil {
			return nil, err
		}
		p := publish.Service{Name: s.Name, Type: t, Port: s.Port, Meta: s.Meta}
		if err := p.Validate(); err != nil {
			return nil, &exitError{code: exitUsage, msg: fmt.Sprintf("mdns: service %q: %v", s.Name, err)}
		}
		out = append(out, p)
	}
	return out, nil
}

// startPublisher opens the mDNS responder for announce's services and
// runs it until ctx ends; stop waits for its goodbyes.
func startPublisher(ctx context.Context, s streams, o common, hostname string,
	ps []publish.Service) (pub *publish.Publisher, stop func() error, err error) {
	host, _, _ := strings.Cut(hostname, ".")
	pub, err = publish.New(ctx, publish.Config{ // with the system's lister, following changes
		Interfaces: o.ifaces,
		Exclude:    o.excludes,
		NoIPv4:     o.noIPv4,
		NoIPv6:     o.noIPv6,
		Host:       host,
		Services:   ps,
		Logger:     s.Log,
	})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- pub.Run(ctx) }()
	return pub, func() error {
		cancel()
		err := <-done
		return errors.Join(err, pub.Close())
	}, nil
}
