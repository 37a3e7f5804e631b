// Package browse is lanfind's mDNS querier: it finds DNS-SD services
// (RFC 6763) that other hosts publish with multicast DNS (RFC 6762), such
// as Avahi, Bonjour and python-zeroconf, and reports each instance as an
// [Entry] shaped like a lanfind result.
//
// It owns the record cache, the query schedule and the mapping from
// records to entries. The wire format is package mdns; the socket, shared
// with the host's own mDNS stack on port 5353, is internal/mdnsnet. It must
// not import announce, discover, publish or the CLI.
//
// # Queries
//
// A [Browser] asks for PTR records of each service type it browses (all
// types, through "_services._dns-sd._udp.local", when none is given), for
// the SRV and TXT records of instances whose PTR arrived without them, and
// for the A records of SRV targets without an address. With a name and
// types ([Config.Name], [Config.Types]) it also asks for the SRV and TXT
// records of "<name>.<type>.local" at once: those are unique records, which
// responders answer without the delay of shared ones, so resolve gets its
// answer in one round trip. Each query lists
// the PTR records already known with more than half their TTL left
// (known-answer suppression, RFC 6762 §7.1); a list too long for one
// datagram continues in more datagrams with the TC bit set.
//
// [Browser.Collect] (one-shot, for list and resolve) queries at once, again
// 130 ms later (Avahi delays a PTR answer by 20 to 120 ms) and then every
// 60 ms (after ten queries the interval doubles): a repeated query within
// Avahi's half-second history is answered at once, by unicast (see below).
// Once three queries in a row have brought nothing new and every instance
// found is complete (it has an SRV record), it sends no more and returns
// when 120 ms have passed since the last query and the last change; or
// when its context ends. One quiet query would be enough on a perfect LAN,
// but a lost answer looks just like no answer: a responder all of whose
// answers were lost is missed, so each quiet query makes that about 3
// times less likely at 30 % loss
// (bench/results). Once an answer has come only after the first repeat,
// the LAN loses datagrams (or a responder is slow), and Collect waits for
// five quiet queries instead of three: on a lossless LAN it costs
// nothing, at 30 % loss it makes a missed responder about 10 times less
// likely again. [Browser.Run]
// (continuous, for watch) queries after 0, 1, 2, 4, ... seconds up to an
// hour apart, refreshes the records of entries it reports at 80, 85, 90
// and 95 % of their TTL (RFC 6762 §5.2), and reports changes as events.
//
// # Unicast and multicast answers
//
// A responder multicasts a record at most once a second (RFC 6762 §6) and
// Avahi suppresses a repeat for half a second, so a querier that just
// started, or whose answer was lost, would get nothing for a second. A
// question with the unicast-response (QU) bit (§5.4) is answered by
// unicast when the record was multicast recently, and by multicast
// otherwise. Collect sets the QU bit on every question; Run only the
// first time it asks one. A unicast answer to port 5353 reaches only one
// of the sockets that share the port on this host, and on Linux a socket
// of lanfind's SO_REUSEPORT group gets only those whose sender's address
// and port hash to it, whatever it repeats (see "Sharing port 5353" in
// internal/mdnsnet); the multicast answers reach all of them. A Browser
// that will Collect, or Run only until a first answer as resolve does, is
// opened with [Config].NoReusePort: then its socket is outside the group,
// the newest on the port, and gets every unicast answer (unless another
// socket binds the port after it). A Browser that Runs for long keeps
// SO_REUSEPORT and relies on multicast answers after its first question.
//
// # A resident's cache
//
// A Browser that Run keeps going ("lanfind serve --mdns") can answer
// one-shot searches from its cache, as avahi-daemon answers avahi-browse.
// [Browser.Warm] reports whether Run has run for [WarmAfter] (its
// queries at 0, 1 and 3 s are answered). [Browser.Ask] then asks the LAN
// once more on a client's behalf, as avahi-daemon does for a new browser:
// one PTR question per type without the unicast-response bit, listing
// every instance known (known answers continued over several datagrams
// with the TC bit), and waits [AskWait] for what responders still add.
// Without the QU bit Avahi lets known answers from every datagram of a
// truncated query suppress its multicast answer; with it, Avahi answers
// by unicast at once whatever the first datagram did not list, so a
// question with QU and a hundred known answers gets about 3.5 KB back.
// Ask asks for a type at most once a second (RFC 6762 §5.2); a client
// within that second waits for the answers to the query already out.
//
// # Cache and events
//
// Records live in a cache of at most [MaxRecords] records until their TTL
// runs out, cut to [MaxTTL] (75 minutes). One responder address holds at
// most [MaxPerSource] of them; when the cache is full, a record from an
// address holding fewer takes the place of the oldest record of the
// address holding most, so a flooding host cannot keep the others out.
// What does not fit is dropped and counted. A record with TTL 0 is a goodbye: it removes the record at
// once (the entry goes [Down] with reason "goodbye"). A record with the
// cache-flush bit replaces the records of its set (name and type) that
// arrived more than a second earlier (RFC 6762 §10.2). An entry whose PTR
// or SRV record expires goes Down with reason "expired"; a change of port,
// host, addresses or metadata is an [Update]. At most [MaxEntries] entries
// are reported; more are dropped and counted.
//
// # Interface changes
//
// A Browser follows interfaces as they come and go, through
// internal/mdnsnet (see "Interface changes" there): on an interface that
// appears or changes it sends its queries at once and again a second
// later; a record heard only on interfaces that went away is dropped, and
// an entry left without its records goes Down with reason "iface-down"
// ([ReasonIfaceDown]), as lanfind's own discover reports it.
//
// # Entries
//
// An Entry's Name is the instance label, unescaped, as the responder sent
// it (it may contain dots and any UTF-8); Type is the service type; Host
// the SRV target without its trailing dot; Meta the TXT strings mapped by
// mdns.Meta; ID a stable hash of the full instance name (mdns.InstanceID).
// Names, hosts and metadata are bounded by lanfind's record limits; they
// are not escaped: the CLI escapes them as it does lanfind's own records.
package browse
