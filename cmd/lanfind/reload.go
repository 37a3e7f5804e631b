package main

// Running "lanfind announce" as a daemon: readiness notification to the
// service manager, and reloading the configuration file on SIGHUP.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/internal/config"
	"github.com/lanfind/lanfind/internal/sdnotify"
)

// startDaemon tells the service manager (if any) that s is ready and, with
// a configuration file, reloads it on SIGHUP until ctx ends or stop is
// called; each reload's services also go to also (the mDNS responder). stop waits for the reloads to finish and tells the service
// manager that lanfind is stopping.
func startDaemon(
	ctx context.Context, s *announce.Sender, as *announceSettings, log *slog.Logger,
	also func([]announce.Service, *config.File) error,
) (stop func()) {
	n := sdnotify.New(os.Getenv("NOTIFY_SOCKET"), log)
	n.Notify(readyState(len(as.services)))
	if as.file == nil {
		return func() { n.Notify("STOPPING=1") }
	}
	r := &reloader{
		s:    s,
		also: also,
		as:   as,
		log:  log,
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				n.Notify("RELOADING=1")
				count, err := r.reload()
				if err != nil {
					r.logError(err)
				}
				n.Notify(readyState(count))
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		<-done
		n.Notify("STOPPING=1")
	}
}

func readyState(services int) string {
	return fmt.Sprintf("READY=1\nSTATUS=announcing %d services", services)
}

// reloader reloads announce's configuration file.
type reloader struct {
	s    *announce.Sender
	also func([]announce.Service, *config.File) error // passes a reload on to the mDNS responder
	as   *announceSettings                            // as the process started: the file's settings in effect
	log  *slog.Logger
	// services in effect; only the reload goroutine uses it
	services []announce.Service
}

// reload reads the configuration file again and makes its services the ones
// announced, with those from flags. On any error the old services stay.
// Top-level settings cannot change without a restart: a changed one is
// logged as a warning and ignored. It returns the number of services
// announced afterwards.
func (r *reloader) reload() (int, error) {
	if r.services == nil {
		r.services = r.as.services
	}
	path := r.as.file.Path
	fc, err := config.Load(path)
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
	r.log.Info("reloaded", "file", path, "services", len(svcs))
	return len(svcs), nil
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
