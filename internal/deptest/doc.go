// Package deptest holds the dependency-rule test: TestDeps runs "go list"
// over the module and fails when a package imports something the layout
// rules of STYLE.md §1 and the dependency list of §10 forbid (beacon
// stdlib only, netlink only in iface's _linux.go files and in
// internal/netnstest, urfave/cli only in cmd/lanfind, "testing" only in
// tests and the two test-helper packages, announce and discover never
// importing each other, nothing importing cmd/lanfind).
//
// The package itself is empty; it exists so that the test has a home.
package deptest
