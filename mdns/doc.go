// Package mdns is the wire format of multicast DNS (RFC 6762) as lanfind
// uses it for DNS-SD (RFC 6763): it parses and packs mDNS messages itself
// (golang.org/x/net/dns/dnsmessage cannot represent a label that contains
// a dot, see "DNS-SD names"), names DNS-SD instances and service types,
// and maps a DNS-SD instance to lanfind's field limits. It does no I/O and
// starts no goroutines; the querier (package mdns/browse) and the responder
// (package mdns/publish) do, over sockets from internal/mdnsnet.
//
// It must not import the sockets, the interface tracking or the CLI; it may
// import beacon for lanfind's field limits, so that an mDNS entry is
// bounded exactly as a lanfind record is.
//
// # Messages
//
// An mDNS message is a DNS message (RFC 1035 §4) sent to 224.0.0.251 or
// ff02::fb, UDP port 5353:
//
//	offset  size  field
//	0       2     ID: 0 in multicast messages; a legacy unicast reply copies the query's
//	2       2     flags: QR (0x8000) set in responses, AA (0x0400) set in responses,
//	              TC (0x0200) "more known answers follow"; opcode and rcode 0
//	4       2     QDCOUNT, questions
//	6       2     ANCOUNT, answers (in a query: known answers)
//	8       2     NSCOUNT, authority records (in a probe: the proposed records)
//	10      2     ARCOUNT, additional records
//	12      ...   questions, then the three record sections
//
// A question is a name, a type and a class; the top bit of the class is the
// unicast-response (QU) bit. A record is a name, type, class, 32-bit TTL in
// seconds and its data; the top bit of the class is the cache-flush bit: the
// record set (name, type, class) is unique to its sender. Names may be
// compressed (RFC 1035 §4.1.4); [Parse] follows only pointers that point
// backwards, at most 32 per name, and [Message.AppendPack] compresses every
// name, in PTR and SRV data too (RFC 6762 §18.14).
//
// # Limits
//
// A message is at most [MaxMessage] bytes (RFC 6762 §17); [Parse] keeps at
// most [MaxQuestions] questions and [MaxRecords] records of the types it
// knows (PTR, SRV, TXT, A, AAAA) and skips the others. Text strings beyond
// lanfind's metadata limits are dropped when an instance is mapped
// ([Instance.Meta]); a name longer than lanfind's limits is refused, so a
// peer cannot make an entry larger than a lanfind record may be. Strings are
// kept as raw bytes: escaping for a terminal is the caller's job, exactly
// as for lanfind's own records.
//
// # DNS-SD names
//
// A service instance is "<Instance>.<Service>.<Domain>" (RFC 6763 §4.1):
// the instance label is any UTF-8 of 1 to 63 bytes, the service is
// "_<name>._tcp" or "_<name>._udp" where name is 1 to 15 letters, digits
// and hyphens (RFC 6335 §5.1), and the domain is "local". An instance
// label may hold dots and backslashes ("Web.Site", as Avahi publishes):
// it stays one label on the wire, and in text, as [Parse] writes a name
// and [Message.AppendPack] reads one, a dot inside a label is `\.` and a
// backslash `\\` (RFC 6763 §4.3): `Web\.Site._http._tcp.local.`
// ([EscapeLabel], [InstanceName], [SplitInstance]). A label is 1 to 63
// bytes and a name at most 255 bytes on the wire (RFC 1035 §3.1).
// Services of all types are enumerated with "_services._dns-sd._udp.local"
// (RFC 6763 §9).
package mdns
