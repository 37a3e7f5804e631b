package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/gdamore/tcell/v2"
	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/discover"
)

func watchCommand() *cli.Command {
	return &cli.Command{
		Name:      "watch",
		Usage:     "print one line per change (a live table on a terminal) until interrupted",
		UsageText: "lanfind watch [--name N] [--type T] [--json | --format TEMPLATE | --lines]",
		Description: "On a terminal: a live table that updates in place (q quits); departures stay a few seconds\n" +
			"with their reason. Otherwise, and with --lines, --json or --format: one line per event.\n" +
			"Events: up (first heard), update (metadata, port or addresses changed),\n" +
			"down with reason goodbye (the announcer stopped), expired (its TTL ran out)\n" +
			"or iface-down (it was heard only through interfaces that went away).\n" +
			"--json prints one object per line: {\"event\":…,\"reason\":…,\"service\":{…as in list…}}.",
		Flags: commonFlags(
			flagMaxEntries,
			&cli.StringFlag{Name: "name", Usage: "only services named `NAME`"},
			&cli.StringFlag{Name: "type", Usage: "only services of type `TYPE`"},
			flagJSON,
			flagFormat,
			&cli.BoolFlag{Name: "lines", Usage: "one line per event even on a terminal"},
			flagNoColor,
		),
		Action: runWatch,
	}
}

func runWatch(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf("watch takes no arguments, got %q", c.Args().First())
	}
	// The live table owns the terminal: logs meant for it wait until the
	// table is gone.
	live := !c.Bool("json") && !c.IsSet("format") && !c.Bool("lines") && isTerminal(c.App.Writer)
	held := &heldLog{out: c.App.ErrWriter}
	if live && isTerminal(c.App.ErrWriter) {
		held.out = nil
		stderr := c.App.ErrWriter
		c.App.ErrWriter = held
		defer func() {
			c.App.ErrWriter = stderr
			held.release(stderr)
		}()
	}
	o, err := parseCommon(c, slog.LevelWarn)
	if err != nil {
		return err
	}
	p, err := newPrinter(c)
	if err != nil {
		return err
	}
	l, err := newListener(c, o, "--name", c.String("name"))
	if err != nil {
		return runtimeError(err)
	}
	defer l.Close()
	if live {
		s, err := tcell.NewScreen()
		if err == nil {
			err = s.Init()
		}
		if err == nil {
			err := runWatchTUI(c.Context, l, s, p.st)
			logStats(o.log, l)
			return runtimeError(err)
		}
		held.release(c.App.ErrWriter)
		o.log.Debug("no live table: one line per event", "err", err)
	}
	// A write error (a closed pipe: "lanfind watch | head -1") ends the watch.
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	var werr error
	err = l.Run(ctx, func(ev discover.Event) {
		if werr != nil {
			return
		}
		if werr = p.event(ev); werr != nil {
			cancel()
		}
	})
	logStats(o.log, l)
	if werr != nil {
		return runtimeError(werr)
	}
	return runtimeError(err)
}

// event prints one watch event as one line: JSON, a template line, or text.
func (p printer) event(ev discover.Event) error {
	switch {
	case p.json:
		return writeJSON(p.w, jsonEvent{Event: ev.Kind.String(), Reason: ev.Reason, Service: toJSON(ev.Service)})
	case p.tmpl != nil:
		t := toTemplate(ev.Service)
		t.Event, t.Reason = ev.Kind.String(), ev.Reason
		return formatLine(p.w, p.tmpl, t)
	}
	r := ev.Service
	what := ev.Kind.String()
	if ev.Reason != "" {
		what += " (" + clean(ev.Reason, 16) + ")"
	}
	sgr := map[discover.EventKind]string{discover.EventUp: p.st.up, discover.EventUpdate: p.st.update, discover.EventDown: p.st.down}[ev.Kind]
	_, err := fmt.Fprintf(p.w, "%s %s %s %s %s %s %s\n", p.st.paint(sgr, fmt.Sprintf("%-16s", what)),
		p.st.paint(p.st.name, clean(r.Name, capName)), orDash(clean(r.Type, capType)),
		r.AddrPort(), orDash(clean(r.Iface, capIface)), orDash(clean(r.Host, capHost)), orDash(metaString(r.Meta)))
	return err
}

// heldLog keeps log output while the live table is on the terminal, up to
// heldLogMax bytes; later lines are counted and dropped. Once released, or
// with out set from the start, it writes straight to out. It is safe for
// concurrent use.
type heldLog struct {
	// mu guards the fields below.
	mu      sync.Mutex
	out     io.Writer // nil while holding
	buf     bytes.Buffer
	dropped int
}

const heldLogMax = 64 << 10

func (h *heldLog) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.out != nil:
		return h.out.Write(p)
	case h.buf.Len()+len(p) > heldLogMax:
		h.dropped++
	default:
		h.buf.Write(p)
	}
	return len(p), nil
}

// release writes what was held to w and from then on writes through.
func (h *heldLog) release(w io.Writer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.out != nil {
		return
	}
	h.out = w
	w.Write(h.buf.Bytes()) // stderr: nowhere to report a failure
	if h.dropped > 0 {
		fmt.Fprintf(w, "lanfind: warning: %d log lines dropped while the live table was shown\n", h.dropped)
	}
	h.buf.Reset()
}
