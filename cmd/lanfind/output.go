package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lanfind/lanfind/discover"
)

// jsonService is the JSON form of one instance, shared by list, resolve
// and watch. Field names are part of the CLI's stable interface.
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

func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// writeTable prints results as an aligned table.
func writeTable(w io.Writer, rs []discover.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tADDRESS\tPORT\tIFACE\tHOST\tMETA")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", clean(r.Name, 32), orDash(clean(r.Type, 24)), r.Addr, r.Port,
			orDash(r.Iface), orDash(clean(r.Host, 32)), orDash(metaString(r.Meta)))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func metaString(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, clean(k, 32)+"="+clean(m[k], 48))
	}
	return strings.Join(parts, ",")
}

// clean makes untrusted text from the network safe for a terminal: control
// characters (including ESC, so no escape sequence gets through), invalid
// UTF-8 and other unprintable runes become visible escapes, and the result
// is cut to max runes.
func clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for i, r := range s {
		if n >= max {
			b.WriteString("…")
			break
		}
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == ' ' || (unicode.IsPrint(r) && r != '\t'):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		n++
	}
	return b.String()
}
