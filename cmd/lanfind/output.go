package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rivo/uniseg"

	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/termtext"
)

// jsonService is the JSON form of one instance, shared by list, resolve
// and watch. Field names are part of the CLI's stable interface (the
// schema is in the README); new fields are only ever added at the end.
// encoding/json replaces invalid UTF-8 with U+FFFD and escapes control
// characters, so the output is valid JSON whatever bytes the network sent.
type jsonService struct {
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Port       uint16            `json:"port"`
	Addr       string            `json:"addr"`
	Addrs      []string          `json:"addrs"`
	Iface      string            `json:"iface"`
	Host       string            `json:"host"`
	Instance   string            `json:"instance"`
	Meta       map[string]string `json:"meta"`
	TTLSeconds float64           `json:"ttl_seconds"`
	LastSeen   string            `json:"last_seen"`
	Seen       []jsonPath        `json:"seen"`
	Conflict   bool              `json:"conflict"`
	Verified   bool              `json:"verified"`
}

type jsonPath struct {
	Iface string `json:"iface"`
	Addr  string `json:"addr"`
}

type jsonEvent struct {
	Event   string      `json:"event"`
	Reason  string      `json:"reason"`
	Service jsonService `json:"service"`
}

func toJSON(r discover.Result) jsonService {
	j := jsonService{
		Name:       r.Name,
		Type:       r.Type,
		Port:       r.Port,
		Addr:       r.Addr.String(),
		Addrs:      []string{},
		Iface:      r.Iface,
		Host:       r.Host,
		Instance:   fmt.Sprintf("%016x", r.Instance),
		Meta:       map[string]string{},
		TTLSeconds: r.TTL.Seconds(),
		LastSeen:   r.LastSeen.UTC().Format(time.RFC3339Nano),
		Seen:       []jsonPath{},
		Conflict:   r.Conflict,
		Verified:   r.Verified,
	}
	for _, a := range r.Addrs {
		j.Addrs = append(j.Addrs, a.String())
	}
	maps.Copy(j.Meta, r.Meta)
	for _, p := range r.Paths {
		j.Seen = append(j.Seen, jsonPath{Iface: p.Iface, Addr: p.Addr.String()})
	}
	return j
}

// writeJSON writes v as one line of JSON that is safe to show on a
// terminal: besides what encoding/json escapes (C0 controls, U+2028,
// U+2029), every rune that is not printable, such as DEL, C1 controls and
// bidirectional overrides, is written as a \u escape.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(escapeUnprintable(b), '\n'))
	return err
}

// escapeUnprintable rewrites the unprintable runes of encoded JSON as \u
// escapes. Outside strings JSON is printable ASCII, so they are all inside
// strings, where an escape means the same rune.
func escapeUnprintable(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == ' ' || (r != 0x7f && unicode.IsPrint(r)) || r < 0x20 { // C0: already escaped
			if out != nil {
				out = append(out, b[i:i+size]...)
			}
			i += size
			continue
		}
		if out == nil {
			out = append(make([]byte, 0, len(b)+16), b[:i]...)
		}
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += size
	}
	if out == nil {
		return b
	}
	return out
}

// Column width caps, in runes, for untrusted text in human output.
const (
	capName  = 32
	capType  = 24
	capHost  = 32
	capIface = 16
	capKey   = 32
	capValue = 48
	capMeta  = 64 // the whole META column
)

// writeTable prints results as an aligned table with a header. Every
// untrusted string goes through clean; st adds colour or nothing.
func writeTable(w io.Writer, rs []discover.Result, st style, now time.Time) error {
	t := table{header: []string{"NAME", "TYPE", "ADDRESS", "PORT", "IFACE", "HOST", "SEEN", "META"}}
	for _, r := range rs {
		t.rows = append(t.rows, []cell{
			{clean(r.Name, capName), st.name},
			orDashCell(clean(r.Type, capType), st),
			{r.Addr.String(), ""},
			{fmt.Sprint(r.Port), ""},
			orDashCell(clean(r.Iface, capIface), st),
			orDashCell(clean(r.Host, capHost), st),
			{age(now.Sub(r.LastSeen)), st.dim},
			orDashCell(metaString(r.Meta), st),
		})
	}
	_, err := io.WriteString(w, t.render(st))
	return err
}

// cell is one table cell: text already made safe, and an SGR sequence to
// show it with ("" for none).
type cell struct {
	text string
	sgr  string
}

func orDashCell(s string, st style) cell {
	if s == "" {
		return cell{"-", st.dim}
	}
	return cell{s, ""}
}

// table aligns cells by their display width. (text/tabwriter would count
// the bytes of colour sequences and of wide runes as width.)
type table struct {
	header []string
	rows   [][]cell
}

// lines returns the header and the rows as runs of text: cells, with a
// run of spaces (sgr "") padding each cell but the last to its column's
// width and two spaces between columns.
func (t table) lines(st style) [][]cell {
	widths := make([]int, len(t.header))
	for i, h := range t.header {
		widths[i] = textWidth(h)
	}
	for _, row := range t.rows {
		for i, c := range row {
			widths[i] = max(widths[i], textWidth(c.text))
		}
	}
	line := func(cells []cell) []cell {
		var out []cell
		for i, c := range cells {
			out = append(out, c)
			if i < len(cells)-1 {
				out = append(out, cell{strings.Repeat(" ", widths[i]-textWidth(c.text)+2), ""})
			}
		}
		return out
	}
	hdr := make([]cell, len(t.header))
	for i, h := range t.header {
		hdr[i] = cell{h, st.header}
	}
	out := [][]cell{line(hdr)}
	for _, row := range t.rows {
		out = append(out, line(row))
	}
	return out
}

// render returns the table as text, one line per row after the header,
// with no trailing spaces.
func (t table) render(st style) string {
	var b strings.Builder
	for _, l := range t.lines(st) {
		for _, c := range l {
			b.WriteString(st.paint(c.sgr, c.text))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// textWidth returns the number of terminal columns safe text s takes.
func textWidth(s string) int { return uniseg.StringWidth(s) }

// age returns d as a short relative age: "now", "4s ago", "3m ago",
// "2h ago", "5d ago".
func age(d time.Duration) string {
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// metaString returns m as sorted key=value pairs, made safe and capped.
func metaString(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, clean(k, capKey)+"="+clean(m[k], capValue))
	}
	return truncate(strings.Join(parts, ","), capMeta)
}

// truncate cuts safe text s to max runes, marking the cut with "…".
func truncate(s string, max int) string {
	n := 0
	for i := range s {
		if n == max {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// clean makes untrusted text from the network safe for a terminal: see
// [termtext.Clean].
func clean(s string, max int) string { return termtext.Clean(s, max) }
