package termtext

import (
	"io"
	"os"

	"golang.org/x/term"
)

// Style holds the SGR sequences human output uses. The zero Style prints
// no colour at all.
type Style struct {
	Header, Name, Dim, Up, Update, Down string
}

// Colours is the style on a colour terminal.
var Colours = Style{
	Header: "1",  // bold
	Name:   "1",  // bold
	Dim:    "2",  // faint
	Up:     "32", // green
	Update: "33", // yellow
	Down:   "31", // red
}

// Paint wraps safe text s in the SGR sequence sgr; it returns s alone when
// sgr is empty. s must already be clean: colour is never a way around it.
func (st Style) Paint(sgr, s string) string {
	if sgr == "" || s == "" {
		return s
	}
	return "\x1b[" + sgr + "m" + s + "\x1b[0m"
}

// UseColor reports whether human output to w gets colour: only when w is a
// terminal, and never with --no-color, a non-empty NO_COLOR
// (https://no-color.org) or TERM=dumb.
func UseColor(w io.Writer, noColorFlag bool, getenv func(string) string) bool {
	if noColorFlag || getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	return IsTerminal(w)
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// StyleFor returns the style for human output to w.
func StyleFor(w io.Writer, noColorFlag bool) Style {
	if UseColor(w, noColorFlag, os.Getenv) {
		return Colours
	}
	return Style{}
}
