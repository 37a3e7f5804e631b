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
		// Printable but invisible: each renders as nothing or as a blank,
		// so "db" followed by one would look exactly like "db".
		{"db\u034f", -1, `db\u034f`},         // combining grapheme joiner
		{"db\ufe0f", -1, `db\ufe0f`},         // variation selector 16
		{"db\U000e0100", -1, `db\U000e0100`}, // variation selector 17
		{"db\u180b", -1, `db\u180b`},         // Mongolian free variation selector
		{"db\u3164", -1, `db\u3164`},         // Hangul filler
		{"db\uffa0", -1, `db\uffa0`},         // halfwidth Hangul filler
		{"db\u115f\u1160", -1, `db\u115f\u1160`},
		{"db\u17b4", -1, `db\u17b4`}, // Khmer inherent vowel
		{"db\u2800", -1, `db\u2800`}, // Braille pattern blank
		{"db\u2061", -1, `db\u2061`}, // invisible function application
		{"dé ✓ ж", -1, "dé ✓ ж"},     // visible text stays as it is
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
