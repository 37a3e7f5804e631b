package main

import (
	"io"

	tt "github.com/lanfind/lanfind/internal/termtext"
)

// The names the doctor's files use for what moved to internal/termtext.
// TODO(issue 9): drop them when the doctor moves to its own package.

func clean(s string, max int) string { return tt.Clean(s, max) }

func writeJSON(w io.Writer, v any) error { return tt.WriteJSON(w, v) }
