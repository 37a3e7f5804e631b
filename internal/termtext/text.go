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
// characters, line and paragraph separators, invalid UTF-8, and the
// printable code points that show nothing (see invisible). A code point
// above U+FFFF is escaped as \U followed by eight hex digits.
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
		case r == ' ' || (unicode.IsPrint(r) && r != '\t' && !invisible(r)):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		n++
	}
	return b.String()
}

// invisible reports whether r is a printable code point that a terminal
// draws as nothing or as a blank, so that a name with it looks exactly like
// the name without it: the default-ignorable code points Unicode lists
// besides the format characters (the combining grapheme joiner U+034F, the
// Hangul fillers U+115F, U+1160, U+3164 and U+FFA0, the Khmer inherent
// vowels U+17B4 and U+17B5, ...), every variation selector (U+180B-U+180F,
// U+FE00-U+FE0F, U+E0100-U+E01EF) and the Braille pattern blank U+2800.
// Format characters (category Cf) are not printable and need no list.
func invisible(r rune) bool {
	if r < '\u034f' { // the first of them: Latin, Greek and the rest cost one comparison
		return false
	}
	return r == '\u2800' ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r)
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
