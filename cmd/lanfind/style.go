package main

import (
	"io"
	"os"

	"golang.org/x/term"
)

// style holds the SGR sequences human output uses. The zero style prints
// no colour at all.
type style struct {
	header, name, dim, up, update, down string
}

// colours is the style on a colour terminal.
var colours = style{
	header: "1",  // bold
	name:   "1",  // bold
	dim:    "2",  // faint
	up:     "32", // green
	update: "33", // yellow
	down:   "31", // red
}

// paint wraps safe text s in the SGR sequence sgr; it returns s alone when
// sgr is empty. s must already be clean: colour is never a way around it.
func (st style) paint(sgr, s string) string {
	if sgr == "" || s == "" {
		return s
	}
	return "\x1b[" + sgr + "m" + s + "\x1b[0m"
}

// useColor reports whether human output to w gets colour: only when w is a
// terminal, and never with --no-color, a non-empty NO_COLOR
// (https://no-color.org) or TERM=dumb.
func useColor(w io.Writer, noColorFlag bool, getenv func(string) string) bool {
	if noColorFlag || getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// styleFor returns the style for human output to w.
func styleFor(w io.Writer, noColorFlag bool) style {
	if useColor(w, noColorFlag, os.Getenv) {
		return colours
	}
	return style{}
}
