package serve

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"github.com/lanfind/lanfind/discover"
)

// metricsRegistry holds the metrics of /metrics (see [Metrics]). Totals
// kept elsewhere (discover.Stats, zone.Stats, the live set's counts) are
// copied into it at each scrape.
//
// [Metrics]: https://pkg.go.dev/github.com/lanfind/lanfind/internal/serve#hdr-Metrics
type metricsRegistry struct {
	s *Server

	// mu serializes scrapes, which update the set before writing it.
	mu     sync.Mutex
	set    *metrics.Set
	ifaces map[string]bool // interfaces with a lanfind_services_by_interface series
}

func newMetrics(s *Server) *metricsRegistry {
	// HELP and TYPE lines: a switch of the library that holds for the
	// whole process, which has no other metrics.
	metrics.ExposeMetadata(true)
	return &metricsRegistry{s: s, set: metrics.NewSet(), ifaces: map[string]bool{}}
}

// dropReasons names the discover.Stats fields that count dropped datagrams.
func dropReasons(st discover.Stats) map[string]uint64 {
	return map[string]uint64{
		"duplicate":       st.Duplicates,
		"foreign":         st.Foreign,
		"malformed":       st.Malformed,
		"unsupported":     st.Unsupported,
		"unknown_request": st.UnknownRequest,
		"other_iface":     st.OtherIface,
		"off_link":        st.OffLink,
		"table_full":      st.TableFull,
		"idle":            st.Idle,
		"sealed":          st.Sealed,
		"unsealed":        st.Unsealed,
		"rejected":        st.Rejected,
		"stale":           st.Stale,
		"relayed":         st.Relayed,
	}
}

// labelValue returns s safe inside a quoted label value: bytes other than
// printable ASCII, and quotes and backslashes, become "_".
func labelValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, s)
}

// update copies the current totals into the set.
func (m *metricsRegistry) update() {
	set := m.set
	counter := func(name string, v uint64) { set.GetOrCreateCounter(name).Set(v) }
	gauge := func(name string, v float64) { set.GetOrCreateGauge(name, nil).Set(v) }

	c := m.s.set.counts()
	events, byIface := c.events, c.byIface
	total := 0
	for iface, n := range byIface {
		total += n
		m.ifaces[iface] = true
	}
	gauge("lanfind_services", float64(total))
	for iface := range m.ifaces {
		name := fmt.Sprintf(`lanfind_services_by_interface{iface=%q}`, labelValue(iface))
		if n, ok := byIface[iface]; ok {
			gauge(name, float64(n))
		} else { // gone: drop the series
			set.UnregisterMetric(name)
			delete(m.ifaces, iface)
		}
	}
	for _, kind := range []discover.EventKind{discover.EventUp, discover.EventUpdate} {
		name := fmt.Sprintf(`lanfind_events_total{event=%q,reason=""}`, kind)
		counter(name, events[eventKind{kind: kind}])
	}
	downs := []string{discover.ReasonGoodbye, discover.ReasonExpired, discover.ReasonIfaceDown}
	for _, reason := range downs {
		counter(fmt.Sprintf(`lanfind_events_total{event="down",reason=%q}`, reason),
			events[eventKind{discover.EventDown, reason}])
	}
	gauge("lanfind_http_event_streams", float64(c.open))
	counter("lanfind_http_event_streams_dropped_total", c.dropped)

	st := m.s.src.Stats()
	counter("lanfind_datagrams_received_total", st.Received)
	counter("lanfind_datagrams_accepted_total", st.Accepted)
	for reason, v := range dropReasons(st) {
		counter(fmt.Sprintf(`lanfind_datagrams_dropped_total{reason=%q}`, reason), v)
	}
	counter("lanfind_queries_sent_total", st.QueriesSent)
	counter("lanfind_query_send_errors_total", st.SendErrors)

	if m.s.dns == nil {
		return
	}
	ds := m.s.dns.Stats()
	counter(`lanfind_dns_requests_total{transport="udp"}`, ds.UDP)
	counter(`lanfind_dns_requests_total{transport="tcp"}`, ds.TCP)
	for rcode, v := range map[string]uint64{
		"noerror":  ds.NoError,
		"nxdomain": ds.NXDomain,
		"refused":  ds.Refused,
		"formerr":  ds.FormErr,
		"notimp":   ds.NotImp,
	} {
		counter(fmt.Sprintf(`lanfind_dns_answers_total{rcode=%q}`, rcode), v)
	}
	counter("lanfind_dns_truncated_total", ds.Truncated)
	counter(`lanfind_dns_dropped_total{reason="malformed"}`, ds.Dropped)
	counter(`lanfind_dns_dropped_total{reason="rate_limited"}`, ds.RateLimited)
	counter("lanfind_dns_tcp_rejected_total", ds.ConnsRejected)
	counter("lanfind_dns_errors_total", ds.Errors)
}

func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
	m := s.met
	var b bytes.Buffer
	m.mu.Lock()
	m.update()
	m.set.WritePrometheus(&b)
	m.mu.Unlock()
	metrics.WriteProcessMetrics(&b)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(b.Bytes()) // a client gone away: nothing to do
}
