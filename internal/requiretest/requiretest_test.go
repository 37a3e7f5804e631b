package requiretest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		ci, lab string
		want    bool
	}{
		{"", "", false},
		{"false", "", false},
		{"0", "", false},
		{"yes", "", false}, // not a strconv.ParseBool value
		{"true", "", true},
		{"1", "", true},
		{"TRUE", "", true},
		{"", "require", true},
		{"false", "require", true},
		{"", "1", false},
	} {
		env := map[string]string{"CI": tc.ci, "LANFIND_LAB": tc.lab}
		if got := required(func(k string) string { return env[k] }); got != tc.want {
			t.Errorf("CI=%q LANFIND_LAB=%q: got %v, want %v", tc.ci, tc.lab, got, tc.want)
		}
	}
}

func TestMissing(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const absent = "lanfind-requiretest-no-such-program"
	if got := Missing(self, absent); len(got) != 1 || got[0] != absent {
		t.Errorf("Missing(%q, %q): got %q, want [%q]", self, absent, got, absent)
	}
}

// TestNeedWant runs helperNeedWant in a child test process under each
// environment and checks that a missing program skips or logs there, and
// fails when required.
func TestNeedWant(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fn, ci, lab string
		fail        bool
		want        string // in the child's output
	}{
		{"need", "", "", false, "--- SKIP: TestHelperNeedWant"},
		{"need", "true", "", true, "--- FAIL: TestHelperNeedWant"},
		{"need", "", "require", true, "--- FAIL: TestHelperNeedWant"},
		{"want", "", "", false, "went on"},
		{"want", "true", "", true, "--- FAIL: TestHelperNeedWant"},
	} {
		cmd := exec.CommandContext(t.Context(), self, "-test.run=^TestHelperNeedWant$", "-test.v")
		cmd.Env = append(os.Environ(), "REQUIRETEST_HELPER="+tc.fn, "CI="+tc.ci, "LANFIND_LAB="+tc.lab)
		out, err := cmd.CombinedOutput()
		desc := tc.fn + " CI=" + tc.ci + " LANFIND_LAB=" + tc.lab
		if failed := err != nil; failed != tc.fail || !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: got error %v, want failure %v and %q in:\n%s", desc, err, tc.fail, tc.want, out)
		}
		if !strings.Contains(string(out), "not installed: lanfind-requiretest-no-such-program") {
			t.Errorf("%s: no message naming the missing program in:\n%s", desc, out)
		}
	}
}

// TestHelperNeedWant is TestNeedWant's child; it does nothing unless
// REQUIRETEST_HELPER says which function to call.
func TestHelperNeedWant(t *testing.T) {
	switch os.Getenv("REQUIRETEST_HELPER") {
	case "need":
		Need(t, "sh", "lanfind-requiretest-no-such-program")
		t.Log("went on")
	case "want":
		Want(t, "sh", "lanfind-requiretest-no-such-program")
		t.Log("went on")
	}
}
