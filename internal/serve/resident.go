package serve

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/output"
)

// Asker is a [Source] whose services a local client may take from the live
// set instead of searching itself: the mDNS browser of "lanfind serve
// --mdns" (see [Resident API]). Its methods are called from HTTP handlers,
// concurrently with Run and with each other.
//
// [Resident API]: https://pkg.go.dev/github.com/lanfind/lanfind/internal/serve#hdr-Resident_API
type Asker interface {
	Source
	// Answer says whether the source can answer q from the live set and
	// which of the live set's services answer it.
	Answer(q Query) Answer
	// Refresh asks the network once more for q's services and returns
	// when the answers had time to reach the live set, or when ctx ends.
	Refresh(ctx context.Context, q Query) error
}

// Query is a local client's search.
type Query struct {
	// Name and Type are the client's filters, "" for all.
	Name, Type string
	// Interfaces and Exclude are the client's --iface and
	// --exclude-iface patterns.
	Interfaces, Exclude []string
}

// Answer is an [Asker]'s view of a [Query].
type Answer struct {
	// Source is the discover.Result.Source of its services.
	Source string
	// Since is when the source started.
	Since time.Time
	// Warm reports whether it has run long enough to hold every service
	// a search of the client's own would find.
	Warm bool
	// Covered reports whether it searches for at least what q asks for
	// (its own filters and interfaces allow it).
	Covered bool
	// Match selects q's services in the live set; nil when not Covered.
	Match func(discover.Result) bool
}

// Resident is the JSON body of GET /v1/resident.
type Resident struct {
	// PID is the resident's process ID.
	PID int `json:"pid"`
	// Sources has one entry per source that can answer from the live set.
	Sources []ResidentSource `json:"sources"`
}

// ResidentSource is one source's answer in [Resident].
type ResidentSource struct {
	Source  string `json:"source"`
	Since   string `json:"since"` // RFC 3339
	Warm    bool   `json:"warm"`
	Covered bool   `json:"covered"`
	// Services are the matching services when Warm and Covered, as
	// "lanfind list --json" prints them; else empty.
	Services []output.Service `json:"services"`
}

// parseQuery reads the parameters of /v1/resident.
func parseQuery(r *http.Request) (q Query, first bool, err error) {
	v := r.URL.Query()
	for k, vs := range v {
		switch k {
		case "name", "type", "first":
			if len(vs) > 1 {
				return q, false, fmt.Errorf("parameter %q given %d times", k, len(vs))
			}
		case "iface", "exclude":
		default:
			return q, false, fmt.Errorf("unknown parameter %q: want name, type, iface, exclude or first", k)
		}
	}
	q = Query{Name: v.Get("name"), Type: v.Get("type"), Interfaces: v["iface"], Exclude: v["exclude"]}
	switch v.Get("first") {
	case "", "0":
	case "1":
		first = true
	default:
		return q, false, fmt.Errorf("parameter first=%q: want 0 or 1", v.Get("first"))
	}
	return q, first, nil
}

// resident answers a local client's search from the live set: for each
// Asker that is warm and covers the search, its matching services, after
// a Refresh unless first is asked for and some are there already.
func (s *Server) resident(w http.ResponseWriter, r *http.Request) {
	q, first, err := parseQuery(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out := Resident{PID: os.Getpid(), Sources: []ResidentSource{}}
	for _, src := range s.more {
		a, ok := src.(Asker)
		if !ok {
			continue
		}
		ans := a.Answer(q)
		rs := ResidentSource{
			Source:   ans.Source,
			Since:    ans.Since.UTC().Format(time.RFC3339Nano),
			Warm:     ans.Warm,
			Covered:  ans.Covered && ans.Match != nil,
			Services: []output.Service{},
		}
		if rs.Warm && rs.Covered {
			snap := s.set.snapshotMatch(ans.Match)
			if !first || len(snap) == 0 {
				if err := a.Refresh(r.Context(), q); err != nil {
					s.log.Debug("serve: resident refresh", "source", ans.Source, "err", err)
					return // the client went away
				}
				snap = s.set.snapshotMatch(ans.Match)
			}
			for _, svc := range snap {
				rs.Services = append(rs.Services, output.FromResult(svc))
			}
		}
		out.Sources = append(out.Sources, rs)
	}
	writeJSON(w, out)
}
