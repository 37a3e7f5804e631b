package endpoint

import (
	"errors"
	"fmt"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/seal"
)

// Codec turns messages into datagrams and back, sealing them when it has
// keys. The zero Codec is unkeyed. A Codec is safe for concurrent use as
// long as nobody modifies it.
type Codec struct {
	// Keys seal what is sent and open what is received; empty means
	// unkeyed (clear) mode.
	Keys seal.Keys
	// Window is how far a sealed datagram's timestamp may lie from Now
	// either way. Defaults to seal.DefaultWindow.
	Window time.Duration
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

// Keyed reports whether c seals and opens datagrams.
func (c *Codec) Keyed() bool { return len(c.Keys) > 0 }

// Budget returns the largest clear message c can send in one datagram.
func (c *Codec) Budget() int {
	if c.Keyed() {
		return seal.MaxPayload
	}
	return beacon.MaxSize
}

func (c *Codec) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Encode marshals b into a datagram, sealed when c is keyed.
func (c *Codec) Encode(b *beacon.Beacon) ([]byte, error) {
	p, err := b.Marshal()
	if err != nil || !c.Keyed() {
		return p, err
	}
	return c.Keys.Seal(make([]byte, 0, len(p)+seal.Overhead), p, c.now())
}

// Decode classifies and parses one datagram. A keyed Codec keeps only
// sealed datagrams that open with one of its keys and were sent within the
// window; an unkeyed one keeps only clear datagrams. err explains a drop
// other than Foreign.
func (c *Codec) Decode(p []byte) (beacon.Beacon, Drop, error) {
	b, _, drop, err := c.decode(p)
	return b, drop, err
}

// decode is Decode that also returns when a sealed datagram was sealed, by
// its sender's clock (zero for a clear one).
func (c *Codec) decode(p []byte) (beacon.Beacon, time.Time, Drop, error) {
	sealed := seal.LooksSealed(p)
	switch {
	case !c.Keyed() && sealed:
		return beacon.Beacon{}, time.Time{}, Sealed, errors.New("sealed datagram, and no key to open it")
	case !c.Keyed():
		b, drop, err := Decode(p)
		return b, time.Time{}, drop, err
	case !sealed:
		if beacon.LooksLikeBeacon(p) {
			return beacon.Beacon{}, time.Time{}, Unsealed, errors.New("clear datagram, and a key is required")
		}
		return beacon.Beacon{}, time.Time{}, Foreign, nil
	}
	msg, sent, err := c.Keys.Open(p)
	if errors.Is(err, seal.ErrVersion) {
		return beacon.Beacon{}, time.Time{}, Unsupported, err
	}
	if err != nil {
		return beacon.Beacon{}, time.Time{}, Rejected, err
	}
	w := c.Window
	if w <= 0 {
		w = seal.DefaultWindow
	}
	if skew := c.now().Sub(sent); skew > w || skew < -w {
		return beacon.Beacon{}, time.Time{}, Stale, fmt.Errorf(
			"sealed datagram sent %v, %v from this host's clock (window ±%v)",
			sent.UTC().Format(time.RFC3339Nano), skew.Round(time.Millisecond), w)
	}
	b, drop, err := Decode(msg)
	if drop == Foreign { // authentic, but not a lanfind message inside
		return b, sent, Malformed, errors.New("sealed datagram without a lanfind message inside")
	}
	return b, sent, drop, err
}

// ReplayMemory is how long an endpoint must remember message IDs
// (sender and seq, or sender, request and attempt) so that a copy replayed
// inside the window is recognised: a datagram is accepted from window
// before to window after its timestamp, and the sender's clock may be
// ahead or behind, so twice the window, plus a second of slack, and never
// less than min.
func ReplayMemory(window, min time.Duration) time.Duration {
	if window <= 0 {
		window = seal.DefaultWindow
	}
	return max(2*window+time.Second, min)
}
