// Package leaktest fails a test binary whose goroutines running lanfind
// code outlive its tests. Packages that start goroutines (announce,
// discover) call [Main] from their TestMain. Model: golang/go
// src/net/main_test.go.
package leaktest

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests, then, if they passed, checks that no goroutine runs
// code of a non-test lanfind package (giving them two seconds to finish),
// and exits. Every goroutine a Sender or Listener starts must be gone once
// its Close returns.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(2 * time.Second); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: %d goroutine(s) running lanfind code outlived the tests:\n\n%s\n\n",
				len(leaked), strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines returns the stacks of the goroutines that run code of a
// non-test lanfind package, giving them up to timeout to finish (one may
// still be returning from a deferred call as the last test ends).
func leakedGoroutines(timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		leaked := lanfindGoroutines()
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lanfindFrame matches a stack line naming a function of a lanfind package,
// or the function that started the goroutine; the group is the package path
// within the module.
var lanfindFrame = regexp.MustCompile(`^(?:created by )?github\.com/lanfind/lanfind/([a-z0-9_/]+?)\.`)

// lanfindGoroutines returns the stacks of all goroutines with a frame from
// a lanfind package other than a _test package or this one. The goroutine
// running TestMain has only test, leaktest and runtime frames, so it never
// counts.
func lanfindGoroutines() []string {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		for line := range strings.SplitSeq(g, "\n") {
			if m := lanfindFrame.FindStringSubmatch(line); m != nil && !strings.HasSuffix(m[1], "_test") && m[1] != "internal/leaktest" {
				out = append(out, strings.TrimSpace(g))
				break
			}
		}
	}
	return out
}
