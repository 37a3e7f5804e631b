package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/output"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1 // announce, watch, iface: a runtime failure
	exitNotFound = 1 // list, resolve: nothing matched
	exitUsage    = 2 // bad command line or configuration; list and resolve: any error
)

// exitError carries an exit code and a message for stderr: one
// "lanfind: error:" line (or JSON record) per line of msg, then the hint.
type exitError struct {
	code int
	msg  string
	hint string
}

func (e *exitError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// errNotFound is the exit status 1 of a search that printed its empty
// result ("[]" for --json); it prints nothing else.
var errNotFound = &exitError{code: exitNotFound}

// writeError writes e to w as lanfind's diagnostics: "lanfind: error: …"
// for each line of its message, then "lanfind: hint: …".
func writeError(w io.Writer, e *exitError) {
	if e.msg != "" {
		for l := range strings.SplitSeq(e.msg, "\n") {
			fmt.Fprintf(w, "lanfind: error: %s\n", l)
		}
	}
	if e.hint != "" {
		fmt.Fprintf(w, "lanfind: hint: %s\n", e.hint)
	}
}

// logError writes e as error records of log, one per line of its message,
// the hint with the last one.
func logError(log *slog.Logger, e *exitError) {
	if e.msg == "" {
		return
	}
	lines := strings.Split(e.msg, "\n")
	for i, l := range lines {
		if i == len(lines)-1 && e.hint != "" {
			log.Error(l, "hint", e.hint)
		} else {
			log.Error(l)
		}
	}
}

// searchError is runtimeError for list and resolve, where exit code 1
// means only "nothing found": every error exits 2.
func searchError(err error) error {
	var ee *exitError
	if errors.As(runtimeError(err), &ee) {
		e := *ee
		e.code = exitUsage
		return &e
	}
	return nil
}

// reasoner is a library error that can say what is wrong without package
// prefixes: iface's, beacon's, announce's and the wrapping of
// internal/endpoint (see endpoint.Error).
type reasoner interface{ Reason() string }

// ownText returns err's text as lanfind's own: the reason of the first
// error in its chain that has one (so not 'announce: beacon: service "db":
// …' but 'service "db": …'), else err's text.
func ownText(err error) string {
	var r reasoner
	if errors.As(err, &r) {
		return r.Reason()
	}
	return err.Error()
}

// runtimeError wraps a library error for stderr with exit code 1, or 2 when
// it is about configuration (interfaces that do not exist, and the like).
func runtimeError(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee
	}
	code := exitFailure
	msg := ownText(err)
	var hint string
	var selErr *iface.SelectError
	var formatErr *output.FormatError
	switch {
	case errors.As(err, &formatErr): // a --format template that fails on a result
		code = exitUsage
	case errors.As(err, &selErr):
		// An interface that is down or has no address yet is the host's
		// state, not a bad command line: exit 1, which a service manager
		// retries (the unit prevents a restart only on exit 2).
		code = exitUsage
		if selErr.Temporary() {
			code = exitFailure
		}
		hint = "run \"lanfind iface\" to see the interfaces and why each is or is not used"
	case errors.Is(err, beacon.ErrTooBig), errors.Is(err, beacon.ErrMalformed):
		code = exitUsage
	case errors.Is(err, syscall.EADDRINUSE):
		hint = "another program holds lanfind's UDP port without sharing it; " +
			"\"lanfind doctor\" names it"
	case errors.Is(err, os.ErrPermission):
		hint = "is a firewall or a sandbox refusing broadcast or multicast here?"
	}
	return &exitError{code: code, msg: msg, hint: hint}
}
