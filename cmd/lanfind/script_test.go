package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/requiretest"
)

// TestMain lets the scripts run the test binary itself as "lanfind".
func TestMain(m *testing.M) {
	testscript.Main(cleanupM{m}, map[string]func(){
		"lanfind":  func() { os.Exit(run(context.Background(), os.Args, os.Stdout, os.Stderr)) },
		"holdport": holdPort,
	})
}

// cleanupM removes what the tests left for the whole process (the lanfind
// binary the lab tests build) after they ran.
type cleanupM struct{ m *testing.M }

func (c cleanupM) Run() int {
	// No lanfind the tests start listens on, or asks, a resident's
	// socket unless its test says where (--socket): never the machine's
	// /run/lanfind, and no resident of one test answers another's list.
	os.Setenv("LANFIND_SOCKET", "")
	code := c.m.Run()
	for _, f := range processCleanups {
		f()
	}
	return code
}

// processCleanups run once after all tests of the process.
var processCleanups []func()

// TestScript runs the tier-5 CLI scripts in testdata/script.
//
// The scripts run in the machine's own network namespace, so they may only
// run commands that stop before opening a socket: usage errors, bad flag
// values, help, and "lanfind iface", which only reads the interface list.
// Every list, resolve, watch or announce invocation in them also names an
// interface that does not exist (--iface nosuch0): should the check under
// test ever regress, the command still stops at interface selection, which
// comes before any socket is opened, instead of sending on a real LAN.
//
// Commands added for the scripts:
//
//	status N prog [args...]   run prog; fail unless it exits with status N
//	usageerr prog [args...]   status 2, nothing on stdout, exactly one
//	                          "lanfind: error: " line on stderr
//	lines stdout|stderr N     fail unless the last output has N lines
//	validjson stdout|stderr   fail unless the last output is one JSON value
//
// status and usageerr also fail when stderr shows a Go panic, a goroutine
// dump or a data race report, whatever the exit status.
//
// Conditions added: [usable] reports whether this host has an interface
// lanfind would use, which "lanfind iface" needs to exit 0.
func TestScript(t *testing.T) {
	// tools.txtar checks the completion scripts with [exec:zsh] and
	// [exec:fish]; a CI run fails instead of leaving those checks out.
	requiretest.Want(t, "zsh", "fish")
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("ESC", "\x1b")   // for arguments with a control character
			e.Setenv("RLO", "\u202e") // and with a bidirectional override
			// Under -race, each successful lanfind would otherwise wait a
			// second before exiting.
			e.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status":    cmdStatus,
			"usageerr":  cmdUsageErr,
			"lines":     cmdLines,
			"validjson": cmdValidJSON,
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "usable":
				return hasUsableInterface()
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// panicRE matches what the Go runtime prints when a program panics, dies
// with a goroutine dump or, built with -race, finds a data race.
var panicRE = regexp.MustCompile(`(?m)^(panic: |fatal error: |goroutine \d+ \[|WARNING: DATA RACE)`)

// execStatus runs prog with args, leaving its output for stdout and stderr
// checks, and returns its exit status.
func execStatus(ts *testscript.TestScript, args []string) int {
	if len(args) == 0 {
		ts.Fatalf("missing program")
	}
	err := ts.Exec(args[0], args[1:]...)
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", args[0], err)
	}
	if stderr := ts.ReadFile("stderr"); panicRE.MatchString(stderr) {
		ts.Fatalf("%s panicked, dumped goroutines or reported a data race", args[0])
	}
	return code
}

func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! status")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: status N prog [args...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	if got := execStatus(ts, args[1:]); got != want {
		ts.Fatalf("exit status: got %d, want %d", got, want)
	}
}

func cmdUsageErr(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! usageerr")
	}
	if len(args) < 1 {
		ts.Fatalf("usage: usageerr prog [args...]")
	}
	if got := execStatus(ts, args); got != 2 {
		ts.Fatalf("exit status: got %d, want 2", got)
	}
	if stdout := ts.ReadFile("stdout"); stdout != "" {
		ts.Fatalf("stdout: got %q, want nothing", stdout)
	}
	stderr := ts.ReadFile("stderr")
	if lines := splitLines(stderr); len(lines) != 1 || !strings.HasPrefix(lines[0], "lanfind: error: ") {
		ts.Fatalf("stderr: got %q, want one line starting with \"lanfind: error: \"", stderr)
	}
}

func cmdLines(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || (args[0] != "stdout" && args[0] != "stderr") {
		ts.Fatalf("usage: lines stdout|stderr N")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	got := len(splitLines(ts.ReadFile(args[0])))
	switch {
	case neg && got == want:
		ts.Fatalf("%s: got %d lines, want any other number", args[0], got)
	case !neg && got != want:
		ts.Fatalf("%s: got %d lines, want %d", args[0], got, want)
	}
}

func cmdValidJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || (args[0] != "stdout" && args[0] != "stderr") {
		ts.Fatalf("usage: validjson stdout|stderr")
	}
	var v any
	err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &v)
	switch {
	case err != nil && !neg:
		ts.Fatalf("%s is not valid JSON: %v", args[0], err)
	case err == nil && neg:
		ts.Fatalf("%s is valid JSON", args[0])
	}
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// hasUsableInterface reports whether lanfind would find an interface to
// use here. It only reads the interface list.
func hasUsableInterface() (bool, error) {
	l, closeL, err := iface.System()
	if err != nil {
		return false, err
	}
	defer closeL()
	all, err := l.Interfaces()
	if err != nil {
		return false, err
	}
	sel, err := iface.Select(all, nil, nil)
	return err == nil && len(sel) > 0, nil
}
