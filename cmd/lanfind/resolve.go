package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/discover"
	tt "github.com/lanfind/lanfind/internal/termtext"
)

func resolveCommand() *cli.Command {
	return &cli.Command{
		Name:  "resolve",
		Usage: "print ADDR:PORT of a service, for scripts",
		UsageText: "lanfind resolve NAME [--type T] [--timeout D] [--wait N] " +
			"[--json | --format TEMPLATE]",
		Description: "Prints ADDR:PORT of the first instance named NAME that answers, " +
			"once the answers to its query are in;\n" +
			"with --wait N, one line for each of the first N instances, as soon as N are up.\n" +
			"Exit status: 0 when found (with --wait: N found), " +
			"1 when fewer answered within the timeout\n" +
			"(those found are still printed) or when another announcer claims the same " +
			"instance (a conflict:\nnothing is printed), 2 on error.",
		Flags: commonFlags(
			flagTimeout,
			flagWait,
			flagMaxEntries,
			&cli.StringFlag{Name: "type", Usage: "only services of type `TYPE`"},
			flagJSON,
			flagFormat,
			flagNoColor, // accepted for symmetry: resolve prints no colour
			flagFamily,
			flagPreferIPv6,
			flagMDNS,
			flagSocket,
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("resolve takes one NAME, got %d arguments", c.NArg())
			}
			o, s, err := bindSearch(c)
			if err != nil {
				return s.exit(err)
			}
			opts := resolveOptions{
				searchOptions: o,
				name:          c.Args().First(),
			}
			return s.exit(runResolve(c.Context, s, opts))
		},
	}
}

// resolveOptions are resolve's flags and argument.
type resolveOptions struct {
	searchOptions
	name string // NAME
}

func runResolve(ctx context.Context, s streams, opts resolveOptions) error {
	l, searchCtx, done, err := openSearch(ctx, s, opts.searchOptions, "NAME", opts.name)
	if err != nil {
		return searchError(err)
	}
	defer done()
	var rs []discover.Result
	switch {
	case opts.wait > 1:
		rs, err = collectAll(searchCtx, s, opts.searchOptions, l, opts.name)
		rs = rs[:min(len(rs), opts.wait)]
	default:
		var r discover.Result
		r, err = resolveFirst(searchCtx, s, opts.searchOptions, l, opts.name)
		if err == nil {
			rs = []discover.Result{r}
		}
	}
	logStats(s.Log, l)
	if errors.Is(err, discover.ErrNotFound) || (err == nil && len(rs) == 0) {
		e := notFound(opts.name, opts.typ, within(ctx, opts.timeout))
		e.hint = keyHint(l, len(opts.keys) > 0)
		return e
	}
	if err != nil {
		return searchError(err)
	}
	if err := contested(opts.name, rs); err != nil {
		return err
	}
	if err := opts.printer.Resolved(rs); err != nil {
		return searchError(err)
	}
	if len(rs) < opts.wait {
		return fewerThan(len(rs), opts.wait, within(ctx, opts.timeout))
	}
	return nil
}

// resolveFirst returns the first instance named name that answers, from
// lanfind's own protocol or, with --mdns, from mDNS (a resident's cache,
// or a browser of its own): both search at once.
func resolveFirst(ctx context.Context, s streams, o searchOptions, l *discover.Listener, name string) (
	discover.Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		r   discover.Result
		err error
	}
	answers := make(chan answer, 2)
	go func() {
		r, err := l.Resolve(ctx)
		answers <- answer{r, err}
	}()
	m, closeM, err := openMDNSSearch(ctx, s, o, name, true)
	if err != nil {
		cancel()
		<-answers
		return discover.Result{}, err
	}
	defer closeM()
	if !m.active() {
		a := <-answers
		return a.r, a.err
	}
	go func() {
		r, err := m.resolve(ctx)
		answers <- answer{r, err}
	}()
	first := <-answers
	if first.err == nil {
		return first.r, nil
	}
	second := <-answers
	if second.err == nil {
		return second.r, nil
	}
	if errors.Is(first.err, discover.ErrNotFound) {
		return first.r, second.err
	}
	return first.r, first.err
}

// contested is the exit status 1 of a resolve whose answer another
// announcer claims too (two processes announce one instance ID: a cloned
// machine, or a forged announcer): resolve does not choose between them.
func contested(name string, rs []discover.Result) error {
	for _, r := range rs {
		if r.Conflict {
			return &exitError{
				code: exitNotFound,
				msg: fmt.Sprintf("%q at %v is in conflict: another announcer claims the same "+
					"instance (a cloned machine, or a forged announcer); not choosing",
					tt.Clean(name, 63), r.AddrPort()),
				hint: fmt.Sprintf("lanfind list --name %s shows every claimant; "+
					"give each machine its own /etc/machine-id", tt.Clean(name, 63)),
			}
		}
	}
	return nil
}
