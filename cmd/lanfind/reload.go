package main

// Running "lanfind announce" as a daemon: readiness notification to the
// service manager, and reloading the configuration file on SIGHUP.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/internal/config"
	"github.com/lanfind/lanfind/internal/sdnotify"
)

// startDaemon tells the service manager (if any) that s is ready, serves
// take-overs of its instances by other processes (ending the run through
// quit when none is left) and, with a configuration, reloads it on SIGHUP,
// until ctx ends or stop is called; each reload's services also go to
// also (the mDNS responder). stop waits for the loop to finish and
// tells the service manager that lanfind is stopping.
func startDaemon(
	ctx context.Context,
	s *announce.Sender,
	as *announceSettings,
	claims *instanceClaims,
	quit context.CancelFunc,
	log *slog.Logger,
	also func([]announce.Service, *config.File) error,
) (stop func()) {
	n := sdnotify.New(log)
	n.Ready(readyStatus(len(as.services)))
	stopWatchdog := n.Watchdog(ctx)
	r := &reloader{
		s:        s,
		as:       as,
		claims:   claims,
		log:      log,
		services: as.services,
		also:     also,
	}
	hup := make(chan os.Signal, 1)
	if as.file != nil {
		signal.Notify(hup, syscall.SIGHUP)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				n.Reloading()
				count, err := r.reload()
				if err != nil {
					r.logError(err)
				}
				n.Ready(readyStatus(count))
			case t := <-claims.takeOvers:
				if r.takeOver(t) == 0 {
					quit()
					return
				}
				n.Ready(readyStatus(len(r.services)))
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		<-done
		stopWatchdog()
		n.Stopping()
	}
}

func readyStatus(services int) string {
	return fmt.Sprintf("announcing %d services", services)
}

// reloader reloads announce's configuration file.
type reloader struct {
	s      *announce.Sender
	as     *announceSettings // as the process started: the file's settings in effect
	claims *instanceClaims
	log    *slog.Logger
	also   func([]announce.Service, *config.File) error // passes a reload on to the mDNS responder
	// services in effect; only the daemon goroutine uses it
	services []announce.Service
}

// takeOver stops announcing the instance another process takes over, with
// a goodbye, and lets go of its claim. It returns the number of services
// left; with none, the caller ends the run.
func (r *reloader) takeOver(t takeOver) int {
	recs := r.s.Instances()
	svcs := without(r.services, recs, t.instance)
	for _, rec := range recs {
		if rec.Instance == t.instance {
			r.log.Warn("another lanfind process takes this service over; stopping announcing it",
				"name", rec.Name, "type", rec.Type, "pid", t.pid)
		}
	}
	if len(svcs) == len(r.services) {
		r.claims.Release(t.instance) // not (or no longer) ours
		return len(r.services)
	}
	if len(svcs) == 0 {
		// The run's goodbye says goodbye; the process's end lets go.
		r.services = nil
		return 0
	}
	if err := r.s.Update(svcs); err != nil {
		r.log.Error("take-over: "+err.Error(), "services", len(r.services))
		return len(r.services)
	}
	r.services = svcs
	r.claims.Release(t.instance)
	return len(svcs)
}

