package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/lanfind/lanfind/discover"
	tt "github.com/lanfind/lanfind/internal/termtext"
)

// tmplService is what a --format template sees for each result: the fields
// of the JSON form (see Service) under their Go names. Untrusted text
// (Name, Type, Iface, Host, Meta keys and values) is escaped as in the
// table (clean) but never cut short: a template cannot write a control
// character or an escape sequence that came from the network. Scripts that
// need the exact bytes use --json.
type tmplService struct {
	Name     string
	Type     string
	Port     uint16
	Addr     string   // the address to connect to (the source of the beacon)
	Addrs    []string // the addresses the announcer reports, best first
	Iface    string
	Host     string
	Instance string // 16 hex digits
	Meta     map[string]string
	TTL      time.Duration
	LastSeen time.Time
	Conflict bool
	// Verified reports whether the result was authenticated with a shared
	// key (--secret-file).
	Verified bool

	// Source is "lanfind" or "mdns"; Proto is "tcp" or "udp" for mdns.
	Source string
	Proto  string

	// Event and Reason are set by watch only: "up", "update" or "down",
	// and for down "goodbye", "expired" or another reason.
	Event  string
	Reason string
	// Time is when the event happened (watch), or when the result was
	// printed (list, resolve).
	Time time.Time
}

// toTemplate returns what a template sees of r, printed at now. Times
// lose their monotonic clock reading, which {{.LastSeen}} would otherwise
// print as "m=+0.000123".
func toTemplate(r discover.Result, now time.Time) tmplService {
	t := tmplService{
		Name:     tt.Clean(r.Name, -1),
		Type:     tt.Clean(r.Type, -1),
		Port:     r.Port,
		Addr:     r.Addr.String(),
		Addrs:    []string{},
		Iface:    tt.Clean(r.Iface, -1),
		Host:     tt.Clean(r.Host, -1),
		Instance: fmt.Sprintf("%016x", r.Instance),
		Meta:     make(map[string]string, len(r.Meta)),
		TTL:      r.TTL,
		LastSeen: r.LastSeen.Round(0),
		Conflict: r.Conflict,
		Verified: r.Verified,
		Time:     now.Round(0),
		Source:   Source(r),
		Proto:    r.Proto,
	}
	for _, a := range r.Addrs {
		t.Addrs = append(t.Addrs, a.String())
	}
	for k, v := range maps.All(r.Meta) {
		t.Meta[tt.Clean(k, -1)] = tt.Clean(v, -1)
	}
	return t
}

// templateFuncs are the functions --format templates may call besides the
// text/template built-ins.
var templateFuncs = template.FuncMap{
	// join joins a list: {{join .Addrs ","}}.
	"join": func(elems []string, sep string) string { return strings.Join(elems, sep) },
	// json writes any value as JSON: {{json .Host}} is a quoted string.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

// sampleService is what a template is tried on before the command starts,
// so that a misspelt field is a usage error at once rather than after the
// network has answered.
var sampleService = tmplService{
	Name:     "db",
	Type:     "postgres",
	Port:     5432,
	Addr:     "10.0.0.2",
	Addrs:    []string{"10.0.0.2"},
	Iface:    "eth0",
	Host:     "nas",
	Instance: "0123456789abcdef",
	Meta:     map[string]string{"version": "16"},
	TTL:      15 * time.Second,
	LastSeen: time.Unix(0, 0),
	Event:    "up",
	Time:     time.Unix(0, 0),
}

// ParseFormat returns the template of --format text (asJSON: --json was
// given too). It fails with a *FormatError when the template does not
// parse, refers to a field that does not exist, or is combined with
// --json.
func ParseFormat(text string, asJSON bool) (*template.Template, error) {
	if asJSON {
		return nil, formatErrorf("--format and --json cannot be used together")
	}
	if text == "" {
		return nil, formatErrorf("--format: empty template")
	}
	t, err := template.New("--format").Funcs(templateFuncs).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, formatErrorf("%s", tt.OneLine(err.Error(), 300))
	}
	if f := unknownTopField(t); f != "" {
		return nil, formatErrorf("--format: no field .%s; the fields are %s", f, templateFields())
	}
	if err := t.Execute(io.Discard, sampleService); err != nil && isFieldError(err) {
		if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
			// Not "can't evaluate field Nmae in type output.tmplService".
			return nil, formatErrorf("--format: no field .%s; the fields are %s",
				m[1], templateFields())
		}
		return nil, formatErrorf("%s", tt.OneLine(err.Error(), 300))
	}
	return t, nil
}

// unknownField matches text/template's error for a field a result does not
// have (not one of a map value or a string).
var unknownField = regexp.MustCompile(`can't evaluate field (\w+) in type ` +
	regexp.QuoteMeta(reflect.TypeFor[tmplService]().String()))

// unknownTopField returns the first field of a result that t names but a
// result does not have, in every branch of t: trying t on sampleService
// only checks the branches the sample takes ({{if .Conflict}}…{{end}} is
// skipped). Inside range and with, dot is something else and is not
// checked here; $ always is the result.
func unknownTopField(t *template.Template) string {
	known := map[string]bool{}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[tmplService]()) {
		known[f.Name] = true
	}
	var bad string
	var walk func(n parse.Node, dotIsResult bool)
	walk = func(n parse.Node, dotIsResult bool) {
		if bad != "" {
			return
		}
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c, dotIsResult)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe, dotIsResult)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c, dotIsResult)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a, dotIsResult)
			}
		case *parse.ChainNode:
			walk(n.Node, dotIsResult)
		case *parse.FieldNode:
			if dotIsResult && !known[n.Ident[0]] {
				bad = n.Ident[0]
			}
		case *parse.VariableNode:
			if n.Ident[0] == "$" && len(n.Ident) > 1 && !known[n.Ident[1]] {
				bad = n.Ident[1]
			}
		case *parse.IfNode:
			walk(n.Pipe, dotIsResult)
			walk(n.List, dotIsResult)
			walk(n.ElseList, dotIsResult)
		case *parse.RangeNode:
			walk(n.Pipe, dotIsResult)
			walk(n.List, false)
			walk(n.ElseList, dotIsResult)
		case *parse.WithNode:
			walk(n.Pipe, dotIsResult)
			walk(n.List, false)
			walk(n.ElseList, dotIsResult)
		}
	}
	walk(t.Tree.Root, true)
	return bad
}

// templateFields lists the fields of a --format result: ".Name .Type ...".
func templateFields() string {
	var names []string
	for _, f := range reflect.VisibleFields(reflect.TypeFor[tmplService]()) {
		names = append(names, "."+f.Name)
	}
	return strings.Join(names, " ")
}

// isFieldError reports whether err says that a template names a field or
// method the data does not have. Other execution errors (an index out of
// range on the sample, say) may not happen with real data.
func isFieldError(err error) bool {
	var ee template.ExecError
	return errors.As(err, &ee) && (strings.Contains(err.Error(), "can't evaluate field") ||
		strings.Contains(err.Error(), "is not a method"))
}

// formatLine executes t on one result and writes it as one line: the
// output's own newlines (from the template's text) are kept, and a final
// newline is added. An execution error is a *FormatError.
func formatLine(w io.Writer, t *template.Template, data tmplService) error {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return formatErrorf("%s", tt.OneLine(err.Error(), 300))
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// FormatError is a problem with a --format template: it does not parse,
// names a field a result does not have, or fails on a result. For the
// command line it is a usage error.
type FormatError struct{ msg string }

func (e *FormatError) Error() string { return e.msg }

func formatErrorf(format string, args ...any) error {
	return &FormatError{msg: fmt.Sprintf(format, args...)}
}
