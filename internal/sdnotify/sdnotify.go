package sdnotify

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/coreos/go-systemd/v22/journal"
)

// Notifier tells the service manager named by NOTIFY_SOCKET (a path, or
// "@name" for an abstract socket) how the daemon is doing. Without
// NOTIFY_SOCKET it does nothing.
type Notifier struct {
	log *slog.Logger
}

// New returns a Notifier for the service manager of this process, if any.
// Problems are logged to log as warnings.
func New(log *slog.Logger) *Notifier {
	return &Notifier{log: log}
}

// Notify sends state, NAME=VALUE lines. A failure is logged: the service
// manager then reports the service as not ready, which says enough.
func (n *Notifier) Notify(state string) {
	sent, err := daemon.SdNotify(false, state)
	oneLine := strings.ReplaceAll(strings.TrimSpace(state), "\n", " ")
	switch {
	case err != nil:
		n.log.Warn("notify the service manager", "state", oneLine, "err", err)
	case sent:
		n.log.Debug("notified the service manager", "state", oneLine)
	}
}

// Ready says the daemon is ready (again, after a reload), with status.
func (n *Notifier) Ready(status string) {
	n.Notify(daemon.SdNotifyReady + "\nSTATUS=" + status)
}

// Reloading says a reload has begun; Ready says when it is done. The
// MONOTONIC_USEC time stamp lets systemd 253 and later run lanfind as
// Type=notify-reload.
func (n *Notifier) Reloading() {
	n.Notify(daemon.SdNotifyReloading + "\n" + daemon.SdNotifyMonotonicUsec())
}

// Stopping says the daemon is stopping.
func (n *Notifier) Stopping() { n.Notify(daemon.SdNotifyStopping) }

// Watchdog sends WATCHDOG=1 at half the interval the service manager asks
// for (WatchdogSec=, passed as WATCHDOG_USEC), until ctx ends or the
// returned stop is called. Without a watchdog it does nothing. The ping says
// that the process runs and its goroutines are scheduled: a hung or
// starved process is restarted.
func (n *Notifier) Watchdog(ctx context.Context) (stop func()) {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		n.log.Warn("watchdog: bad WATCHDOG_USEC or WATCHDOG_PID; not pinging", "err", err)
	}
	if err != nil || d <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(d / 2)
		defer tick.Stop()
		for {
			n.Notify(daemon.SdNotifyWatchdog)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

// StderrIsJournal reports whether standard error is connected to the
// systemd journal (JOURNAL_STREAM names its device and inode), so that log
// lines may carry journald priorities.
func StderrIsJournal() bool {
	ok, err := journal.StderrIsJournalStream()
	return ok && err == nil
}
