package announce

// The rules for a Config's settings and services, exported so that a
// command line or a configuration file checks a value by the same rule
// [New] applies, and says what is wrong in its own words and place.
//
// Each Check function returns nil or an error that says what is wanted
// ("want at least 10ms"), without the value or the setting's name: the
// caller prefixes those ("--interval 1ms: want at least 10ms").

import (
	"errors"
	"fmt"
	"iter"
	"time"
	"unicode/utf8"

	"github.com/lanfind/lanfind/beacon"
)

// Limits of [Config.Interval].
const (
	MinInterval = 10 * time.Millisecond
	MaxInterval = beacon.MaxTTL / 2
)

// CheckInterval reports why d cannot be a [Config.Interval], or nil.
func CheckInterval(d time.Duration) error {
	switch {
	case d < MinInterval:
		return fmt.Errorf("want at least %v", MinInterval)
	case d > MaxInterval:
		return fmt.Errorf("want at most %v", MaxInterval)
	}
	return nil
}

// CheckTTL reports why ttl cannot be a [Config.TTL] for beacons sent every
// interval, or nil. A TTL of at least two intervals keeps one late beacon
// from making the service flap.
func CheckTTL(ttl, interval time.Duration) error {
	switch {
	case ttl < 2*interval:
		return fmt.Errorf("want at least two intervals (%v), so one late beacon does not make the service flap", 2*interval)
	case ttl > beacon.MaxTTL:
		return fmt.Errorf("want at most %v", beacon.MaxTTL)
	}
	return nil
}

// CheckName reports why name cannot be a [Service.Name], or nil: it is
// required, at most [beacon.MaxNameLen] bytes, and has no unsafe
// characters (see [CheckText]).
func CheckName(name string) error {
	if name == "" {
		return errors.New("is required")
	}
	return checkText(name, beacon.MaxNameLen)
}

// CheckType reports why typ cannot be a [Service.Type], or nil: as
// [CheckName], but it may be empty and has its own limit,
// [beacon.MaxTypeLen].
func CheckType(typ string) error {
	return checkText(typ, beacon.MaxTypeLen)
}

// CheckHostname reports why h cannot be a [Config.Hostname], or nil: as
// [CheckType], with its own limit, [beacon.MaxHostLen].
func CheckHostname(h string) error {
	return checkText(h, beacon.MaxHostLen)
}

// CheckMetaKey reports why k cannot be a key of [Service.Meta], or nil.
func CheckMetaKey(k string) error {
	if k == "" || len(k) > beacon.MaxKeyLen {
		return fmt.Errorf("%d bytes, want 1 to %d", len(k), beacon.MaxKeyLen)
	}
	return CheckText(k)
}

// CheckMetaValue reports why v cannot be a value of [Service.Meta], or nil.
func CheckMetaValue(v string) error {
	if len(v) > beacon.MaxValueLen {
		return fmt.Errorf("value is %d bytes, want at most %d", len(v), beacon.MaxValueLen)
	}
	if err := CheckText(v); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	return nil
}

// CheckText is the one rule for every text an announcer sends (names,
// types, the host name, metadata keys and values): valid UTF-8 without
// control characters (C0, DEL, C1) or bidirectional formatting characters
// (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), which
// would let a name reorder or hide what a terminal shows around it.
// Listeners escape them anyway. [New] checks only lengths; the caller
// applies this rule to text it takes from a person (lanfind announce does,
// to every field of its flags and configuration file).
func CheckText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("invalid UTF-8 is not allowed")
	}
	for _, r := range s {
		switch {
		case r < 0x20, r >= 0x7f && r <= 0x9f:
			return errors.New("control characters are not allowed")
		case bidiControl(r):
			return fmt.Errorf("bidirectional overrides are not allowed (U+%04X)", r)
		}
	}
	return nil
}

func checkText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%d bytes, want at most %d", len(s), max)
	}
	return CheckText(s)
}

// bidiControl reports whether r is a bidirectional formatting character.
func bidiControl(r rune) bool {
	switch {
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Key is what two services of one Sender may not share: their name and
// type.
type Key struct{ Name, Type string }

// Key returns the name and type that identify s among a Sender's services.
func (s Service) Key() Key { return Key{s.Name, s.Type} }

// Duplicates yields, for each service of svcs that has the [Key] of an
// earlier one, its index and the index of the first service with that
// Key, in order. [New] and [Sender.Update] refuse services with any.
func Duplicates(svcs []Service) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		first := make(map[Key]int, len(svcs))
		for i, s := range svcs {
			j, dup := first[s.Key()]
			if !dup {
				first[s.Key()] = i
				continue
			}
			if !yield(i, j) {
				return
			}
		}
	}
}
