package termtext_test

import (
	"testing"

	"github.com/lanfind/lanfind/internal/termtext"
)

// The command's tests (cmd/lanfind output_test.go) cover Clean in full;
// these are the properties every printer relies on.
func TestClean(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"db", -1, "db"},
		{"a\x1b[31mb", -1, `a\x1b[31mb`},
		{"a\u202eb", -1, `a\u202eb`},
		{"a\xffb", -1, `a\xffb`},
		{"abcdef", 3, "abc…"},
	} {
		if got := termtext.Clean(tc.in, tc.max); got != tc.want {
			t.Errorf("Clean(%q, %d): got %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}
