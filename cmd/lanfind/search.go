package main

// What list and resolve share: their flags, the listener they open, the
// wait for N instances, their exit statuses and the printer of results.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"text/template"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/output"
	tt "github.com/lanfind/lanfind/internal/termtext"
)

const defaultTimeout = 3 * time.Second

var (
	// A string, parsed by bindSearch: as an IntFlag, help would show a
	// default of 0, which --wait refuses.
	flagWait = &cli.StringFlag{
		Name:  "wait",
		Usage: "return as soon as `N` matching instances are up (fewer by --timeout: exit 1)",
	}
	flagMaxEntries = &cli.IntFlag{
		Name:  "max-entries",
		Usage: "keep at most `N` instances (more are dropped and counted)",
		Value: discover.DefaultMaxEntries,
	}
	flagTimeout = &cli.DurationFlag{
		Name:  "timeout",
		Usage: "give up after `D` at most",
		Value: defaultTimeout,
	}
)

// searchOptions are the flags list and resolve share.
type searchOptions struct {
	common
	timeout time.Duration
	wait    int // 0: no --wait
	typ     string
	socket  string // --socket: a resident serve's, "" for none
	printer output.Printer
}

// bindSearch reads the flags list and resolve share, and builds the
// command's streams.
func bindSearch(c *cli.Context) (searchOptions, streams, error) {
	var o searchOptions
	var s streams
	var err error
	if o.common, s, err = bindShared(c, c.App.ErrWriter, slog.LevelWarn); err != nil {
		return o, s, err
	}
	o.timeout = c.Duration("timeout")
	if o.timeout <= 0 {
		return o, s, usageErrorf("--timeout %v: want a positive duration such as 2s", o.timeout)
	}
	if c.IsSet("wait") {
		ws := c.String("wait")
		if o.wait, err = strconv.Atoi(ws); err != nil {
			ws = strconv.Quote(ws)
		}
		if err != nil || o.wait < 1 {
			return o, s, usageErrorf("--wait %s: want %s", ws, flagWants["wait"])
		}
	}
	o.typ = c.String("type")
	o.socket = socketPath(c)
	o.printer, err = newPrinter(c, s.Out, o.family)
	return o, s, err
}

// openSearch opens what list and resolve search with: a Listener for the
// name filter (given as nameFlag) and the type, and a context bounded by
// --timeout. done closes them; the mDNS part opens with openMDNSSearch.
func openSearch(ctx context.Context, s streams, o searchOptions, nameFlag, name string) (
	l *discover.Listener, searchCtx context.Context, done func(), err error,
) {
	if l, err = newListener(s, o.common, nameFlag, name, o.typ); err != nil {
		return nil, nil, nil, err
	}
	searchCtx, cancel := context.WithTimeout(ctx, o.timeout)
	return l, searchCtx, func() {
		cancel()
		l.Close()
	}, nil
}

// collectAll searches with l (Collect, or waitFor with --wait) and, with
// --mdns, over mDNS (see openMDNSSearch) at once, and returns both's
// results sorted together; the error is l's, or the mDNS part's if it
// could not open.
func collectAll(ctx context.Context, s streams, o searchOptions, l *discover.Listener, name string) (
	[]discover.Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type own struct {
		rs  []discover.Result
		err error
	}
	done := make(chan own, 1)
	go func() {
		var r own
		if o.wait > 0 {
			r.rs, r.err = waitFor(ctx, l, o.wait)
		} else {
			r.rs, r.err = l.Collect(ctx)
		}
		done <- r
	}()
	m, closeM, err := openMDNSSearch(ctx, s, o, name, false)
	if err != nil {
		cancel()
		<-done
		return nil, err
	}
	defer closeM()
	mdnsResults := m.collect(ctx, s)
	r := <-done
	if mrs := mdnsResults(); len(mrs) > 0 {
		r.rs = append(r.rs, mrs...)
		slices.SortFunc(r.rs, discover.CompareResults)
	}
	return r.rs, r.err
}

// newListener checks the name filter (given as nameFlag) and the type, and
// opens a Listener for them.
func newListener(s streams, o common, nameFlag, name, typ string) (*discover.Listener, error) {
	cfg, err := listenerConfig(s, o, nameFlag, name, typ)
	if err != nil {
		return nil, err
	}
	return discover.New(cfg)
}

// listenerConfig checks the name filter (given as nameFlag) and the type,
// and returns the configuration of a Listener for them.
func listenerConfig(s streams, o common, nameFlag, name, typ string) (discover.Config, error) {
	if err := checkName(nameFlag, name, nameFlag == "NAME"); err != nil {
		return discover.Config{}, err
	}
	if err := checkName("--type", typ, false); err != nil {
		return discover.Config{}, err
	}
	if o.maxEntries < 1 {
		return discover.Config{}, usageErrorf("--max-entries %d: want a number of instances, 1 or more",
			o.maxEntries)
	}
	return discover.Config{
		Name:              name,
		Type:              typ,
		Port:              o.port,
		Group:             o.group,
		Interfaces:        o.ifaces,
		NoBroadcast:       o.noBroadcast,
		NoMulticast:       o.noMulticast,
		NoIPv4:            o.noIPv4,
		NoIPv6:            o.noIPv6,
		PreferIPv6:        o.prefer6,
		Logger:            s.Log,
		Keys:              o.keys,
		ExcludeInterfaces: o.excludes,
		MaxEntries:        o.maxEntries,
	}, nil
}

