// Package serve keeps the live set of services a [discover.Listener]
// reports and serves it to other programs: as DNS names through package
// zone, and over HTTP. It is the engine of "lanfind serve". It owns the
// live set, the HTTP API and the metrics; it must not import announce or
// cmd/lanfind, and opens no socket of lanfind's own protocol (discover
// does).
//
// # HTTP API
//
// Every endpoint is read-only and answers GET and HEAD only (405
// otherwise); nothing a client sends changes any state. Filters are query
// parameters: name and type select services by exact name and type, as
// "lanfind list --name N --type T" does; an unknown parameter is a 400
// error, so that a typo does not silently select everything.
//
//	/v1/services    the services now present: the JSON array
//	                "lanfind list --json" prints, in the same order
//	/v1/events      a stream of changes: first one "up" event for every
//	                service present, then every change as it happens, each
//	                one line of the JSON "lanfind watch --json" prints
//	                (NDJSON, Content-Type application/x-ndjson); with
//	                "Accept: text/event-stream" the same objects as
//	                server-sent events, "data: {…}" and a blank line each
//	/v1/prometheus  Prometheus HTTP service discovery (http_sd_configs):
//	                one target group per service, target "ADDR:PORT",
//	                labels below
//	/metrics        counters in the Prometheus text format
//	/healthz        "ok" while the server runs
//
// A client that reads its event stream too slowly to keep up (more than
// 256 events behind) is disconnected and counted in the metric
// lanfind_http_event_streams_dropped_total; it reconnects and starts again
// from a fresh snapshot. At most 64 streams are open at once (503
// otherwise). JSON is written as the CLI writes it (package output
// holds the form, termtext escapes what a terminal must not see).
//
// # Prometheus labels
//
// Each target group of /v1/prometheus has the labels
//
//	__meta_lanfind_name       service name
//	__meta_lanfind_type       service type
//	__meta_lanfind_host       the announcer's host name
//	__meta_lanfind_instance   instance ID, 16 hex digits
//	__meta_lanfind_interface  the interface it was heard on
//	__meta_lanfind_dns_name   its DNS name when DNS is served, such as "db.lan"
//	__meta_lanfind_meta_<key> each metadata value; bytes of the key other
//	                          than ASCII letters and digits become "_"
//	                          (when two keys become the same, the first in
//	                          sorted order wins)
//
// Prometheus drops labels beginning with "__" after relabelling: keep what
// you need with relabel_configs, as the README's recipe shows.
//
// # Metrics
//
//	lanfind_services                       services in the live set
//	lanfind_services_by_interface{iface}   of those, heard on each interface
//	lanfind_events_total{event,reason}     up, update and down events
//	lanfind_datagrams_received_total       datagrams read
//	lanfind_datagrams_accepted_total       announcements, replies and goodbyes used
//	lanfind_datagrams_dropped_total{reason} datagrams dropped, by discover.Stats field
//	lanfind_queries_sent_total             queries sent, and
//	lanfind_query_send_errors_total        those the kernel refused
//	lanfind_dns_requests_total{transport}  DNS requests over udp and tcp
//	lanfind_dns_answers_total{rcode}       answers by response code
//	lanfind_dns_truncated_total            UDP answers sent with TC
//	lanfind_dns_dropped_total{reason}      requests dropped: malformed, rate_limited
//	lanfind_dns_tcp_rejected_total         TCP connections over the cap
//	lanfind_dns_errors_total               reads and writes that failed
//	lanfind_http_event_streams             open /v1/events streams
//	lanfind_http_event_streams_dropped_total streams cut for lagging
//
// and the process_* and go_* metrics of the process.
//
// # Other sources
//
// Config.Extra adds feeds of events beside the listener, such as the mDNS
// browser of "lanfind serve --mdns": their services enter the live set,
// DNS and every endpoint as lanfind's own do, with the source their
// results carry ("mdns" in the JSON).
//
// # Resident API
//
// With Config.Socket the server also listens on a unix socket (package
// resident: owned by its user, mode 0600, or 0660 for root) and serves
// there the HTTP API above and one more endpoint, for lanfind's one-shot
// commands, which then take the mDNS services from this resident cache
// instead of asking the LAN themselves:
//
//	/v1/resident    a local search: parameters name, type (as the
//	                client's --name and --type), iface and exclude
//	                (repeatable: its --iface and --exclude-iface), first=1
//	                (resolve: answer at once if a service matches)
//
// The answer is a [Resident]: the server's pid and, for every [Asker] in
// Config.Extra, whether it is warm (has browsed long enough), whether it
// covers the search (browses the type and name on the same interfaces),
// and, when both, the matching services as "lanfind list --json" prints
// them, after the Asker has asked the network once more (Asker.Refresh)
// unless first=1 found some already. Only the unix socket serves it: a
// search sends a query on the LAN, which the TCP API never does.
//
// # Keyed mode
//
// With keys in the discover configuration only verified instances enter
// the live set, so unverified names are never served.
//
// [discover.Listener]: https://pkg.go.dev/github.com/lanfind/lanfind/discover#Listener
package serve
