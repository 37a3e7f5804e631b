//go:build linux

package netnstest

import (
	"fmt"
	"os"
	"runtime"
	"testing"
)

// EnvLab is the environment variable that makes a lab mandatory: when it is
// "require", a test that cannot build a lab fails instead of skipping.
const EnvLab = "LANFIND_LAB"

type verdict int

const (
	verdictRun verdict = iota
	verdictSkip
	verdictFail
)

// decide is New's pure skip-or-fail rule: labs need Linux and an effective
// uid of 0; what happens when they cannot run depends on env, the value of
// LANFIND_LAB ("require" fails, unset or empty skips, anything else is a
// mistake that fails).
func decide(goos string, euid int, env string) (verdict, string) {
	if env != "" && env != "require" {
		return verdictFail, fmt.Sprintf("%s=%q: want \"require\" or unset", EnvLab, env)
	}
	var reason string
	switch {
	case goos != "linux":
		reason = "network namespace lab needs Linux, not " + goos
	case euid != 0:
		reason = fmt.Sprintf("network namespace lab needs root (effective uid %d); run go test -exec sudo", euid)
	default:
		return verdictRun, ""
	}
	if env == "require" {
		return verdictFail, EnvLab + "=require, but " + reason
	}
	return verdictSkip, reason
}

// gate skips or fails t when a lab cannot run here.
func gate(t testing.TB) {
	t.Helper()
	switch v, reason := decide(runtime.GOOS, os.Geteuid(), os.Getenv(EnvLab)); v {
	case verdictSkip:
		t.Skip("netnstest: " + reason)
	case verdictFail:
		t.Fatal("netnstest: " + reason)
	}
}
