package termtext

import (
	"encoding/json"
	"fmt"
	"io"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// WriteJSON writes v as one line of JSON that is safe to show on a
// terminal: besides what encoding/json escapes (C0 controls, U+2028,
// U+2029), every rune that is not printable, such as DEL, C1 controls and
// bidirectional overrides, is written as a \u escape.
func WriteJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(EscapeUnprintable(b), '\n'))
	return err
}

// EscapeUnprintable rewrites the unprintable runes of encoded JSON as \u
// escapes. Outside strings JSON is printable ASCII, so they are all inside
// strings, where an escape means the same rune.
func EscapeUnprintable(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == ' ' || (r != 0x7f && unicode.IsPrint(r)) || r < 0x20 { // C0: already escaped
			if out != nil {
				out = append(out, b[i:i+size]...)
			}
			i += size
			continue
		}
		if out == nil {
			out = append(make([]byte, 0, len(b)+16), b[:i]...)
		}
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += size
	}
	if out == nil {
		return b
	}
	return out
}
