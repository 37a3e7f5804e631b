package beacon

import (
	"encoding"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"
)

// How to add a field or a message kind.
//
// The byte layout is specified in the package comment (doc.go); change the
// spec first, then the code, in the same change.
//
// To add a field to a service record (compatible, no version bump):
//  1. Append it at the end of the record in the package comment's table.
//     Never insert it between existing fields: old receivers read records
//     up to the fields they know and skip the rest by the record length.
//  2. Add the struct field to Service with a doc comment that states its
//     unit and its zero value, and a limit constant if it has a length.
//  3. Count its bytes in recordSize (encode.go), write it at the end of
//     appendService (encode.go) and check it in validateService.
//  4. Read it at the end of decoder.service (parse.go) only when bytes are
//     left in the record, so records from older senders still parse; an
//     absent field reads as its zero value.
//  5. Add it to the golden beacons in beacon_test.go (new hex) and to the
//     fuzz seeds; keep a golden case without the field to prove step 4.
//
// To add a field to a query or to the end of a body: as above, but append
// it after the last field of the body, since query bodies have no length
// prefix; old receivers ignore bytes after the body.
//
// To add a message kind (compatible, no version bump):
//  1. Add a Kind constant with the next free number and a comment saying
//     who sends it and where; add its name to Kind.String.
//  2. Specify its body in the package comment.
//  3. Handle it in validate, Beacon.Size, AppendBinary and Parse. Old
//     receivers return ErrKind for it and drop it quietly.
//  4. Add golden beacons and fuzz seeds for it.
//
// To define a header flag: add a Flags constant, include it in
// flagsDefined, and describe it in the package comment. Old receivers
// ignore it.
//
// Anything else (changing, moving, resizing or reinterpreting a field,
// lowering a limit) is incompatible: bump Version.

// Wire constants.
const (
	// Version is the major protocol version this package writes and reads.
	Version = 1
	// MaxSize is the largest datagram lanfind ever sends or accepts. 1200
	// bytes plus IPv4/UDP headers fit every LAN and VPN MTU without
	// fragmentation (the same bound QUIC uses).
	MaxSize = 1200
	// HeaderSize is the size of the fixed header.
	HeaderSize = 28
	// DefaultPort is the UDP port lanfind uses for discovery traffic.
	DefaultPort = 28471
)

// Magic starts every lanfind datagram.
var Magic = [4]byte{'L', 'N', 'F', 'D'}

// DefaultGroup is the administratively scoped (RFC 2365) IPv4 multicast
// group lanfind uses.
var DefaultGroup = netip.AddrFrom4([4]byte{239, 255, 70, 70})

// DefaultGroup6 is the link-local scope (ff02::/16, RFC 4291) IPv6
// multicast group lanfind uses: ff02::efff:4646, whose 32-bit group ID is
// the IPv4 group's address, 239.255.70.70 (RFC 3307 group IDs; above
// 0x80000000, so it is none of IANA's permanent ones, and its Ethernet
// address 33:33:ef:ff:46:46 is no solicited-node one, 33:33:ff:...).
var DefaultGroup6 = netip.AddrFrom16([16]byte{
	0: 0xff, 1: 0x02,
	12: 0xef, 13: 0xff, 14: 0x46, 15: 0x46,
})

// Limits on variable-length fields, in bytes or items.
const (
	MaxNameLen  = 63  // service name and query name filter, bytes
	MaxTypeLen  = 63  // service type and query type filter, bytes
	MaxHostLen  = 255 // host name, bytes
	MaxKeyLen   = 63  // metadata key, bytes (at least 1)
	MaxValueLen = 255 // metadata value, bytes
	MaxMeta     = 32  // metadata pairs per service
	MaxAddrs    = 16  // addresses per service
	MaxKnown    = 128 // known-answer instance IDs per query
	MaxServices = 32  // service records per datagram
)

// MaxTTL is the largest service TTL. TTLs travel in whole milliseconds.
const MaxTTL = 24 * time.Hour

// Kind is the message type.
type Kind uint8

// Message kinds.
const (
	KindAnnounce Kind = 1 // periodic beacon, sent to broadcast and multicast
	KindReply    Kind = 2 // answer to a query, unicast, echoes the request ID
	KindGoodbye  Kind = 3 // the services are going away (TTL 0)
	KindQuery    Kind = 4 // a request for beacons, optionally filtered
)

