package main

import (
	"io"
	"log/slog"
)

// streams are where a command writes.
type streams struct {
	Out io.Writer    // results
	Err io.Writer    // diagnostics
	Log *slog.Logger // built from -v/--log-format once, passed down; never in App.Metadata
}
