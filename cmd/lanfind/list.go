package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"text/template"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/discover"
)

const defaultTimeout = 3 * time.Second

var flagWait = &cli.IntFlag{
	Name:  "wait",
	Usage: "return as soon as `N` matching instances are up (fewer by --timeout: exit 1)",
}

var flagMaxEntries = &cli.IntFlag{
	Name:  "max-entries",
	Usage: "keep at most `N` instances (more are dropped and counted)",
	Value: discover.DefaultMaxEntries,
}

// waitFlag returns --wait, 0 when not given.
func waitFlag(c *cli.Context) (int, error) {
	n := c.Int("wait")
	if n < 0 || n == 0 && c.IsSet("wait") {
		return 0, usageErrorf("--wait %d: want a number of instances, 1 or more", n)
	}
	return n, nil
}

func listCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list the services on the local network",
		UsageText: "lanfind list [--timeout D] [--wait N] [--name N] [--type T] [--iface IF]... [--json | --format TEMPLATE]",
		Description: "Queries the network and prints every matching instance as soon as the answers have settled\n" +
			"(usually a fraction of a second); --timeout is only the upper bound. With --wait N it prints\n" +
			"as soon as N instances are up instead, waiting up to --timeout for them.\n" +
			"Exit status: 0 when at least one instance (with --wait: N instances) matched, 1 when fewer did,\n" +
			"2 on error.",
		Flags: commonFlags(
			&cli.DurationFlag{Name: "timeout", Usage: "give up after `D` at most", Value: defaultTimeout},
			flagWait,
			flagMaxEntries,
			&cli.StringFlag{Name: "name", Usage: "only services named `NAME`"},
			&cli.StringFlag{Name: "type", Usage: "only services of type `TYPE`"},
			flagJSON,
			flagFormat,
			flagNoColor,
		),
		Action: runList,
	}
}

func resolveCommand() *cli.Command {
	return &cli.Command{
		Name:      "resolve",
		Usage:     "print ADDR:PORT of a service, for scripts",
		UsageText: "lanfind resolve NAME [--type T] [--timeout D] [--wait N] [--json | --format TEMPLATE]",
		Description: "Prints ADDR:PORT of the first instance named NAME the moment it answers; with --wait N,\n" +
			"one line for each of the first N instances, as soon as N are up.\n" +
			"Exit status: 0 when found (with --wait: N found), 1 when fewer answered within the timeout\n" +
			"(those found are still printed), 2 on error.",
		Flags: commonFlags(
			&cli.DurationFlag{Name: "timeout", Usage: "give up after `D` at most", Value: defaultTimeout},
			flagWait,
			flagMaxEntries,
			&cli.StringFlag{Name: "type", Usage: "only services of type `TYPE`"},
			flagJSON,
			flagFormat,
			flagNoColor, // accepted for symmetry: resolve prints no colour
		),
		Action: runResolve,
	}
}

// newListener checks the name filter (given as nameFlag) and --type, and
// opens a Listener for them.
func newListener(c *cli.Context, o common, nameFlag, name string) (*discover.Listener, error) {
	if err := checkName(nameFlag, name, nameFlag == "NAME"); err != nil {
		return nil, err
	}
	if err := checkName("--type", c.String("type"), false); err != nil {
		return nil, err
	}
	maxEntries := c.Int("max-entries")
	if maxEntries < 1 {
		return nil, usageErrorf("--max-entries %d: want a number of instances, 1 or more", maxEntries)
	}
	return discover.New(discover.Config{
		Name:              name,
		Type:              c.String("type"),
		Port:              o.port,
		Group:             o.group,
		Interfaces:        o.ifaces,
		NoBroadcast:       o.noBroadcast,
		NoMulticast:       o.noMulticast,
		Logger:            o.log,
		Keys:              o.keys,
		ExcludeInterfaces: o.excludes,
		MaxEntries:        maxEntries,
	})
}

func timeoutFlag(c *cli.Context) (time.Duration, error) {
	d := c.Duration("timeout")
	if d <= 0 {
		return 0, usageErrorf("--timeout %v: want a positive duration such as 2s", d)
	}
	return d, nil
}

func logStats(log *slog.Logger, l *discover.Listener) {
	s := l.Stats()
	log.Debug("stats", "received", s.Received, "accepted", s.Accepted, "duplicates", s.Duplicates,
		"foreign", s.Foreign, "malformed", s.Malformed, "unsupported", s.Unsupported,
		"unknown_request", s.UnknownRequest, "other_iface", s.OtherIface, "off_link", s.OffLink, "table_full", s.TableFull, "queries_sent", s.QueriesSent, "send_errors", s.SendErrors,
		"sealed", s.Sealed, "unsealed", s.Unsealed, "rejected", s.Rejected, "stale", s.Stale, "relayed", s.Relayed)
}

// searchFlags parses the flags list and resolve share.
func searchFlags(c *cli.Context) (o common, timeout time.Duration, wait int, p printer, err error) {
	if o, err = parseCommon(c, slog.LevelWarn); err != nil {
		return
	}
	if timeout, err = timeoutFlag(c); err != nil {
		return
	}
	if wait, err = waitFlag(c); err != nil {
		return
	}
	p, err = newPrinter(c)
	return
}

