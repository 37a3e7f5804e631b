package termtext

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Column width caps, in runes, for untrusted text in human output.
const (
	CapName  = 32
	CapType  = 24
	CapHost  = 32
	CapIface = 16
	CapKey   = 32
	CapValue = 48
	CapMeta  = 64 // a whole metadata column
)

// OneLine returns text of several lines, such as another program's error
// output, as one line for a message: its lines trimmed and joined with
// "; ", runs of white space as one space, made safe and cut as [Clean] does.
func OneLine(s string, max int) string {
	var lines []string
	for l := range strings.Lines(s) {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	return Clean(strings.Join(lines, "; "), max)
}

// Clean makes untrusted text from the network safe for a terminal and cuts
// it to max runes (max < 0: no limit). Whatever is not a printable rune
// becomes a visible escape: C0 and C1 control characters (ESC, and so every
// CSI and OSC sequence, cannot get through), DEL, format characters such as
// the bidirectional overrides U+202A-U+202E and U+2066-U+2069 and zero-width
// characters, line and paragraph separators, and invalid UTF-8.
func Clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for i, r := range s {
		if n == max {
			b.WriteString("…")
			break
		}
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == ' ' || (unicode.IsPrint(r) && r != '\t'):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		n++
	}
	return b.String()
}

// Truncate cuts safe text s to max runes, marking the cut with "…".
func Truncate(s string, max int) string {
	n := 0
	for i := range s {
		if n == max {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// Width returns the number of terminal columns safe text s takes.
func Width(s string) int { return uniseg.StringWidth(s) }

// OrDash returns s, or "-" for the empty string.
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Age returns d as a short relative age: "now", "4s ago", "3m ago",
// "2h ago", "5d ago".
func Age(d time.Duration) string {
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}