// String returns the kind's lower-case name, e.g. "announce", or
// "Kind(7)" for a kind this package does not know.
func (k Kind) String() string {
	switch k {
	case KindAnnounce:
		return "announce"
	case KindReply:
		return "reply"
	case KindGoodbye:
		return "goodbye"
	case KindQuery:
		return "query"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// known reports whether k is a kind this package can encode and parse.
func (k Kind) known() bool {
	return k >= KindAnnounce && k <= KindQuery
}

// Flags is a set of header flags. Senders write zero in bits they do not
// define and receivers ignore bits they do not know.
type Flags uint16

// FlagAlsoIPv4 marks a query sent over IPv6 whose sender sends the same
// attempt over IPv4 on the same link too. A responder that has an IPv4
// address on the interface the copy arrived on answers the IPv4 copy
// and ignores this one, so a dual-stack link carries one answer, not
// two. Only queries carry it; receivers ignore it on other kinds.
const FlagAlsoIPv4 Flags = 1 << 0

// flagsDefined holds every flag bit this package knows.
const flagsDefined = FlagAlsoIPv4

// Beacon is one lanfind datagram.
//
// A Beacon is plain data. Its methods only read it, so several goroutines
// may call them on one Beacon as long as none modifies it.
type Beacon struct {
	Kind Kind
	// Flags holds header flags. Parse clears bits this package does not
	// define and Validate rejects them.
	Flags Flags
	// Sender identifies the sending process; random per process start.
	// Receivers use it to drop their own traffic and, with Seq, to
	// recognise copies of one message that arrived by several paths.
	Sender uint64
	// Seq is the sender's message counter. (Sender, Seq) names one message.
	Seq uint32
	// RequestID is a random, non-zero ID in a query and echoed in its
	// replies; zero in announcements and goodbyes (receivers ignore it
	// there).
	RequestID uint64
	// Query is set for KindQuery and nil otherwise.
	Query *Query
	// Services holds the records of an announcement, reply or goodbye
	// (1..MaxServices); empty for a query.
	Services []Service
}

// Query is the body of a KindQuery message.
type Query struct {
	// Attempt counts retransmissions of one request: 0, 1, 2, ...
	Attempt uint8
	// Name and Type filter the answer; empty means any. At most
	// MaxNameLen and MaxTypeLen bytes.
	Name, Type string
	// Known lists instance IDs the querier has already heard; their
	// owners stay quiet (known-answer suppression). At most MaxKnown;
	// Parse returns nil when there are none.
	Known []uint64
}

// Service is one announced service record.
type Service struct {
	// Instance is stable for one host and service across restarts.
	Instance uint64
	// Name names the service instance, e.g. "db"; 1..MaxNameLen bytes.
	Name string
	// Type is the kind of service, e.g. "postgres"; 1..MaxTypeLen bytes.
	Type string
	// Port is the service's port; zero if it has none.
	Port uint16
	// TTL is how long receivers keep the record without a refresh. It
	// travels in whole milliseconds, rounded up; at most MaxTTL. It is
	// zero in a goodbye and positive otherwise.
	TTL time.Duration
	// Host is the sender's host name, up to MaxHostLen bytes; may be empty.
	Host string
	// Addrs lists addresses the service is reachable at, up to MaxAddrs;
	// each valid and without a zone. IPv4 addresses travel in 4 bytes and
	// IPv4-mapped IPv6 addresses in 16, so both round-trip unchanged.
	// Parse returns nil when there are none.
	Addrs []netip.Addr
	// Meta holds up to MaxMeta key/value pairs; keys are 1..MaxKeyLen
	// bytes, values up to MaxValueLen bytes. Parse returns nil when there
	// are none.
	Meta map[string]string
}

// SameAs reports whether s and o carry the same record, their instance
// IDs aside: a receiver that holds one need not report the other as a
// change. Meta and Addrs compare by content (nil and empty alike).
func (s *Service) SameAs(o *Service) bool {
	return s.Name == o.Name && s.Type == o.Type && s.Port == o.Port && s.Host == o.Host &&
		s.TTL == o.TTL && slices.Equal(s.Addrs, o.Addrs) && maps.Equal(s.Meta, o.Meta)
}

// Errors callers branch on. Errors from Parse, Validate and AppendBinary
// carry more detail in their text and match one of these with [errors.Is].
var (
	// ErrShort means the datagram ends before the header or before a
	// field or record it declares.
	ErrShort = errors.New("beacon: datagram too short")
	// ErrMagic means the datagram does not start with Magic: it is not
	// lanfind traffic.
	ErrMagic = errors.New("beacon: bad magic")
	// ErrVersion means the datagram has a major version other than
	// Version, typically from a newer lanfind. Drop it quietly.
	ErrVersion = errors.New("beacon: unsupported version")
	// ErrTooBig means the message is larger than MaxSize.
	ErrTooBig = errors.New("beacon: message exceeds maximum size")
	// ErrKind means the message kind is unknown, typically a newer kind
	// from a newer lanfind. Drop it quietly.
	ErrKind = errors.New("beacon: unknown message kind")
	// ErrMalformed means a message or a Beacon breaks a rule of the
	// format: a field out of range, a bad count, a duplicate meta key, a
	// TTL that does not fit the kind.
	ErrMalformed = errors.New("beacon: malformed message")
)

var _ encoding.BinaryAppender = (*Beacon)(nil)

// wireError is an error with its own text that matches a sentinel.
type wireError struct {
	reason string // the text, without the "beacon: " prefix
	err    error  // one of the sentinels above
}

func (e *wireError) Error() string { return "beacon: " + e.reason }
func (e *wireError) Unwrap() error { return e.err }

// Reason returns the error's text without the package prefix, for a program
// that reports a Beacon it was given as its own problem: 'service "db":
// 33 meta pairs, max 32'.
func (e *wireError) Reason() string { return e.reason }

// errorf returns an error reading "beacon: " and the formatted text that
// matches sentinel.
func errorf(sentinel error, format string, args ...any) error {
	return &wireError{reason: fmt.Sprintf(format, args...), err: sentinel}
}
