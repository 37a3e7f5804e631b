package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

const wantDuration = "want a duration with a unit, such as 2s or 500ms"

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
		{in: "bogus --timeout 1s", err: `unknown command "bogus" (try "lanfind help")`},
		{in: "--help", want: "--help"},
		{in: "list --bogus", err: "unknown flag --bogus"},
		{in: "resolve db --type", err: "--type needs an argument"},
		{in: "list --timeout abc", err: `--timeout "abc": ` + wantDuration},
		{in: "list --timeout 1", err: `--timeout "1": ` + wantDuration},
		{in: "list --json=maybe", err: `--json "maybe": want true or false`},
		{in: "announce --name db --port -1", err: `--port "-1": want 0 to 65535`},
		{in: "announce --name db --port abc", err: `--port "abc": want 0 to 65535`},
		{in: "announce --name a --name=b",
			err: `--name given twice ("a" and "b"): it takes one value`},
		{in: "list --wait 1 --wait 2", err: `--wait given twice ("1" and "2"): it takes one value`},
		{in: "announce --name a --meta k=1 --meta j=2 -v -v",
			want: "announce --name a --meta k=1 --meta j=2 -v -v"},
		{in: "list --iface a --iface b", want: "list --iface a --iface b"},
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

// TestSuggest checks "did you mean": the near command or flag for a typo,
// and nothing for a word that is near nothing.
func TestSuggest(t *testing.T) {
	tests := []struct {
		in   string // space-separated command line
		err  string
		hint string
	}{
		{in: "lsit", err: `unknown command "lsit" (try "lanfind help")`,
			hint: `did you mean "list"?`},
		{in: "resolv db", err: `unknown command "resolv" (try "lanfind help")`,
			hint: `did you mean "resolve"?`},
		{in: "li", err: `unknown command "li" (try "lanfind help")`, hint: `did you mean "list"?`},
		{in: "hepl", err: `unknown command "hepl" (try "lanfind help")`,
			hint: `did you mean "help"?`},
		{in: "bogus", err: `unknown command "bogus" (try "lanfind help")`},
		{in: "help lsit", err: `no help topic for "lsit"`, hint: `did you mean "list"?`},
		{in: "list --nmae db", err: "unknown flag --nmae", hint: "did you mean --name?"},
		{in: "list --time 2s", err: "unknown flag --time", hint: "did you mean --timeout?"},
		{in: "watch --jsno", err: "unknown flag --jsno", hint: "did you mean --json?"},
		{in: "resolve db --tpye x", err: "unknown flag --tpye", hint: "did you mean --type?"},
		{in: "--ifcae eth0 list", err: "unknown flag --ifcae", hint: "did you mean --iface?"},
		// announce's, three edits from any of list's flags
		{in: "list --port 1", err: "unknown flag --port"},
		// one letter: near every other one
		{in: "list -x", err: "unknown flag -x"},
	}
	app := newApp(io.Discard, io.Discard)
	for _, tc := range tests {
		_, err := arrangeArgs(app, strings.Fields(tc.in))
		ee, ok := err.(*exitError)
		switch {
		case !ok:
			t.Errorf("%q: got %v, want error %q", tc.in, err, tc.err)
		case ee.msg != tc.err || ee.hint != tc.hint || ee.code != exitUsage:
			t.Errorf("%q: got %q, hint %q, code %d; want %q, hint %q, code %d",
				tc.in, ee.msg, ee.hint, ee.code, tc.err, tc.hint, exitUsage)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"list", "list", 0},
		{"lsit", "list", 1}, // a swap is one edit
		{"resolv", "resolve", 1},
		{"nmae", "name", 1},
		{"port", "wait", 3},
		{"", "abc", 3},
		{"ca", "abc", 3}, // optimal string alignment: no edit of a swapped pair
		{"éa", "aé", 1},  // letters, not bytes
	}
	for _, tc := range tests {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q): got %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := editDistance(tc.b, tc.a); got != tc.want {
			t.Errorf("editDistance(%q, %q): got %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}
