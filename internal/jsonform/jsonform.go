// Package jsonform is the JSON form of services and events: what
// "lanfind list --json", "resolve --json" and "watch --json" print and what
// the HTTP API of "lanfind serve" returns. Field names are part of
// lanfind's stable interface (the schema is in the README); new fields are
// only ever added at the end. It owns the conversion from discover's
// results and the encoding that keeps the output valid and safe to show on
// a terminal whatever bytes the network sent; it must not import anything
// of lanfind but discover.
package jsonform

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/lanfind/lanfind/discover"
)

// Service is the JSON form of one instance.
type Service struct {
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
	Seen       []Path            `json:"seen"`
	Conflict   bool              `json:"conflict"`
	Verified   bool              `json:"verified"`
}

// Path is one interface and source address an instance was heard through.
type Path struct {
	Iface string `json:"iface"`
	Addr  string `json:"addr"`
}

// Event is the JSON form of one change.
type Event struct {
	Event   string  `json:"event"`
	Reason  string  `json:"reason"`
	Service Service `json:"service"`
}

// FromResult returns the JSON form of r.
func FromResult(r discover.Result) Service {
	j := Service{
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
		Seen:       []Path{},
		Conflict:   r.Conflict,
		Verified:   r.Verified,
	}
	for _, a := range r.Addrs {
		j.Addrs = append(j.Addrs, a.String())
	}
	maps.Copy(j.Meta, r.Meta)
	for _, p := range r.Paths {
		j.Seen = append(j.Seen, Path{Iface: p.Iface, Addr: p.Addr.String()})
	}
	return j
}

// FromEvent returns the JSON form of ev.
func FromEvent(ev discover.Event) Event {
	return Event{Event: ev.Kind.String(), Reason: ev.Reason, Service: FromResult(ev.Service)}
}

// Marshal returns v as JSON that is safe to show on a terminal: besides
// what encoding/json escapes (C0 controls, U+2028, U+2029, and invalid
// UTF-8, which becomes U+FFFD), every rune that is not printable, such as
// DEL, C1 controls and bidirectional overrides, is written as a \u escape.
func Marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return escapeUnprintable(b), nil
}

// Write writes v as one line of JSON made by [Marshal].
func Write(w io.Writer, v any) error {
	b, err := Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
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
