package output

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lanfind/lanfind/discover"
	tt "github.com/lanfind/lanfind/internal/termtext"
)

// hostile is what an attacker on the LAN can put in a name, a type, a host
// name or metadata: terminal escape sequences of every kind, C1 controls,
// bidirectional overrides, newlines and invalid UTF-8.
var hostile = []string{
	"\x1b[2J\x1b[H",                  // CSI: clear the screen, cursor home
	"\x1b]0;owned\x07",               // OSC: set the window title
	"\x1b]8;;http://evil/\x1b\\link", // OSC 8 hyperlink
	"\x1bP+q\x1b\\",                  // DCS
	"\u009b31m",                      // C1 CSI
	"\u0085next line",                // C1 NEL
	"safe\u202egnp.exe",              // right-to-left override
	"a\u2066b\u2069",                 // bidi isolates
	"zero\u200bwidth",                // zero-width space
	"line\nbreak\rreturn\ttab",       // C0 layout controls
	"bad\xff\xfeutf8\xc3",            // invalid UTF-8
	"\x00nul\x7fdel",
	"tag\U000e0041astral", // an unprintable rune outside the BMP
}

// hostileResult returns a result with s in every untrusted field.
func hostileResult(s string) discover.Result {
	return discover.Result{
		Instance: 1, Name: s, Type: s, Port: 80, Host: s, Iface: "eth0",
		Meta:     map[string]string{s: s, "k": s},
		Addr:     netip.MustParseAddr("10.0.0.2"),
		Addrs:    []netip.Addr{netip.MustParseAddr("10.0.0.2")},
		TTL:      15 * time.Second,
		LastSeen: time.Unix(100, 0),
	}
}

// checkSafe fails unless out, once the SGR sequences of st are removed,
// holds only printable text, spaces and newlines.
func checkSafe(t *testing.T, what, out string, st tt.Style) {
	t.Helper()
	for _, sgr := range []string{st.Header, st.Name, st.Dim, st.Up, st.Update, st.Down, "0"} {
		if sgr != "" {
			out = strings.ReplaceAll(out, "\x1b["+sgr+"m", "")
		}
	}
	if !utf8.ValidString(out) {
		t.Errorf("%s: invalid UTF-8 in %q", what, out)
	}
	for _, r := range out {
		if r == '\n' || r == ' ' {
			continue
		}
		if !unicode.IsPrint(r) { // C0, DEL, C1, bidi and other format characters, separators
			t.Errorf("%s: unsafe rune %U in %q", what, r, out)
		}
	}
}

func TestHostileTextIsEscaped(t *testing.T) {
	for _, st := range []tt.Style{{}, tt.Colours} {
		for _, s := range hostile {
			r := hostileResult(s)
			var b bytes.Buffer
			if err := writeTable(&b, []discover.Result{r}, st, time.Unix(104, 0)); err != nil {
				t.Fatal(err)
			}
			checkSafe(t, "table", b.String(), st)
			for _, kind := range []discover.EventKind{discover.EventUp, discover.EventDown} {
				b.Reset()
				p := Printer{w: &b, st: st, now: time.Now}
				if err := p.Event(discover.Event{Kind: kind, Reason: s, Service: r}); err != nil {
					t.Fatal(err)
				}
				checkSafe(t, "watch line", b.String(), st)
			}

			b.Reset()
			tmpl := mustFormat(t, `{{.Name}} {{.Type}} {{.Host}} {{.Iface}} {{range $k, $v := .Meta}}{{$k}}={{$v}} {{end}}{{json .Host}}`)
			if err := formatLine(&b, tmpl, toTemplate(r, time.Unix(200, 0))); err != nil {
				t.Fatal(err)
			}
			checkSafe(t, "--format", b.String(), tt.Style{})
			if n := strings.Count(b.String(), "\n"); n != 1 {
				t.Errorf("--format: got %d lines, want 1: %q", n, b.String())
			}
		}
	}
}

func TestJSONValidForAnyBytes(t *testing.T) {
	for _, s := range hostile {
		var b bytes.Buffer
		if err := tt.WriteJSON(&b, []Service{FromResult(hostileResult(s))}); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b.Bytes()) {
			t.Errorf("invalid JSON for %q: %s", s, b.Bytes())
		}
		if !utf8.Valid(b.Bytes()) {
			t.Errorf("invalid UTF-8 in JSON for %q", s)
		}
		checkSafe(t, "JSON", b.String(), tt.Style{})
		if n := bytes.Count(b.Bytes(), []byte("\n")); n != 1 {
			t.Errorf("JSON for %q: got %d lines, want 1", s, n)
		}
		var back []Service
		if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back) != 1 {
			t.Fatalf("decode: %v", err)
		}
		var want strings.Builder // each invalid byte becomes one U+FFFD
		for _, r := range s {
			want.WriteRune(r)
		}
		if back[0].Name != want.String() {
			t.Errorf("name round trip: got %q, want %q", back[0].Name, want.String())
		}
	}
}

