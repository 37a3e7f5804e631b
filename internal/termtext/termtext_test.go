package termtext

import (
	"bytes"
	"testing"
	"time"
)

func TestClean(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"db", 32, "db"},
		{"café ☕ 数据库", -1, "café ☕ 数据库"},
		{"\x1b[31mred", -1, `\x1b[31mred`},
		{"a\u202eb", -1, `a\u202eb`},
		{"\u009b", -1, `\x9b`},
		{"x\xffy", -1, `x\xffy`},
		{"\uFFFD", -1, "\uFFFD"},
		{"abcdef", 3, "abc…"},
		{"abc", 3, "abc"},
		{"", 3, ""},
	}
	for _, tc := range tests {
		if got := Clean(tc.in, tc.max); got != tc.want {
			t.Errorf("Clean(%q, %d): got %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "now"},
		{999 * time.Millisecond, "now"},
		{4 * time.Second, "4s ago"},
		{59 * time.Second, "59s ago"},
		{3 * time.Minute, "3m ago"},
		{2*time.Hour + time.Minute, "2h ago"},
		{49 * time.Hour, "2d ago"},
	}
	for _, tc := range tests {
		if got := Age(tc.d); got != tc.want {
			t.Errorf("Age(%v): got %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestUseColor(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	var buf bytes.Buffer
	tests := []struct {
		name   string
		noFlag bool
		env    func(string) string
	}{
		{"not a terminal", false, env("TERM", "xterm")},
		{"--no-color", true, env("TERM", "xterm")},
		{"NO_COLOR", false, env("NO_COLOR", "1", "TERM", "xterm")},
		{"TERM=dumb", false, env("TERM", "dumb")},
	}
	for _, tc := range tests {
		if UseColor(&buf, tc.noFlag, tc.env) {
			t.Errorf("%s: got colour, want none", tc.name)
		}
	}
	// The zero style adds nothing.
	if got := (Style{}).Paint("", "x"); got != "x" {
		t.Errorf("paint without colour: got %q, want %q", got, "x")
	}
}