// logStats logs the counters of a Listener (or of serve's) at debug level.
func logStats(log *slog.Logger, l interface{ Stats() discover.Stats }) {
	s := l.Stats()
	log.Debug("stats",
		"received", s.Received,
		"accepted", s.Accepted,
		"duplicates", s.Duplicates,
		"foreign", s.Foreign,
		"malformed", s.Malformed,
		"unsupported", s.Unsupported,
		"unknown_request", s.UnknownRequest,
		"other_iface", s.OtherIface,
		"off_link", s.OffLink,
		"table_full", s.TableFull,
		"evicted", s.Evicted,
		"implausible", s.Implausible,
		"superseded", s.Superseded,
		"queries_sent", s.QueriesSent,
		"send_errors", s.SendErrors,
		"sealed", s.Sealed,
		"unsealed", s.Unsealed,
		"rejected", s.Rejected,
		"stale", s.Stale,
		"relayed", s.Relayed)
}

// keyHint explains an empty search by what the listener dropped in keyed
// mode, or returns "": sealed datagrams heard without a key (a keyed LAN,
// or keyed services on a mixed one), clear ones heard with a key, sealed
// ones under another key.
func keyHint(l *discover.Listener, keyed bool) string {
	st := l.Stats()
	switch {
	case !keyed && st.Sealed > 0:
		return fmt.Sprintf("%s sealed with a shared key heard: services here are keyed; "+
			"give --secret-file FILE with their key to see them", plural(st.Sealed, "datagram"))
	case keyed && st.Rejected > 0:
		return fmt.Sprintf("%s sealed with another key heard: "+
			"is --secret-file the key the announcers use?", plural(st.Rejected, "datagram"))
	case keyed && st.Unsealed > 0:
		return fmt.Sprintf("%s without a seal heard: with --secret-file only keyed services "+
			"are seen; run without it to see the others", plural(st.Unsealed, "clear datagram"))
	}
	return ""
}

func plural(n uint64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// notFound is the exit status 1 of a search for name (if any) of type typ
// (if any) that nothing answered; when (if not "") says until when.
func notFound(name, typ, when string) *exitError {
	what := "no service"
	if name != "" {
		what += fmt.Sprintf(" named %q", tt.Clean(name, 63))
	}
	if typ != "" {
		what += fmt.Sprintf(" of type %q", tt.Clean(typ, 63))
	}
	what += " answered"
	if when != "" {
		what += " " + when
	}
	return &exitError{code: exitNotFound, msg: what}
}

// fewerThan is the exit status 1 of --wait N when only found instances
// were up when the timeout ran out.
func fewerThan(found, want int, when string) error {
	msg := fmt.Sprintf("%d of the %d instances --wait asked for answered %s", found, want, when)
	return &exitError{code: exitNotFound, msg: msg}
}

// within says until when a search that ran under ctx waited: "within 3s",
// or "before the interrupt" when SIGINT or SIGTERM ended ctx first.
func within(ctx context.Context, timeout time.Duration) string {
	if ctx.Err() != nil {
		return "before the interrupt"
	}
	return fmt.Sprintf("within %v", timeout)
}

// waitFor runs l until n instances are up at once or ctx ends, and returns
// the instances up at that moment, sorted as Collect sorts them. Unlike
// Collect it does not stop when answers settle: it also hears instances
// that start later, from their first announcement.
func waitFor(ctx context.Context, l *discover.Listener, n int) ([]discover.Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// An instance restarting under a new sender ID keeps its instance ID
	// and address; two processes claiming one instance ID have different
	// addresses.
	type key struct {
		instance uint64
		addr     netip.Addr
	}
	live := make(map[key]discover.Result)
	err := l.Run(ctx, func(ev discover.Event) {
		k := key{ev.Service.Instance, ev.Service.Addr}
		if ev.Kind == discover.EventDown {
			delete(live, k)
			return
		}
		live[k] = ev.Service
		if len(live) >= n {
			cancel()
		}
	})
	rs := slices.Collect(maps.Values(live))
	slices.SortFunc(rs, discover.CompareResults)
	return rs, err
}

// newPrinter reads --json, --format and --no-color, for results on w that
// show addresses of family (4, 6, or 0 for either).
func newPrinter(c *cli.Context, w io.Writer, family int) (output.Printer, error) {
	var tmpl *template.Template
	if c.IsSet("format") {
		var err error
		if tmpl, err = output.ParseFormat(c.String("format"), c.Bool("json")); err != nil {
			return output.Printer{}, usageErrorf("%s", err)
		}
	}
	st := tt.StyleFor(w, c.Bool("no-color"))
	return output.NewPrinter(w, c.Bool("json"), tmpl, st).WithFamily(family), nil
}
