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
	"strings"
	"time"

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

// CheckName reports why name cannot be a [Service.Name] given by a person,
// or nil: it is required, at most [beacon.MaxNameLen] bytes, and has no
// control characters. [New] checks the length; control characters are
// the caller's rule for text it takes from a person, applied here so that
// every caller applies the same one.
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

// CheckHostname reports why h cannot be a [Config.Hostname], or nil.
func CheckHostname(h string) error {
	if len(h) > beacon.MaxHostLen || hasControl(h) {
		return fmt.Errorf("want at most %d bytes and no control characters", beacon.MaxHostLen)
	}
	return nil
}

// CheckMetaKey reports why k cannot be a key of [Service.Meta], or nil.
func CheckMetaKey(k string) error {
	if k == "" || len(k) > beacon.MaxKeyLen {
		return fmt.Errorf("%d bytes, want 1 to %d", len(k), beacon.MaxKeyLen)
	}
	if hasControl(k) {
		return errors.New("control characters are not allowed")
	}
	return nil
}

// CheckMetaValue reports why v cannot be a value of [Service.Meta], or nil.
func CheckMetaValue(v string) error {
	if len(v) > beacon.MaxValueLen {
		return fmt.Errorf("value is %d bytes, want at most %d", len(v), beacon.MaxValueLen)
	}
	return nil
}

func checkText(s string, max int) error {
	switch {
	case len(s) > max:
		return fmt.Errorf("%d bytes, want at most %d", len(s), max)
	case hasControl(s):
		return errors.New("control characters are not allowed")
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
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
