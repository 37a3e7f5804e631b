// Package sdnotify tells a service manager how a daemon is doing, in
// systemd's sd_notify protocol: each state (READY=1, RELOADING=1,
// STOPPING=1, STATUS=…) is one datagram of NAME=VALUE lines sent to the
// AF_UNIX datagram socket NOTIFY_SOCKET names. Without one it does nothing.
//
// It only sends; reading NOTIFY_SOCKET and deciding when to notify is the
// caller's. It imports only the standard library.
package sdnotify
