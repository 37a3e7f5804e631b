package endpoint

import (
	"errors"
	"net"
)

// Error is an error of an owner's package (announce, discover) about what
// its Endpoint did: pkg's prefix and err, which it matches. Its Reason is
// the same without prefixes, for a program that reports it as its own.
type Error struct {
	pkg string
	err error
}

// Wrap returns err as an error of the package named pkg ("announce"), or
// nil when err is nil.
func Wrap(pkg string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{pkg: pkg, err: err}
}

func (e *Error) Error() string { return e.pkg + ": " + e.err.Error() }
func (e *Error) Unwrap() error { return e.err }

// Reason returns the error's text without package prefixes: the Reason of
// the error it wraps when that has one (iface's, beacon's), or a socket's
// error as package net words it ("listen udp4 0.0.0.0:99: bind: permission
// denied"), else its text.
func (e *Error) Reason() string {
	var r interface{ Reason() string }
	var op *net.OpError
	switch {
	case errors.As(e.err, &r):
		return r.Reason()
	case errors.As(e.err, &op):
		return op.Error()
	}
	return e.err.Error()
}
