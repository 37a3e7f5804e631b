package main

// list and resolve --mdns take DNS-SD services from a resident "lanfind
// serve --mdns" when one answers on its unix socket (package resident),
// as avahi-browse takes them from avahi-daemon's cache; else they browse
// themselves. See the README, "A resident cache".

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/doctor"
	"github.com/lanfind/lanfind/internal/output"
	"github.com/lanfind/lanfind/internal/resident"
	"github.com/lanfind/lanfind/internal/serve"
	"github.com/lanfind/lanfind/mdns"
)

var flagSocket = &cli.StringFlag{
	Name: "socket",
	Usage: "the unix socket `PATH` of a resident serve: serve listens on it, " +
		"list and resolve --mdns ask it first; '' for none " +
		"(default: /run/lanfind/serve.sock for root, $XDG_RUNTIME_DIR/lanfind/serve.sock otherwise)",
	EnvVars:   []string{"LANFIND_SOCKET"},
	TakesFile: true,
}

// socketPath reads --socket: its value if given ("" for none), else the
// default path (package resident).
func socketPath(c *cli.Context) string {
	if c.IsSet("socket") {
		return c.String("socket")
	}
	return resident.DefaultPath()
}

// Bounds of what a client reads from a resident.
const (
	// maxResidentAnswer bounds the bytes of an answer: a service's JSON
	// is about 500 bytes, and lanfind's limits allow about 40 KB.
	maxResidentAnswer = 32 << 20
	// residentTimeout bounds a client's whole exchange with a resident
	// (with at most half its --timeout): the resident answers within
	// browse.AskWait and a few ms.
	residentTimeout = time.Second
)

// fromResident asks the resident at o.socket for the DNS-SD services of a
// search for name (and o.typ). ok is false when there is no usable answer
// (no resident, a cold one, one that does not browse what is asked for, a
// broken answer): the caller then browses itself. With first, the resident
// answers at once from its cache if a service matches, and ok is false
// when none does (resolve then waits for one itself).
func fromResident(ctx context.Context, s streams, o searchOptions, name string, first bool) (
	rs []discover.Result, ok bool) {
	if o.socket == "" {
		return nil, false
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, min(residentTimeout, o.timeout/2))
	defer cancel()
	rs, pid, err := askResident(ctx, o, name, first)
	if err != nil {
		s.Log.Debug("--mdns: no resident answer; browsing", "socket", o.socket, "err", err)
		return nil, false
	}
	if first && len(rs) == 0 {
		s.Log.Debug("--mdns: the resident holds no match; browsing", "socket", o.socket, "pid", pid)
		return nil, false
	}
	s.Log.Debug("--mdns: from the resident", "socket", o.socket, "pid", pid, "found", len(rs),
		"elapsed", time.Since(start))
	return rs, true
}

// errResident is askResident's error for an answer it cannot use.
var errResident = errors.New("resident")

// askResident does the exchange of fromResident; pid is the resident's.
func askResident(ctx context.Context, o searchOptions, name string, first bool) (
	rs []discover.Result, pid int, err error) {
	conn, _, err := resident.Dial(ctx, o.socket)
	if err != nil {
		return nil, 0, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	if o.typ != "" {
		q.Set("type", o.typ)
	}
	q["iface"] = o.ifaces
	q["exclude"] = o.excludes
	if first {
		q.Set("first", "1")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		"http://resident/v1/resident?"+q.Encode(), nil)
	if err != nil {
		return nil, 0, err
	}
	req.Close = true
	if err := req.Write(conn); err != nil {
		return nil, 0, err
	}
	br := bufio.NewReader(io.LimitReader(conn, maxResidentAnswer))
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("%w: status %s", errResident, resp.Status)
	}
	return decodeResident(resp.Body, o.maxEntries, name, o.typ)
}

// decodeResident reads a resident's answer (serve.Resident) from r and
// returns its mDNS services that match name and typ, checked as network
// input: at most maxEntries, each within lanfind's record limits (others
// are dropped). It fails when the resident is not warm, does not cover
// the search, or sent only services it refuses.
func decodeResident(r io.Reader, maxEntries int, name, typ string) ([]discover.Result, int, error) {
	var ans serve.Resident
	d := json.NewDecoder(io.LimitReader(r, maxResidentAnswer))
	if err := d.Decode(&ans); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", errResident, err)
	}
	i := slices.IndexFunc(ans.Sources, func(src serve.ResidentSource) bool { return src.Source == mdnsSource })
	switch {
	case i < 0:
		return nil, ans.PID, fmt.Errorf("%w: it does not browse mDNS (serve without --mdns)", errResident)
	case !ans.Sources[i].Warm:
		return nil, ans.PID, fmt.Errorf("%w: its cache is not warm yet (browsing since %s)",
			errResident, ans.Sources[i].Since)
	case !ans.Sources[i].Covered:
		return nil, ans.PID, fmt.Errorf("%w: it browses other types, names or interfaces", errResident)
	}
	types, _ := browseTypes(typ)
	var rs []discover.Result
	refused := 0
	for _, j := range ans.Sources[i].Services {
		r, err := residentResult(j)
		switch {
		case err != nil:
			refused++
		case len(rs) < maxEntries && mdnsMatch(r, name, types):
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, discover.CompareResults)
	if n := len(ans.Sources[i].Services); refused > 0 && refused == n {
		return nil, ans.PID, fmt.Errorf("%w: all %d services refused", errResident, n)
	}
	return rs, ans.PID, nil
}