// reload reads the configuration file again and makes its services the ones
// announced, with those from flags. On any error the old services stay.
// Top-level settings cannot change without a restart: a changed one is
// logged as a warning and ignored. It returns the number of services
// announced afterwards.
func (r *reloader) reload() (int, error) {
	path := r.as.configName()
	fc, err := r.as.loadConfig()
	if err != nil {
		return len(r.services), err
	}
	svcs, err := combineServices(r.as.flagServices, fc)
	if err == nil && len(svcs) == 0 {
		err = fmt.Errorf("%s: no [[service]] table and no service on the command line: "+
			"nothing to announce", path)
	}
	if err != nil {
		return len(r.services), err
	}
	if err := r.s.Update(svcs); err != nil {
		return len(r.services), err
	}
	// A service added that another process announces: back to the old
	// services (Update of what ran before cannot fail).
	if err := r.claims.claimAll(r.s.Instances(), false); err != nil {
		if err := r.s.Update(r.services); err != nil {
			r.log.Error("reload: restoring the services announced before: " + err.Error())
		}
		r.claims.claimAll(r.s.Instances(), false) // releases the ones just claimed
		return len(r.services), err
	}
	d := diffServices(r.services, svcs)
	if err := r.also(svcs, fc); err != nil {
		r.log.Warn("reload: mdns: " + err.Error())
	}
	r.services = svcs
	for _, key := range config.Keys {
		if r.as.explicit[key] {
			continue // a flag sets it; the file's value never mattered
		}
		if old, now := r.as.file.Setting(key), fc.Setting(key); old != now {
			r.log.Warn(fmt.Sprintf("reload: %s: %s changed from %s to %s; "+
				"restart lanfind to apply it", path, key, old, now))
		}
	}
	d.log(r.log)
	r.log.Info("reloaded",
		"file", path,
		"services", len(svcs),
		"added", len(d.added),
		"removed", len(d.removed),
		"changed", len(d.changed))
	return len(svcs), nil
}

// serviceDiff is what a reload changed, each list in the new (or, for
// removed services, the old) order.
type serviceDiff struct {
	added, removed []announce.Service
	changed        []serviceChange
}

type serviceChange struct {
	svc  announce.Service // as it is now
	what []string         // "port 5432 -> 5433", "meta version added", ...
}

// diffServices compares the services announced before a reload with those
// after it, by name and type (what identifies an instance).
func diffServices(before, after []announce.Service) serviceDiff {
	var d serviceDiff
	old := make(map[announce.Key]announce.Service, len(before))
	for _, s := range before {
		old[s.Key()] = s
	}
	kept := make(map[announce.Key]bool, len(after))
	for _, s := range after {
		o, ok := old[s.Key()]
		kept[s.Key()] = true
		switch {
		case !ok:
			d.added = append(d.added, s)
		default:
			if what := changes(o, s); len(what) > 0 {
				d.changed = append(d.changed, serviceChange{s, what})
			}
		}
	}
	for _, s := range before {
		if !kept[s.Key()] {
			d.removed = append(d.removed, s)
		}
	}
	return d
}

// changes says what differs between two versions of one service.
func changes(o, s announce.Service) []string {
	var what []string
	if o.Port != s.Port {
		what = append(what, fmt.Sprintf("port %d -> %d", o.Port, s.Port))
	}
	for _, k := range slices.Sorted(maps.Keys(s.Meta)) {
		ov, had := o.Meta[k]
		switch {
		case !had:
			what = append(what, fmt.Sprintf("meta %s added", k))
		case ov != s.Meta[k]:
			what = append(what, fmt.Sprintf("meta %s changed", k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.Meta)) {
		if _, has := s.Meta[k]; !has {
			what = append(what, fmt.Sprintf("meta %s removed", k))
		}
	}
	return what
}

// log writes one record per added, removed and changed service.
func (d serviceDiff) log(log *slog.Logger) {
	for _, s := range d.added {
		log.Info("reload: added", "name", s.Name, "type", s.Type, "port", s.Port)
	}
	for _, s := range d.removed {
		log.Info("reload: removed", "name", s.Name, "type", s.Type, "port", s.Port)
	}
	for _, c := range d.changed {
		log.Info("reload: changed",
			"name", c.svc.Name,
			"type", c.svc.Type,
			"port", c.svc.Port,
			"what", strings.Join(c.what, ", "))
	}
}

// logError logs why a reload failed, one record per problem.
func (r *reloader) logError(err error) {
	var ce *config.Error
	var ee *exitError
	switch {
	case errors.As(err, &ce):
		for _, l := range ce.Lines() {
			r.log.Error("reload: " + l)
		}
	case errors.As(err, &ee):
		r.log.Error("reload: " + ee.msg)
	default:
		r.log.Error("reload: " + err.Error())
	}
	r.log.Error("reload: keeping the services announced before", "services", len(r.services))
}
