// Package requiretest decides what a test does when a program it runs is
// not installed: skip it on a developer's machine, fail it in CI, where a
// skipped check must never pass for a run one. CI means the environment
// variable CI is true (as CI services and .ci/run set it) or LANFIND_LAB
// is "require" (as .ci/run sets it for the namespace lab, see
// internal/netnstest).
//
// Tests call [Need] when the whole test needs the programs and [Want]
// when the test runs without them but leaves some checks out, such as the
// [exec:zsh] lines of a testscript file.
//
// requiretest imports only the standard library (and "testing"); like
// every test helper, nothing but test files may import it.
package requiretest
