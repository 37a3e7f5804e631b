package udp_test

import (
	"bytes"
	"errors"
	"net/netip"
	"syscall"
	"testing"

	"github.com/lanfind/lanfind/internal/udp"
)

// Tier 3: WriteToNeighbor on 127.0.0.1 delivers like WriteTo, and refuses
// what a reply must never be sent to without sending anything.
func TestWriteToNeighbor(t *testing.T) {
	rx := listen(t, localhost, udp.Options{})
	tx := listen(t, localhost, udp.Options{})
	n, err := tx.WriteToNeighbor([]byte("hello"), rx.LocalAddr(), 0)
	if err != nil || n != 5 {
		t.Fatalf("WriteToNeighbor to %s: got (%d, %v), want (5, nil)", rx.LocalAddr(), n, err)
	}
	got, src, _ := read(t, rx, 16)
	if !bytes.Equal(got, []byte("hello")) || src != tx.LocalAddr() {
		t.Fatalf("got %q from %s, want %q from %s", got, src, "hello", tx.LocalAddr())
	}
	// Multicast and broadcast are refused too, but only a namespace test
	// may try them (TestNSWriteToNeighbor).
	for _, dst := range []string{"0.0.0.0:28471", "127.0.0.1:0"} {
		if _, err := tx.WriteToNeighbor([]byte("x"), netip.MustParseAddrPort(dst), 0); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("WriteToNeighbor to %s: got %v, want EINVAL", dst, err)
		}
	}
	if _, err := tx.WriteToNeighbor([]byte("x"), netip.MustParseAddrPort("[::1]:28471"), 0); err == nil {
		t.Error("WriteToNeighbor to [::1]: got no error, want one")
	}
	if _, err := tx.WriteToNeighbor([]byte("x"), rx.LocalAddr(), -1); err == nil {
		t.Error("WriteToNeighbor with ifindex -1: got no error, want one")
	}
}
