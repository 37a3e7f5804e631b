package endpoint

import "time"

// Damping of what an owner sends at once on an interface that appears or
// changes (announce's beacon bursts, the mDNS responder's probes and
// announcements, the mDNS querier's first queries).
const (
	// MinHold is the least time between two such bursts on one interface.
	MinHold = time.Second
	// MaxHold caps the hold-down of a flapping interface.
	MaxHold = 16 * time.Second
)

// Damper rate-limits the bursts sent on one interface when it appears or
// gains an address. A burst may go hold after the previous one. The hold
// starts at [MinHold] and doubles, up to [MaxHold], for each burst that
// follows the previous one within twice the hold: a link flapping every
// 200 ms gets bursts at about 0, 1, 3, 7, 15 s and then every 16 s, not
// five a second. After a quiet spell of twice the hold it is back to
// MinHold. The zero value is ready to use; it is not safe for concurrent
// use.
type Damper struct {
	last time.Time // of the last burst; zero if none
	hold time.Duration
}

// Next returns when a burst wanted at now may go.
func (d *Damper) Next(now time.Time) time.Time {
	if d.last.IsZero() {
		return now
	}
	if at := d.last.Add(d.hold); at.After(now) {
		return at
	}
	return now
}

// Sent records a burst at now.
func (d *Damper) Sent(now time.Time) {
	if !d.last.IsZero() && now.Sub(d.last) < 2*d.hold {
		d.hold = min(2*d.hold, MaxHold)
	} else {
		d.hold = MinHold
	}
	d.last = now
}

// Idle reports whether the last burst is so long ago (twice MaxHold) that
// the Damper holds nothing back any more: an owner may forget it.
func (d *Damper) Idle(now time.Time) bool { return now.Sub(d.last) > 2*MaxHold }
