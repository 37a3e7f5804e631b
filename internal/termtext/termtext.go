// Package termtext makes text that comes from the network (service names,
// host names, metadata, command lines of other processes) safe to print on
// a terminal. It is shared by everything that prints such text: the
// command's tables and lines, the live watch table and doctor's findings.
//
// It imports only the standard library and must not import anything of
// lanfind: it is a leaf every printer can use.
package termtext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

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
