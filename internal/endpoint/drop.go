package endpoint

import (
	"errors"
	"sync/atomic"

	"github.com/lanfind/lanfind/beacon"
)

// Drop says why a received datagram was not a usable lanfind message.
// It is the one classification of dropped datagrams: announce, discover
// and the doctor count and name drops by it.
type Drop int

// Reasons to drop a datagram, and Keep.
const (
	Keep        Drop = iota // a lanfind message
	Foreign                 // no lanfind magic: other traffic on the port
	Malformed               // lanfind magic, but it does not parse
	Unsupported             // a newer major version or an unknown kind: dropped quietly

	// Keyed (sealed) mode; see package seal.

	Sealed   // sealed, but this endpoint has no key
	Unsealed // clear, but this endpoint takes only sealed traffic
	Rejected // sealed, but does not open: forged, altered, or under another key
	Stale    // opened, but sent outside the replay window: a replay, or a clock far off

	// The arrival checks of [Endpoint.Read], made before decoding.

	OtherIface // arrived on an interface not selected
	OffLink    // source outside every subnet of its arrival interface, or a subnet's broadcast or network address

	numDrops
)

// Decode parses p and says whether to keep it. err explains a drop other
// than Foreign.
func Decode(p []byte) (beacon.Beacon, Drop, error) {
	if !beacon.LooksLikeBeacon(p) {
		return beacon.Beacon{}, Foreign, nil
	}
	b, err := beacon.Parse(p)
	switch {
	case err == nil:
		return b, Keep, nil
	case errors.Is(err, beacon.ErrVersion), errors.Is(err, beacon.ErrKind):
		return b, Unsupported, err
	default:
		return b, Malformed, err
	}
}

// Drops counts datagrams read and dropped, by [Drop] reason. It is safe
// for concurrent use.
type Drops struct {
	received atomic.Uint64
	dropped  [numDrops]atomic.Uint64 // by reason; Keep is not counted
}

// Count counts one datagram dropped for d; Keep is not counted.
func (c *Drops) Count(d Drop) {
	if d > Keep && d < numDrops {
		c.dropped[d].Add(1)
	}
}

// DropStats are the totals of a [Drops].
type DropStats struct {
	Received    uint64 // datagrams read
	OtherIface  uint64 // [OtherIface]
	OffLink     uint64 // [OffLink]
	Foreign     uint64 // [Foreign]
	Malformed   uint64 // [Malformed]
	Unsupported uint64 // [Unsupported]
	Sealed      uint64 // [Sealed]
	Unsealed    uint64 // [Unsealed]
	Rejected    uint64 // [Rejected]
	Stale       uint64 // [Stale]
}

// Load returns the totals.
func (c *Drops) Load() DropStats {
	return DropStats{
		Received:    c.received.Load(),
		OtherIface:  c.dropped[OtherIface].Load(),
		OffLink:     c.dropped[OffLink].Load(),
		Foreign:     c.dropped[Foreign].Load(),
		Malformed:   c.dropped[Malformed].Load(),
		Unsupported: c.dropped[Unsupported].Load(),
		Sealed:      c.dropped[Sealed].Load(),
		Unsealed:    c.dropped[Unsealed].Load(),
		Rejected:    c.dropped[Rejected].Load(),
		Stale:       c.dropped[Stale].Load(),
	}
}