// mdnsMatch reports whether an mDNS result answers a search for name and
// types (as browseTypes returns them: nil for all).
func mdnsMatch(r discover.Result, name string, types []mdns.ServiceType) bool {
	if r.Source != mdnsSource || (name != "" && !strings.EqualFold(r.Name, name)) {
		return false
	}
	return len(types) == 0 || slices.ContainsFunc(types, func(t mdns.ServiceType) bool {
		return strings.EqualFold(r.Type, t.Name) && strings.EqualFold(r.Proto, t.Proto)
	})
}

// residentResult turns one service of a resident's answer back into a
// result, refusing what lanfind's own records could not carry.
func residentResult(j output.Service) (discover.Result, error) {
	bad := func(what string) (discover.Result, error) {
		return discover.Result{}, fmt.Errorf("%w: bad %s", errResident, what)
	}
	r := discover.Result{
		Name:   j.Name,
		Type:   j.Type,
		Proto:  j.Proto,
		Port:   j.Port,
		Host:   j.Host,
		Iface:  j.Iface,
		Source: j.Source,
		Meta:   map[string]string{},
	}
	if r.Name == "" || len(r.Name) > beacon.MaxNameLen {
		return bad("name")
	}
	if mdns.ValidServiceName(r.Type) != nil || (r.Proto != "tcp" && r.Proto != "udp") {
		return bad("type")
	}
	if len(r.Host) > beacon.MaxHostLen || len(r.Iface) > beacon.MaxNameLen || r.Source != mdnsSource {
		return bad("host, interface or source")
	}
	if len(j.Meta) > beacon.MaxMeta {
		return bad("metadata")
	}
	for k, v := range j.Meta {
		if k == "" || len(k) > beacon.MaxKeyLen || len(v) > beacon.MaxValueLen {
			return bad("metadata")
		}
		r.Meta[k] = v
	}
	if len(j.Addrs) > beacon.MaxAddrs {
		return bad("addresses")
	}
	for _, s := range j.Addrs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return bad("address")
		}
		r.Addrs = append(r.Addrs, a)
	}
	var err error
	if r.Addr, err = netip.ParseAddr(j.Addr); err != nil {
		return bad("address")
	}
	if r.Instance, err = strconv.ParseUint(j.Instance, 16, 64); err != nil {
		return bad("instance")
	}
	if j.TTLSeconds < 0 || j.TTLSeconds > beacon.MaxTTL.Seconds() {
		return bad("TTL")
	}
	r.TTL = time.Duration(j.TTLSeconds * float64(time.Second))
	if r.LastSeen, err = time.Parse(time.RFC3339Nano, j.LastSeen); err != nil {
		return bad("last_seen")
	}
	if len(j.Seen) > beacon.MaxAddrs {
		return bad("paths")
	}
	for _, p := range j.Seen {
		a, err := netip.ParseAddr(p.Addr)
		if err != nil || len(p.Iface) > beacon.MaxNameLen {
			return bad("path")
		}
		r.Paths = append(r.Paths, discover.Path{Iface: p.Iface, Addr: a, LastSeen: r.LastSeen})
	}
	return r, nil
}

// residentFinding is doctor's word on the resident at path: whether one
// answers there, and its pid.
func residentFinding(ctx context.Context, path string) doctor.Finding {
	f := doctor.Finding{Level: doctor.LevelNote, Check: "resident"}
	if path == "" {
		f.Message = "no resident socket (--socket '' or no XDG_RUNTIME_DIR): list --mdns browses itself"
		return f
	}
	c, p, err := resident.Dial(ctx, path)
	switch {
	case err == nil:
		c.Close()
		f.Level = doctor.LevelOK
		f.Message = fmt.Sprintf("a resident lanfind serve answers on %s", path)
		if p.PID > 0 {
			f.Message = fmt.Sprintf("a resident lanfind serve (pid %d) answers on %s", p.PID, path)
		}
		f.Message += ": list and resolve --mdns take mDNS services from its cache when it browses them"
	case errors.Is(err, fs.ErrNotExist):
		f.Message = fmt.Sprintf("no resident on %s: list --mdns browses itself", path)
		f.Hint = "lanfind serve --mdns keeps a cache that list --mdns then uses"
	case errors.Is(err, resident.ErrOwner):
		f.Level = doctor.LevelProblem
		f.Message = fmt.Sprintf("%s belongs to another user: list --mdns does not trust it (%v)", path, err)
		f.Hint = "remove it, or run serve as root or as this user"
	default:
		f.Message = fmt.Sprintf("no resident answers on %s: %v", path, err)
	}
	return f
}
