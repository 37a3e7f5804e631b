// Package resident owns the local unix socket through which one-shot
// lanfind commands reach a resident "lanfind serve": where the socket
// lives, listening on it (its directory, its mode, a stale socket left by
// a crash) and connecting to it (a short bound, and a check that the
// socket belongs to root or to the calling user, so that another local
// user cannot answer in the resident's place). What travels over the
// socket is the HTTP API of package serve; this package knows nothing of
// it, and imports nothing of lanfind.
//
// # Path
//
// [DefaultPath] is /run/lanfind/serve.sock for root and
// $XDG_RUNTIME_DIR/lanfind/serve.sock for another user ("" when
// XDG_RUNTIME_DIR is unset: no resident by default).
//
// # Listening
//
// [Listen] creates the socket's directory if missing (mode 0755 for root,
// so that the socket's own mode decides; 0700 otherwise) and gives the
// socket mode 0660 for root and 0600 otherwise. A socket already at the
// path is removed only when nothing answers on it (a resident that
// crashed); one that answers is [ErrInUse]. Closing the listener removes
// the socket.
//
// # Connecting
//
// [Dial] gives up after [DialTimeout] (a missing resident costs a one-shot
// command at most that), and refuses a path that is not a socket or whose
// owner is neither root nor the calling user; on Linux it also checks the
// peer's credentials (SO_PEERCRED) and reports its pid.
package resident
