package output

import (
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lanfind/lanfind/discover"
	tt "github.com/lanfind/lanfind/internal/termtext"
)

// Service is the JSON form of one instance, shared by list, resolve and
// watch and by serve's HTTP API. Field names are part of the CLI's stable interface (the
// schema is in the README); new fields are only ever added at the end.
// encoding/json replaces invalid UTF-8 with U+FFFD and escapes control
// characters, so the output is valid JSON whatever bytes the network sent.
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
	Source     string            `json:"source"`          // "lanfind" or "mdns"
	Proto      string            `json:"proto,omitempty"` // mdns: "tcp" or "udp"
}

// Path is one interface and source address an instance was heard through.
type Path struct {
	Iface  string `json:"iface"`
	Addr   string `json:"addr"`
	Family string `json:"family"` // "ipv4" or "ipv6": the family the path used
}

// Event is the JSON form of one change, as watch prints it.
type Event struct {
	Event   string  `json:"event"`
	Reason  string  `json:"reason"`
	Service Service `json:"service"`
	Time    string  `json:"time"` // when the event happened, as last_seen
}

// FromEvent returns the JSON form of ev, which happened at t.
func FromEvent(ev discover.Event, t time.Time) Event {
	return Event{
		Event:   ev.Kind.String(),
		Reason:  ev.Reason,
		Service: FromResult(ev.Service),
		Time:    jsonTime(t),
	}
}

// jsonTime is the JSON form of a time: RFC 3339 in UTC, with as many
// fractional digits as it has.
func jsonTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

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
		LastSeen:   jsonTime(r.LastSeen),
		Seen:       []Path{},
		Conflict:   r.Conflict,
		Verified:   r.Verified,
		Source:     Source(r),
		Proto:      r.Proto,
	}
	for _, a := range r.Addrs {
		j.Addrs = append(j.Addrs, a.String())
	}
	maps.Copy(j.Meta, r.Meta)
	for _, p := range r.Paths {
		fam := "ipv4"
		if p.Addr.Is6() && !p.Addr.Is4In6() {
			fam = "ipv6"
		}
		j.Seen = append(j.Seen, Path{Iface: p.Iface, Addr: p.Addr.String(), Family: fam})
	}
	return j
}

// ConflictMark is how human output marks an instance that another
// announcer claims too (discover.Result.Conflict): in the list table after
// the name, in watch lines after the event, in the live table after the
// state.
const ConflictMark = "(conflict)"

// writeTable prints results as an aligned table with a header. Every
// untrusted string goes through clean; st adds colour or nothing.
func writeTable(w io.Writer, rs []discover.Result, st tt.Style, now time.Time) error {
	t := tt.Table{
		Header: []string{"NAME", "TYPE", "ADDRESS", "PORT", "IFACE", "HOST", "SEEN", "META"},
	}
	for _, r := range rs {
		name := tt.Cell{Text: tt.Clean(r.Name, tt.CapName), SGR: st.Name}
		if r.Conflict {
			name = tt.Cell{Text: name.Text + " " + ConflictMark, SGR: st.Down}
		}
		t.Rows = append(t.Rows, []tt.Cell{
			name,
			tt.OrDashCell(TypeText(r), st),
			{Text: tableAddr(r.Addr)},
			{Text: fmt.Sprint(r.Port)},
			tt.OrDashCell(tt.Clean(r.Iface, tt.CapIface), st),
			tt.OrDashCell(tt.Clean(r.Host, tt.CapHost), st),
			{Text: tt.Age(now.Sub(r.LastSeen)), SGR: st.Dim},
			tt.OrDashCell(metaString(r.Meta), st),
		})
	}
	_, err := io.WriteString(w, tt.Render(t.Lines(st), st))
	return err
}

// tableAddr shows a in the table's ADDRESS column: an IPv6 address in
// brackets ("[fe80::1%eth0]"), as in [addr]:port, so that it reads apart
// from the PORT column; an IPv4 address as it is.
func tableAddr(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		return "[" + tt.Clean(a.String(), 64) + "]"
	}
	return a.String()
}

// Source returns where r came from: "lanfind" or "mdns".
func Source(r discover.Result) string {
	if r.Source == "" {
		return "lanfind"
	}
	return r.Source
}

// TypeText is the TYPE cell of every table (list's and watch's live
// one): an mDNS result's type is marked, as in "ipp (mdns)", so that it
// stands out from lanfind's own.
func TypeText(r discover.Result) string {
	t := tt.Clean(r.Type, tt.CapType)
	if r.Source == "" {
		return t
	}
	return t + " (" + r.Source + ")"
}

// metaString returns m as sorted key=value pairs, made safe and capped.
func metaString(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, tt.Clean(k, tt.CapKey)+"="+tt.Clean(m[k], tt.CapValue))
	}
	return tt.Truncate(strings.Join(parts, ","), tt.CapMeta)
}
