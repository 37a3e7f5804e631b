// Package publish is lanfind's mDNS responder: it publishes services as
// DNS-SD instances (RFC 6763) over multicast DNS (RFC 6762), so that Avahi,
// Bonjour, python-zeroconf and every other DNS-SD browser on the LAN see
// them.
//
// It owns probing, conflict resolution, announcements, answers and
// goodbyes. The wire format is package mdns; the socket, shared with the
// host's own mDNS stack on port 5353, is internal/mdnsnet. It must not
// import announce, discover, browse or the CLI.
//
// # Records
//
// A [Service] named "db" of type _postgresql._tcp on port 5432 is
// published as
//
//	_postgresql._tcp.local.               PTR  db._postgresql._tcp.local.
//	_services._dns-sd._udp.local.         PTR  _postgresql._tcp.local.
//	db._postgresql._tcp.local.            SRV  0 0 5432 <host>.local.   (cache-flush)
//	db._postgresql._tcp.local.            TXT  key=value ...            (cache-flush)
//	<host>.local.                         A    <IPv4 address of the interface> (cache-flush)
//	<host>.local.                         AAAA <IPv6 address of the interface> (cache-flush)
//
// (the interface's advertised addresses: every IPv4 one, the wider IPv6
// ones, the link-local one only where there is no wider one), all with the
// same TTL ([Config.TTL], 120 s by default: a responder that
// crashes without its goodbye vanishes from every cache within two
// minutes; see the README for the traffic this costs). The A records of a
// query's arrival interface answer it. If another stack on this host
// (avahi-daemon, systemd-resolved) already answers for the host name with
// the same address, lanfind publishes no address records of its own and
// leaves them to that stack.
//
// # Probing and conflicts
//
// Before it answers for a name, the Publisher probes it three times 250 ms
// apart (RFC 6762 §8.1), the first within 50 ms of Run: a query for the
// name with the proposed records in the authority section. Probes ask for
// multicast answers: port 5353 is shared with the host's own stack, and a
// unicast defence could reach that stack's socket instead of lanfind's. An answer with different data for the name is a
// conflict: the instance is renamed "db (2)", "db (3)", ... and the host
// "host-2", ..., and probed again. Two responders probing the same name at
// once compare their proposed records (§8.2); the lesser waits a second and
// probes again. A conflict that shows up after probing (§9) makes the
// Publisher probe again. Then it announces its records twice, a second
// apart (§8.3), with the cache-flush bit on the records unique to it.
//
// After fifteen conflicts, each less than ten seconds after the one
// before, every further probe attempt waits five seconds (§8.1: "If
// fifteen conflicts occur within any ten-second period, then the host
// MUST wait at least five seconds before each successive additional
// probe attempt"), so that a host that defends every name cannot make
// the Publisher rename without bound; a service that [Publisher.Update]
// adds meanwhile waits as well. The back-off is logged once, as a
// warning, counted in [Stats.Backoffs], and ends after ten seconds
// without a conflict.
//
// # Answers
//
// Questions for PTR, SRV, TXT, A or ANY are answered on the interface
// they arrived on, all questions of a query in one answer (§6.3).
// Answers the query lists as known with at least half their TTL left are
// left out (§7.1). A record is multicast at most once a second per
// interface (a quarter second in reply to a probe, §6); an answer with a
// shared record (PTR) waits 20 to 120 ms so that answers of several
// responders do not collide. A record that another responder multicasts
// meanwhile, with at least the TTL this one would give it, is left out
// of the waiting answer (duplicate answer suppression, §7.4, counted in
// [Stats.Duplicates]).
//
// A query with the TC bit is followed by more packets of known answers
// (§7.2): its answer waits 400 to 500 ms instead, and leaves out the
// known answers of every packet that came from the same address and port
// in that time. One truncated query waits per source (later packets from
// it join it), at most 32 at once; one beyond that is answered at once,
// as if it were whole, and counted in [Stats.TruncatedOverflow]. Of the
// later packets only the known answers that match a record of this
// Publisher are kept, so a waiting query holds no more than it owns.
//
// A question with the unicast-response bit gets a unicast answer when
// the record was multicast in the last quarter of its TTL, else a
// multicast one (§5.4). A query from a port other than 5353 is a legacy
// unicast query and gets a unicast answer with its ID and question, TTLs
// of at most 10 seconds and no cache-flush bits (§6.7).
//
// # Interface changes
//
// The Publisher follows interfaces as they come and go, through
// internal/mdnsnet (see "Interface changes" there): on an interface that
// appears, gains or loses an address or gets its carrier back it probes
// its names and announces them again there (RFC 6762 §8), with the
// address records of the interface's addresses now; an address the
// interface lost gets a goodbye there. What it kept for an interface that
// went away (pending answers, the per-record rate limit) is dropped.
//
// # Goodbyes
//
// When Run ends, and for a service that [Publisher.Update] removes, the
// Publisher multicasts its records with TTL 0 (§10.1), twice, 100 ms apart,
// so browsers drop the service at once instead of after the TTL.
package publish
