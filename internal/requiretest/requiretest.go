package requiretest

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Required reports whether missing programs fail a test instead of
// skipping it: CI is true (as strconv.ParseBool reads it) or LANFIND_LAB
// is "require".
func Required() bool { return required(os.Getenv) }

func required(getenv func(string) string) bool {
	ci, _ := strconv.ParseBool(getenv("CI"))
	return ci || getenv("LANFIND_LAB") == "require"
}

// Missing returns the programs of names that are not on PATH, in order.
func Missing(names ...string) []string {
	var out []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			out = append(out, n)
		}
	}
	return out
}

// Need returns when every program in names is on PATH; otherwise it fails
// t when [Required] and skips it when not.
func Need(t testing.TB, names ...string) {
	t.Helper()
	check(t, names, "this test needs them", t.Skip)
}

// Want fails t when [Required] and a program in names is not on PATH;
// otherwise it logs which are missing and returns, and the test goes on
// without the checks that need them.
func Want(t testing.TB, names ...string) {
	t.Helper()
	check(t, names, "the checks that run them are left out", t.Log)
}

// check fails t when a program in names is missing and [Required], and
// calls otherwise when it is missing and not required.
func check(t testing.TB, names []string, consequence string, otherwise func(...any)) {
	t.Helper()
	missing := Missing(names...)
	if len(missing) == 0 {
		return
	}
	if Required() {
		t.Fatal(message(missing, consequence, true))
	}
	otherwise(message(missing, consequence, false))
}

// message says which programs are missing, what follows from it, and, when
// required, that this is a failure.
func message(missing []string, consequence string, required bool) string {
	s := "requiretest: not installed: " + strings.Join(missing, ", ") + "; " + consequence
	if required {
		s += " (CI=true or LANFIND_LAB=require: install them; a skip must not pass for a run)"
	}
	return s
}
