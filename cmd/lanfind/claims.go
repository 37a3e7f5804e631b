package main

// One announcer per service instance on a host: "lanfind announce" claims
// the instance ID of every service it announces (internal/instlock), so a
// second process announcing the same name and type fails instead of making
// listeners flip between the two, or takes the service over with
// --take-over.

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/instlock"
)

// takeOver is another process taking over one of our instances.
type takeOver struct {
	instance uint64
	pid      int
}

// instanceClaims are the claims of one announcer, and the take-overs
// other processes ask for, which the daemon loop serves.
type instanceClaims struct {
	*instlock.Claims
	takeOvers chan takeOver
}

func newInstanceClaims(log *slog.Logger) *instanceClaims {
	ic := &instanceClaims{takeOvers: make(chan takeOver, 16)}
	ic.Claims = instlock.New(func(instance uint64, pid int) {
		select {
		case ic.takeOvers <- takeOver{instance, pid}:
		default: // the requester gives up after instlock.TakeOverWait
			log.Warn("take-over of an instance not served: too many at once",
				"instance", fmt.Sprintf("%016x", instance), "pid", pid)
		}
	})
	return ic
}

// claimAll claims the instance of every record, then releases those it
// holds that recs do not have. An instance another process holds fails
// with an error naming the service (and releases nothing).
func (ic *instanceClaims) claimAll(recs []beacon.Service, takeOver bool) error {
	now := instances(recs)
	for _, r := range recs {
		err := ic.Claim(r.Instance, takeOver)
		var he *instlock.HeldError
		switch {
		case errors.As(err, &he):
			pid := ""
			if he.PID != 0 {
				pid = fmt.Sprintf(" (pid %d)", he.PID)
			}
			return &exitError{
				code: exitFailure,
				msg: fmt.Sprintf("service %q of type %q: another lanfind process on this host%s "+
					"announces it (instance %016x)", r.Name, r.Type, pid, r.Instance),
				hint: "stop that process, or give --take-over to take the service over from it",
			}
		case err != nil:
			return err
		}
	}
	for _, inst := range ic.Held() {
		if !now[inst] {
			ic.Release(inst)
		}
	}
	return nil
}

// instances returns the set of instance IDs of recs.
func instances(recs []beacon.Service) map[uint64]bool {
	m := make(map[uint64]bool, len(recs))
	for _, r := range recs {
		m[r.Instance] = true
	}
	return m
}

// without returns svcs less the one that recs announce as instance.
func without(svcs []announce.Service, recs []beacon.Service, instance uint64) []announce.Service {
	for _, r := range recs {
		if r.Instance != instance {
			continue
		}
		k := announce.Key{Name: r.Name, Type: r.Type}
		out := make([]announce.Service, 0, len(svcs))
		for _, s := range svcs {
			if s.Key() != k {
				out = append(out, s)
			}
		}
		return out
	}
	return svcs
}
