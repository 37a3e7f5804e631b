package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

// TestArrangeArgs checks the one place that reorders the command line:
// flags after positional arguments, flags before the command, "--", and
// the errors it reports in users' terms.
func TestArrangeArgs(t *testing.T) {
	tests := []struct {
		in, want string // space-separated; want "" when an error is expected
		err      string
	}{
		{in: "resolve db --timeout 3s", want: "resolve --timeout 3s -- db"},
		{in: "resolve db --timeout=3s -v", want: "resolve --timeout=3s -v -- db"},
		{in: "-v list", want: "list -v"},
		{in: "--iface eth0 --timeout 1s resolve db", want: "resolve --iface eth0 --timeout 1s -- db"},
		{in: "resolve --iface lo -- -x --timeout", want: "resolve --iface lo -- -x --timeout"},
		{in: "list", want: "list"},
		{in: "list --help", want: "list --help"},
		{in: "resolve -h db", want: "resolve -h -- db"},
		{in: "help list", want: "help list"},
		{in: "bogus --timeout 1s", want: "bogus --timeout 1s"},
		{in: "--help", want: "--help"},
		{in: "list --bogus", err: "unknown flag --bogus"},
		{in: "resolve db --type", err: "--type needs an argument"},
		{in: "list --timeout abc", err: `--timeout "abc": not a valid value`},
		{in: "list --wait=x", err: `--wait "x": not a valid value`},
		{in: "announce --name db --port -1", err: `--port "-1": not a valid value`},
		{in: "-v", err: `-v without a command (try "lanfind help")`},
		{in: "--timeout=2s", err: `--timeout without a command (try "lanfind help")`},
		{in: "--version", err: "unknown flag --version"},
		{in: "--bogus", err: "unknown flag --bogus"},
		{in: "help bogus", err: `no help topic for "bogus"`},
	}
	app := newApp(io.Discard, io.Discard)
	for _, tc := range tests {
		got, err := arrangeArgs(app, strings.Fields(tc.in))
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("%q: got %q, %v; want error %q", tc.in, got, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: got error %v, want %q", tc.in, err, tc.want)
		case tc.err == "" && !slices.Equal(got, strings.Fields(tc.want)):
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}