func TestTableAligned(t *testing.T) {
	now := time.Unix(1000, 0)
	rs := []discover.Result{
		{Name: "db", Type: "postgres", Port: 5432, Addr: netip.MustParseAddr("10.0.0.2"), Iface: "eth0", Host: "nas",
			LastSeen: now.Add(-4 * time.Second), Meta: map[string]string{"version": "16"}},
		{Name: "数据库", Port: 80, Addr: netip.MustParseAddr("10.0.0.10"), Iface: "eth0", LastSeen: now},
	}
	var b bytes.Buffer
	if err := writeTable(&b, rs, tt.Style{}, now); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAME    TYPE      ADDRESS    PORT  IFACE  HOST  SEEN    META\n" +
		"db      postgres  10.0.0.2   5432  eth0   nas   4s ago  version=16\n" +
		"数据库  -         10.0.0.10  80    eth0   -     now     -\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// mustFormat parses a --format template as the CLI does.
func mustFormat(t *testing.T, text string) *template.Template {
	t.Helper()
	tmpl, err := ParseFormat(text, false)
	if err != nil {
		t.Fatalf("ParseFormat(%q): %v", text, err)
	}
	return tmpl
}

func TestFormat(t *testing.T) {
	r := hostileResult("db")
	r.Addrs = append(r.Addrs, netip.MustParseAddr("172.17.0.1"))
	r.Meta = map[string]string{"version": "16"}
	tests := []struct {
		text string
		want string
	}{
		{"{{.Addr}}:{{.Port}}", "10.0.0.2:80\n"},
		{"{{.Name}} {{.Type}} {{.Host}} {{.Iface}} {{.Instance}}", "db db db eth0 0000000000000001\n"},
		{`{{join .Addrs ","}}`, "10.0.0.2,172.17.0.1\n"},
		{"{{.Meta.version}}|{{.Meta.missing}}|{{index .Meta \"version\"}}", "16||16\n"},
		{"{{.TTL}} {{.LastSeen.Unix}} {{.Conflict}} {{.Verified}}", "15s 100 false false\n"},
		{"{{json .Meta}} {{json .Name}}", `{"version":"16"} "db"` + "\n"},
		{"[{{.Event}}]", "[]\n"},
		{"two\nlines", "two\nlines\n"},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		err := formatLine(&b, mustFormat(t, tc.text), toTemplate(r, time.Unix(200, 0)))
		if err != nil {
			t.Errorf("%q: %v", tc.text, err)
			continue
		}
		if got := b.String(); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestFormatErrors(t *testing.T) {
	tests := []struct {
		text   string
		asJSON bool
		want   string
	}{
		{"{{.Addr}", false, "bad character"},
		{"{{.Nmae}}", false, "--format: no field .Nmae; the fields are .Name .Type .Port .Addr " +
			".Addrs .Iface .Host .Instance .Meta .TTL .LastSeen .Conflict .Verified .Source .Proto .Event .Reason .Time"},
		{"{{.Meta.x.y}}", false, "can't evaluate field y in type string"},
		{"{{if .Conflict}}{{.Nmae}}{{end}}", false, "--format: no field .Nmae;"},
		{"{{with .Meta}}{{.x}}{{else}}{{.Hots}}{{end}}", false, "--format: no field .Hots;"},
		{"{{range .Addrs}}{{$.Adr}}{{end}}", false, "--format: no field .Adr;"},
		{"{{range $a := .Addrs}}{{$a}} {{$.Name}}{{end}}{{with .Meta}}{{.anykey}}{{end}}", false, ""},
		{"{{if .Verified}}{{json .Host | printf \"%s\"}}{{end}}", false, ""},
		{"{{index .Addrs 3}}", false, ""}, // fails on the sample, but may not on real data
		{"", false, "--format: empty template"},
		{"{{.Addr}}", true, "--format and --json cannot be used together"},
		{"{{nosuchfunc .Addr}}", false, `function "nosuchfunc" not defined`},
	}
	for _, tc := range tests {
		_, err := ParseFormat(tc.text, tc.asJSON)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: got %v, want no error before execution", tc.text, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: got %v, want an error containing %q", tc.text, err, tc.want)
		case err != nil:
			if fe, ok := err.(*FormatError); !ok || strings.Contains(fe.msg, "\n") {
				t.Errorf("%q: got %#v, want a one-line *FormatError", tc.text, err)
			}
		}
	}
	// Execution errors are usage errors too.
	tmpl := mustFormat(t, `{{index .Addrs 5}}`)
	err := formatLine(&bytes.Buffer{}, tmpl, toTemplate(hostileResult("db"), time.Unix(200, 0)))
	if fe, ok := err.(*FormatError); !ok || !strings.Contains(fe.msg, "index out of range") {
		t.Errorf("execution error: got %v, want a *FormatError about the index", err)
	}
}

// TestEventTime checks that every watch event says when it happened: a
// "time" field in JSON and .Time in templates, in RFC 3339, and that no
// time a template prints carries Go's monotonic clock reading ("m=+…").
func TestEventTime(t *testing.T) {
	at := time.Date(2026, 12, 6, 3, 4, 5, 600_000_000, time.FixedZone("CET", 3600))
	r := hostileResult("db")
	r.LastSeen = time.Now() // with a monotonic clock reading, as the listener's clock gives
	ev := discover.Event{Kind: discover.EventDown, Reason: discover.ReasonExpired, Service: r}

	var b bytes.Buffer
	p := Printer{w: &b, json: true, now: func() time.Time { return at }}
	if err := p.Event(ev); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Event string `json:"event"`
		Time  string `json:"time"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, b.Bytes())
	}
	if want := "2026-12-06T02:04:05.6Z"; got.Time != want {
		t.Errorf("JSON time: got %q, want %q", got.Time, want)
	}
	if !strings.HasSuffix(strings.TrimSpace(b.String()), `,"time":"2026-12-06T02:04:05.6Z"}`) {
		t.Errorf("JSON: got %s, want \"time\" added at the end", b.Bytes())
	}

	b.Reset()
	p = Printer{
		w: &b,
		tmpl: mustFormat(t,
			`{{.Event}} {{.Time.UTC.Format "2006-01-02T15:04:05Z07:00"}}|{{.Time}}|{{.LastSeen}}`),
		now: func() time.Time { return at },
	}
	if err := p.Event(ev); err != nil {
		t.Fatal(err)
	}
	line := b.String()
	want := "down 2026-12-06T02:04:05Z|2026-12-06 03:04:05.6 +0100 CET|"
	if !strings.HasPrefix(line, want) {
		t.Errorf("template: got %q, want it to start with %q", line, want)
	}
	if strings.Contains(line, "m=") {
		t.Errorf("template: got %q, with a monotonic clock reading", line)
	}

	// list and resolve: .Time is when the result was printed.
	b.Reset()
	p.tmpl = mustFormat(t, `{{.Time.Unix}} {{.LastSeen}}`)
	p.now = func() time.Time { return time.Now() }
	if err := p.List([]discover.Result{r}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "m=") || strings.HasPrefix(b.String(), "-") {
		t.Errorf("list template: got %q", b.String())
	}
}

// TestConflictMarked: an instance in conflict is marked in the table and
// in watch lines, and only that one.
func TestConflictMarked(t *testing.T) {
	ok, contested := hostileResult("db"), hostileResult("db")
	contested.Conflict, contested.Addr = true, netip.MustParseAddr("10.0.0.3")
	var table bytes.Buffer
	p := NewPrinter(&table, false, nil, tt.Style{})
	if err := p.List([]discover.Result{ok, contested}); err != nil {
		t.Fatal(err)
	}
	var lines bytes.Buffer
	p = NewPrinter(&lines, false, nil, tt.Style{})
	for _, r := range []discover.Result{ok, contested} {
		if err := p.Event(discover.Event{Kind: discover.EventUp, Service: r}); err != nil {
			t.Fatal(err)
		}
	}
	for what, out := range map[string]string{"table": table.String(), "lines": lines.String()} {
		var marked []bool
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.Contains(l, "10.0.0.") {
				marked = append(marked, strings.Contains(l, ConflictMark))
			}
		}
		if len(marked) != 2 || marked[0] || !marked[1] {
			t.Errorf("%s: got marks %v in\n%s\nwant the second of two rows marked %s",
				what, marked, out, ConflictMark)
		}
	}
}
