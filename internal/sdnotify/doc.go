// Package sdnotify tells a service manager how a daemon is doing, in
// systemd's sd_notify protocol (READY=1, RELOADING=1 with MONOTONIC_USEC,
// WATCHDOG=1, STOPPING=1, STATUS=…), and says whether standard error is
// the journal. Without NOTIFY_SOCKET it does nothing. It also takes the
// unix socket of socket activation (LISTEN_FDS), for serve's resident
// socket.
//
// Otherwise it only sends; deciding when to notify is the caller's. The protocol and
// the journal check are github.com/coreos/go-systemd/v22's (daemon,
// journal, activation); this package imports nothing else outside the
// standard library.
package sdnotify
