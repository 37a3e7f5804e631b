// Package beacon defines the lanfind wire format: the [Beacon] message,
// its size limits and constants, [Beacon.AppendBinary] and [Parse], and the
// errors they return. It does no I/O and starts no goroutines; sending
// (subnet broadcast, RFC 919 and RFC 922, and multicast to an
// administratively scoped group, RFC 1112 and RFC 2365) belongs to the
// announce and discover packages.
//
// This comment is the specification of the format.
//
// # Header
//
// Every datagram starts with a fixed 28-byte header. All integers are
// big-endian.
//
//	off  len  field
//	  0    4  magic "LNFD" (4c 4e 46 44)
//	  4    1  version: 1
//	  5    1  kind: 1 announce, 2 reply, 3 goodbye, 4 query
//	  6    2  flags: bit 0 (0x0001) "also IPv4", queries only: the
//	          sender sends this same query over IPv4 on this link too
//	          ([FlagAlsoIPv4]); senders write 0 in the other bits
//	  8    8  sender ID: random per process start
//	 16    4  seq: the sender's message counter; (sender, seq) names a message
//	 20    8  request ID: random and non-zero in a query, echoed in its
//	          replies, 0 in announcements and goodbyes
//	 28    -  body, by kind
//
// A whole datagram is at most [MaxSize] (1200) bytes, so that it crosses
// any LAN or VPN link without IP fragmentation.
//
// # Query body
//
//	len        field
//	1          attempt: 0 for the first transmission, then 1, 2, ...
//	1 + n      name filter: length n (0..63) then bytes; empty means any
//	1 + n      type filter: length n (0..63) then bytes; empty means any
//	1 + 8*n    known answers: count n (0..128) then n instance IDs (8 each)
//
// # Announce, reply and goodbye body
//
//	len        field
//	1          record count: 1..32
//	...        that many service records
//
// Each service record:
//
//	len        field
//	2          record length: the number of record bytes that follow
//	8          instance ID: stable for one host and service
//	2          port
//	4          TTL in milliseconds: 1..86400000; 0 in a goodbye and only there
//	1 + n      name: length n (1..63) then bytes
//	1 + n      type: length n (0..63) then bytes; empty means untyped
//	1 + n      host: length n (0..255) then bytes
//	1 + ...    addresses: count (0..16), then per address its length
//	           (4 for IPv4, 16 for IPv6) and its bytes
//	1 + ...    metadata: count (0..32), then per pair a key (length 1..63
//	           in 1 byte, then bytes) and a value (length 0..255 in 2
//	           bytes, then bytes); keys are unique and sorted when
//	           this package writes them
//
// Strings are bytes; this package neither requires nor checks UTF-8.
//
// # Compatibility
//
// Parse never panics: every length is checked against what is left of the
// datagram, or of the record, before use. The rules that let senders and
// receivers of different lanfind releases talk to each other:
//
//   - The version byte is the major version. An incompatible change (a
//     field moved, resized, removed or reinterpreted, a limit lowered)
//     bumps it. Receivers reject any other version with [ErrVersion] and
//     drop the datagram quietly.
//   - A receiver ignores bytes left in a record after the fields it knows
//     and bytes after the body. So a minor revision may append fields at
//     the end of a record or of a body without a version bump; its
//     receivers treat a missing new field as its zero value.
//   - A receiver ignores flag bits it does not know.
//   - A minor revision may add a message kind; older receivers reject it
//     with [ErrKind] and drop it quietly.
//   - Raising a limit is compatible in one direction only: older
//     receivers reject values above their limit with [ErrMalformed], so
//     senders may use the new room only once those receivers are gone.
//
// Receivers identify senders and deduplicate by the sender ID, seq and
// request ID, never by source address. Seq grows by one with each message
// a sender packs (wrapping at 2³²), so a listener ignores a record that
// comes in a message older (in serial number arithmetic, RFC 1982) than the
// one its current copy of that record came in from the same sender, and
// any record older than that sender's goodbye: a message handled late
// (replies and beacons reach different sockets) or replayed never undoes a
// newer record or a goodbye. Sequence numbers in clear datagrams can be
// forged, so a receiver may believe that order only for as long as
// reordering lasts (package discover: a second, and not across a jump of
// more than 65536); sealed ones are authentic.
//
// # Sealed datagrams
//
// With a shared key, every message specified here travels whole inside a
// sealed datagram (magic "LNFS"), encrypted and authenticated, and
// datagrams in clear are dropped. The sealed format, its 52 bytes of
// overhead (so the message inside is at most 1148 bytes) and its replay
// window are specified in package [github.com/lanfind/lanfind/seal].
//
// # Go representation
//
// [Parse] copies what it keeps, so read buffers can be reused; it returns
// nil for empty address, metadata and known-answer lists, and TTLs as
// whole milliseconds. [Beacon.AppendBinary] writes metadata in sorted key
// order, so equal Beacons marshal to equal bytes, and rounds TTLs up to
// whole milliseconds. Both apply the same rules, checked by
// [Beacon.Validate]: whatever Parse accepts marshals again.
package beacon
