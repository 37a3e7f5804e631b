package watchtable

import (
	"strings"
	"testing"
)

func TestHeldLog(t *testing.T) {
	var out strings.Builder
	h := NewHeldLog(&out)
	h.Write([]byte("a\n"))
	big := []byte(strings.Repeat("x", heldLogMax) + "\n")
	h.Write(big) // over the cap: dropped
	h.Release()
	h.Write([]byte("b\n")) // through
	h.Release()            // a second release changes nothing
	want := "a\nlanfind: warning: 1 log lines dropped while the live table was shown\nb\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
