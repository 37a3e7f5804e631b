package serve

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/output"
	tt "github.com/lanfind/lanfind/internal/termtext"
	"github.com/lanfind/lanfind/internal/zone"
)

// Handler returns the HTTP API (see [HTTP API]).
//
// [HTTP API]: https://pkg.go.dev/github.com/lanfind/lanfind/internal/serve#hdr-HTTP_API
func (s *Server) Handler() http.Handler {
	return s.routes(http.NewServeMux())
}

// LocalHandler returns what the unix socket serves (Config.Socket): the
// HTTP API and /v1/resident.
func (s *Server) LocalHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/resident", s.resident)
	return s.routes(mux)
}

// routes adds the HTTP API's endpoints to mux.
func (s *Server) routes(mux *http.ServeMux) *http.ServeMux {
	// "GET /x" matches HEAD too; other methods get 405.
	mux.HandleFunc("GET /v1/services", s.services)
	mux.HandleFunc("GET /v1/events", s.events)
	mux.HandleFunc("GET /v1/prometheus", s.prometheus)
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// parseFilter reads the name and type parameters; any other parameter is
// an error.
func parseFilter(r *http.Request) (filter, error) {
	q := r.URL.Query()
	for k, vs := range q {
		if k != "name" && k != "type" {
			return filter{}, fmt.Errorf("unknown parameter %q: want name or type", k)
		}
		if len(vs) > 1 {
			return filter{}, fmt.Errorf("parameter %q given %d times", k, len(vs))
		}
	}
	return filter{name: q.Get("name"), typ: q.Get("type")}, nil
}

// writeJSON writes v as the CLI writes JSON (see termtext.WriteJSON). v
// is one of this package's or output's JSON forms, which always encode.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	tt.WriteJSON(w, v) // a client gone away: nothing to do
}

func (s *Server) services(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out := []output.Service{}
	for _, r := range s.set.snapshot(f) {
		out = append(out, output.FromResult(r))
	}
	writeJSON(w, out)
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sse := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	snap, st, ok := s.set.subscribe(f)
	if !ok {
		http.Error(w, "too many event streams open", http.StatusServiceUnavailable)
		return
	}
	defer s.set.unsubscribe(st)
	rc := http.NewResponseController(w)
	if sse {
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	write := func(ev discover.Event, at time.Time) error {
		buf.Reset()
		if sse {
			buf.WriteString("data: ")
		}
		if err := tt.WriteJSON(&buf, output.FromEvent(ev, at)); err != nil {
			return err
		}
		if sse {
			buf.WriteByte('\n')
		}
		err := rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		_, err = w.Write(buf.Bytes())
		return err
	}
	now := time.Now() // of the snapshot
	for _, svc := range snap {
		if write(discover.Event{Kind: discover.EventUp, Service: svc}, now) != nil {
			return
		}
	}
	if rc.Flush() != nil {
		return
	}
	for {
		select {
		case ev, ok := <-st.ch:
			if !ok {
				return // cut for lagging
			}
			if write(ev.Event, ev.at) != nil || rc.Flush() != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

// targetGroup is one entry of Prometheus HTTP service discovery.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

func (s *Server) prometheus(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out := []targetGroup{}
	for _, svc := range s.set.snapshot(f) {
		out = append(out, s.targetGroup(svc))
	}
	writeJSON(w, out)
}

// targetGroup returns the target group of one service (see [Prometheus
// labels]).
//
// [Prometheus labels]: https://pkg.go.dev/github.com/lanfind/lanfind/internal/serve#hdr-Prometheus_labels
func (s *Server) targetGroup(r discover.Result) targetGroup {
	j := output.FromResult(r)
	labels := map[string]string{
		"__meta_lanfind_name":      j.Name,
		"__meta_lanfind_type":      j.Type,
		"__meta_lanfind_host":      j.Host,
		"__meta_lanfind_instance":  j.Instance,
		"__meta_lanfind_interface": j.Iface,
	}
	if s.dns != nil {
		if l := zone.Label(r.Name); l != "" {
			labels["__meta_lanfind_dns_name"] = l + "." + s.dns.Domain()
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Meta)) {
		name := "__meta_lanfind_meta_" + labelName(k)
		if _, taken := labels[name]; !taken {
			labels[name] = r.Meta[k]
		}
	}
	return targetGroup{Targets: []string{r.AddrPort().String()}, Labels: labels}
}

// labelName returns s with every byte other than an ASCII letter or digit
// replaced by "_", as a Prometheus label name wants.
func labelName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}
