// Package zone answers DNS queries (RFC 1034, RFC 1035) for the services
// lanfind knows: it is an authoritative server for one domain, "lan" unless
// Config.Domain says otherwise, whose names come and go with the services.
// It owns the table of records ([Server.Set], [Server.Delete]), the request
// parser and answer builder ([Server.AppendAnswer]) built on
// golang.org/x/net/dns/dnsmessage, and the UDP and TCP sockets it serves
// on. It knows nothing of beacons, interfaces or discovery: package serve
// feeds it. It must not import discover, announce or any socket code of
// lanfind's own protocol.
//
// # Names
//
// A service name becomes one DNS label ([Label]): ASCII letters are
// lower-cased; letters a-z and digits are kept; every run of other bytes
// ("-", spaces, dots, underscores, anything outside ASCII) becomes one
// "-"; leading and trailing "-" are removed; the result is cut to 63 bytes.
// "Web Server", "web_server" and "web.server" all become "web-server"; a
// name left with no letter or digit gets no DNS name. A service type maps
// the same way. Services whose names map to the same label are instances of
// one DNS name, as two instances of one service name are.
//
// # Records
//
// For the domain D:
//
//	<label>.D    A      the IPv4 addresses each instance was heard from
//	                    (the addresses to connect to from this host); for
//	                    an instance heard over IPv6 only, the first
//	                    routable IPv4 address it reports for itself
//	<label>.D    AAAA   the global and unique-local IPv6 addresses each
//	                    instance was heard from or reports for itself
//	                    (never link-local ones: a DNS answer has no zone)
//	<label>.D    TXT    one record per instance: its metadata as sorted
//	                    "key=value" strings (RFC 6763 §6); a pair longer
//	                    than 255 bytes is left out
//	_<type>._tcp.D SRV  one record per instance: priority 0, weight 1, the
//	                    instance's port, target <label>.D (RFC 2782);
//	                    under _<type>._udp.D instead for a service whose
//	                    Record.Proto is "udp" (a DNS-SD _udp service seen
//	                    over mDNS); lanfind's own services have no
//	                    protocol and are served under _tcp
//	D            SOA    the zone's own record; also in the authority
//	                    section of NXDOMAIN and no-data answers, its
//	                    minimum field (the negative-caching TTL) being
//	                    Config.MaxTTL
//
// One address is answered once, however many instances share it. A query
// of type ANY gets every record of the name. A name in the domain
// that has records of other types only (or is "_tcp.D" or "_udp.D" with
// some SRV below it) gets an empty NOERROR answer; any other name in the domain gets
// NXDOMAIN. Answers in the domain are authoritative (AA set); recursion is
// never offered (RA clear) and names outside the domain get REFUSED, so
// the server can never be used to reach other names. Requests that are not
// a standard query get NOTIMP; a request without exactly one question,
// or with a question of a class other than IN or ANY, gets FORMERR or
// REFUSED; responses and datagrams too short for a header are dropped.
//
// # TTL
//
// Every record's TTL is the smaller of the instance's own TTL (how long its
// announcer asked to be remembered) and Config.MaxTTL (5 s unless set). An
// entry stays in the table only while its announcer keeps it alive, so a
// departed or expired service stops resolving at once on this server and
// within Config.MaxTTL in any cache in front of it.
//
// # Size and transport
//
// Over UDP an answer fits in 512 bytes, or in the size an EDNS(0) OPT
// record offers (RFC 6891), capped at 1232 bytes; a larger answer is sent
// with no records and TC set (RFC 1035 §4.2.1), and the client asks again
// over TCP (RFC 7766), where an answer may hold up to 65535 bytes: records
// beyond that are left out. A TCP connection may carry several queries; it
// is closed after Config.IdleTimeout without one, and at most
// Config.MaxConns are open at once.
//
// # Safe by default
//
// On a non-loopback address UDP queries are rate-limited per source
// address (Config.Rate), so the server cannot be used to amplify traffic
// towards a forged source; excess queries are dropped and counted. The
// tables are bounded by what feeds them (discover keeps at most its
// MaxEntries instances).
package zone
