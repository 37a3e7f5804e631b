package termtext

import "testing"

func TestOneLine(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"", -1, ""},
		{"one line", -1, "one line"},
		{"Operation not permitted (you must be root)\nnetlink: Error: cache initialization failed\n", -1,
			"Operation not permitted (you must be root); netlink: Error: cache initialization failed"},
		{"  a\tb  \r\n\n\n  c  \n", -1, "a b; c"},
		{"x\x1b[2Jy\nz", -1, `x\x1b[2Jy; z`}, // still made safe
		{"abc\ndef", 5, "abc; …"},
	}
	for _, tc := range tests {
		if got := OneLine(tc.in, tc.max); got != tc.want {
			t.Errorf("OneLine(%q, %d): got %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}