func runList(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf("list takes no arguments, got %q (use --name)", c.Args().First())
	}
	o, timeout, wait, p, err := searchFlags(c)
	if err != nil {
		return err
	}
	l, err := newListener(c, o, "--name", c.String("name"))
	if err != nil {
		return searchError(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(c.Context, timeout)
	defer cancel()
	start := time.Now()
	var rs []discover.Result
	if wait > 0 {
		rs, err = waitFor(ctx, l, wait)
	} else {
		rs, err = l.Collect(ctx)
	}
	o.log.Debug("list done", "found", len(rs), "elapsed", time.Since(start))
	logStats(o.log, l)
	if err != nil {
		return searchError(err)
	}
	if err := p.list(rs); err != nil {
		return searchError(err)
	}
	switch {
	case wait > 0 && len(rs) < wait:
		return fewerThan(len(rs), wait, within(c, timeout))
	case len(rs) == 0 && (p.json || p.tmpl != nil):
		return errNotFound // a script's empty result: "[]" or no lines
	case len(rs) == 0:
		// The table has no header without rows: say why the screen stays
		// empty. Collect gives up before the timeout once its repeated
		// queries stay unanswered, so the message names no duration.
		e := notFound(c.String("name"), c.String("type"), "")
		if c.String("name") == "" && c.String("type") == "" {
			e.hint = `run "lanfind doctor" here and on a host that announces to see why`
		}
		return e
	}
	return nil
}

// notFound is the exit status 1 of a search for name (if any) of type typ
// (if any) that nothing answered; when (if not "") says until when.
func notFound(name, typ, when string) *exitError {
	what := "no service"
	if name != "" {
		what += fmt.Sprintf(" named %q", clean(name, 63))
	}
	if typ != "" {
		what += fmt.Sprintf(" of type %q", clean(typ, 63))
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
	return &exitError{code: exitNotFound, msg: fmt.Sprintf("%d of the %d instances --wait asked for answered %s", found, want, when)}
}

// within says until when a search waited: "within 3s", or "before the
// interrupt" when SIGINT or SIGTERM ended it first.
func within(c *cli.Context, timeout time.Duration) string {
	if c.Context.Err() != nil {
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

func runResolve(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("resolve takes one NAME, got %d arguments", c.NArg())
	}
	name := c.Args().First()
	o, timeout, wait, p, err := searchFlags(c)
	if err != nil {
		return err
	}
	l, err := newListener(c, o, "NAME", name)
	if err != nil {
		return searchError(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(c.Context, timeout)
	defer cancel()
	var rs []discover.Result
	if wait > 1 {
		rs, err = waitFor(ctx, l, wait)
		rs = rs[:min(len(rs), wait)]
	} else {
		var r discover.Result
		r, err = l.Resolve(ctx)
		if err == nil {
			rs = []discover.Result{r}
		}
	}
	logStats(o.log, l)
	if errors.Is(err, discover.ErrNotFound) || (err == nil && len(rs) == 0) {
		return notFound(name, c.String("type"), within(c, timeout))
	}
	if err != nil {
		return searchError(err)
	}
	if err := p.resolved(rs); err != nil {
		return searchError(err)
	}
	if len(rs) < wait {
		return fewerThan(len(rs), wait, within(c, timeout))
	}
	return nil
}

// printer prints results as the flags ask: JSON, a --format template, or
// for people.
type printer struct {
	w    io.Writer
	json bool
	tmpl *template.Template // --format, or nil
	st   style
	now  func() time.Time
}

// newPrinter reads --json, --format and --no-color.
func newPrinter(c *cli.Context) (printer, error) {
	t, err := parseFormat(c)
	if err != nil {
		return printer{}, err
	}
	w := c.App.Writer
	return printer{w: w, json: c.Bool("json"), tmpl: t, st: styleFor(w, c.Bool("no-color")), now: time.Now}, nil
}

// list prints list's results: a JSON array, one template line per
// result, or a table (nothing when there are none).
func (p printer) list(rs []discover.Result) error {
	switch {
	case p.json:
		out := make([]jsonService, 0, len(rs))
		for _, r := range rs {
			out = append(out, toJSON(r))
		}
		return writeJSON(p.w, out)
	case p.tmpl != nil:
		return p.lines(rs)
	case len(rs) > 0:
		return writeTable(p.w, rs, p.st, p.now())
	}
	return nil
}

// resolved prints resolve's results, one line each: a JSON object, a
// template line, or ADDR:PORT.
func (p printer) resolved(rs []discover.Result) error {
	if p.tmpl != nil {
		return p.lines(rs)
	}
	for _, r := range rs {
		var err error
		if p.json {
			err = writeJSON(p.w, toJSON(r))
		} else {
			_, err = fmt.Fprintln(p.w, r.AddrPort())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p printer) lines(rs []discover.Result) error {
	for _, r := range rs {
		if err := formatLine(p.w, p.tmpl, toTemplate(r)); err != nil {
			return err
		}
	}
	return nil
}
