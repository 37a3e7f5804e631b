package endpoint

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
)

// reasoned is an error that knows its text without a package prefix, as
// iface's and beacon's do.
type reasoned struct{}

func (reasoned) Error() string  { return "iface: no interface named \"eth9\"" }
func (reasoned) Reason() string { return "no interface named \"eth9\"" }

func TestErrorReason(t *testing.T) {
	if Wrap("announce", nil) != nil {
		t.Error("Wrap(nil): got an error, want nil")
	}
	plain := errors.New("no broadcast or multicast destination on lo")
	op := &net.OpError{
		Op:   "listen",
		Net:  "udp4",
		Addr: &net.UDPAddr{IP: net.IPv4zero, Port: 99},
		Err:  os.NewSyscallError("bind", syscall.EACCES),
	}
	tests := []struct {
		err          error
		text, reason string
	}{
		{plain, "announce: no broadcast or multicast destination on lo",
			"no broadcast or multicast destination on lo"},
		{reasoned{}, `announce: iface: no interface named "eth9"`, `no interface named "eth9"`},
		{fmt.Errorf("listen: %w", reasoned{}), `announce: listen: iface: no interface named "eth9"`,
			`no interface named "eth9"`},
		{fmt.Errorf("udp: listen 0.0.0.0:99: %w", op),
			"announce: udp: listen 0.0.0.0:99: " + op.Error(),
			"listen udp4 0.0.0.0:99: bind: permission denied"},
	}
	for _, tc := range tests {
		err := Wrap("announce", tc.err)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, tc.err) {
			t.Fatalf("Wrap(%v): got %#v, want an *Error that matches what it wraps", tc.err, err)
		}
		if err.Error() != tc.text || e.Reason() != tc.reason {
			t.Errorf("Wrap(%v): got %q, reason %q; want %q, reason %q",
				tc.err, err.Error(), e.Reason(), tc.text, tc.reason)
		}
	}
}
