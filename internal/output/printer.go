package output

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"text/template"
	"time"

	"github.com/lanfind/lanfind/discover"
	tt "github.com/lanfind/lanfind/internal/termtext"
)

// Printer prints results as the flags ask: JSON, a --format template, or
// for people.
type Printer struct {
	w    io.Writer
	json bool
	tmpl *template.Template // --format, or nil
	st   tt.Style
	now  func() time.Time
	fam  int // 4, 6, or 0: see WithFamily
}

// WithFamily returns p printing for --family f (4 or 6; 0: either): each
// result's addrs and seen paths of that family only, and as its address
// the best one of it ([View]).
func (p Printer) WithFamily(f int) Printer {
	p.fam = f
	return p
}

// View returns r as lanfind prints it for family f (4 or 6; 0: either):
// Addr is the address to connect to, [discover.Result.AddrOf] (the best
// of Addrs, or a path's source when the announcer lists none of f); with
// f, Addrs and Paths keep only that family.
func View(r discover.Result, f int) discover.Result {
	if a, ok := r.AddrOf(f); ok {
		r.Addr = a
	}
	if f != 0 {
		of := func(a netip.Addr) bool { return (f == 6) != (a.Is6() && !a.Is4In6()) }
		r.Addrs = slices.DeleteFunc(slices.Clone(r.Addrs), of)
		r.Paths = slices.DeleteFunc(slices.Clone(r.Paths),
			func(p discover.Path) bool { return of(p.Addr) })
	}
	return r
}

// NewPrinter returns a Printer of results to w: JSON with asJSON, else
// lines of tmpl if not nil, else text for people in style st.
func NewPrinter(w io.Writer, asJSON bool, tmpl *template.Template, st tt.Style) Printer {
	return Printer{
		w:    w,
		json: asJSON,
		tmpl: tmpl,
		st:   st,
		now:  time.Now,
	}
}

// To returns p printing to w instead, in the same style (chosen for the
// writer p was made for).
func (p Printer) To(w io.Writer) Printer {
	p.w = w
	return p
}

// Scripted reports whether p prints for scripts (JSON or a template)
// rather than for people.
func (p Printer) Scripted() bool { return p.json || p.tmpl != nil }

// Style returns the style p prints for people with.
func (p Printer) Style() tt.Style { return p.st }

// List prints list's results: a JSON array, one template line per
// result, or a table (nothing when there are none).
func (p Printer) List(rs []discover.Result) error {
	switch {
	case p.json:
		out := make([]Service, 0, len(rs))
		for _, r := range rs {
			out = append(out, FromResult(View(r, p.fam)))
		}
		return tt.WriteJSON(p.w, out)
	case p.tmpl != nil:
		return p.lines(rs)
	case len(rs) > 0:
		return writeTable(p.w, p.views(rs), p.st, p.now())
	}
	return nil
}

func (p Printer) views(rs []discover.Result) []discover.Result {
	out := make([]discover.Result, 0, len(rs))
	for _, r := range rs {
		out = append(out, View(r, p.fam))
	}
	return out
}

// Resolved prints resolve's results, one line each: a JSON object, a
// template line, or ADDR:PORT.
func (p Printer) Resolved(rs []discover.Result) error {
	if p.tmpl != nil {
		return p.lines(rs)
	}
	for _, r := range p.views(rs) {
		var err error
		if p.json {
			err = tt.WriteJSON(p.w, FromResult(r))
		} else {
			_, err = fmt.Fprintln(p.w, r.AddrPort())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p Printer) lines(rs []discover.Result) error {
	now := p.now()
	for _, r := range p.views(rs) {
		if err := formatLine(p.w, p.tmpl, toTemplate(r, now)); err != nil {
			return err
		}
	}
	return nil
}

// Event prints one watch event as one line: JSON, a template line, or text.
// Listener.Run calls back the moment it notices an event, so the time
// printed for it (JSON "time", template .Time) is when it happened.
func (p Printer) Event(ev discover.Event) error {
	ev.Service = View(ev.Service, p.fam)
	now := p.now()
	switch {
	case p.json:
		return tt.WriteJSON(p.w, FromEvent(ev, now))
	case p.tmpl != nil:
		t := toTemplate(ev.Service, now)
		t.Event, t.Reason = ev.Kind.String(), ev.Reason
		return formatLine(p.w, p.tmpl, t)
	}
	r := ev.Service
	what := ev.Kind.String()
	if ev.Reason != "" {
		what += " (" + tt.Clean(ev.Reason, 16) + ")"
	}
	var sgr string
	switch ev.Kind {
	case discover.EventUp:
		sgr = p.st.Up
	case discover.EventUpdate:
		sgr = p.st.Update
	case discover.EventDown:
		sgr = p.st.Down
	}
	if r.Conflict {
		what, sgr = what+" "+ConflictMark, p.st.Down
	}
	_, err := fmt.Fprintf(p.w, "%s %s %s %s %s %s %s\n",
		p.st.Paint(sgr, fmt.Sprintf("%-16s", what)),
		p.st.Paint(p.st.Name, tt.Clean(r.Name, tt.CapName)),
		tt.OrDash(tt.Clean(r.Type, tt.CapType)),
		r.AddrPort(),
		tt.OrDash(tt.Clean(r.Iface, tt.CapIface)),
		tt.OrDash(tt.Clean(r.Host, tt.CapHost)),
		tt.OrDash(metaString(r.Meta)))
	return err
}
