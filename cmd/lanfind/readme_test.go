package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/beacon"
)

// readme returns the text of the README with line breaks and the "> " of
// quoted blocks turned into single spaces, so that a phrase can be found
// across wrapped lines.
func readme(t *testing.T) (raw, flat string) {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	raw = string(b)
	flat = strings.Join(strings.Fields(strings.ReplaceAll(raw, "\n>", "\n")), " ")
	return raw, flat
}

// TestReadmeLimits checks that the README states the wire format's limits
// on what a service carries as the beacon package has them.
func TestReadmeLimits(t *testing.T) {
	_, flat := readme(t)
	for _, want := range []string{
		fmt.Sprintf("at most %d metadata pairs (keys 1–%d bytes, values up to %d bytes)", beacon.MaxMeta, beacon.MaxKeyLen, beacon.MaxValueLen),
		fmt.Sprintf("at most %d pairs per service, keys 1–%d bytes, values ≤ %d", beacon.MaxMeta, beacon.MaxKeyLen, beacon.MaxValueLen),
		fmt.Sprintf("A service carries at most %d metadata pairs", beacon.MaxMeta),
		fmt.Sprintf("a name and a type of at most %d bytes each", max(beacon.MaxNameLen, beacon.MaxTypeLen)),
		fmt.Sprintf("a host name of at most %d bytes", beacon.MaxHostLen),
		fmt.Sprintf("at most %d addresses; one datagram carries at most %d service records", beacon.MaxAddrs, beacon.MaxServices),
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("README: no %q", want)
		}
	}
}

var serviceArg = regexp.MustCompile(`--service[ =]("[^"]*"|\S+)`)

// TestReadmeServiceTypes checks that every --service example in the README
// gives a type, so that the type filters (list --type, hosts-fragment.sh -f
// ssh) find what it announces.
func TestReadmeServiceTypes(t *testing.T) {
	raw, _ := readme(t)
	n := 0
	for _, m := range serviceArg.FindAllStringSubmatch(raw, -1) {
		arg := strings.Trim(m[1], "\"`")
		if arg == "NAME:PORT[:TYPE]" || strings.HasPrefix(arg, "…") {
			continue // the syntax itself, or an elision
		}
		n++
		if parts := strings.Split(arg, ":"); len(parts) != 3 || parts[2] == "" {
			t.Errorf("README: --service %s has no type (want NAME:PORT:TYPE)", m[1])
		}
	}
	if n == 0 {
		t.Error("README: no --service example found")
	}
}

// TestReadmeFirstSteps checks the README's newcomer paths: a "Try it in
// one minute" box before the contents that runs a demo script that exists,
// and the keyed-mode rule that a list sees keyed or clear services, never
// both.
func TestReadmeFirstSteps(t *testing.T) {
	raw, flat := readme(t)
	box, contents := strings.Index(raw, "> **Try it in one minute.**"), strings.Index(raw, "## Contents")
	if box < 0 || contents < 0 || box > contents {
		t.Errorf("README: got the one-minute box at %d and the contents at %d, want the box first", box, contents)
	}
	if st, err := os.Stat("../../scripts/demo.sh"); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("scripts/demo.sh, which the box runs: %v, want an executable file", err)
	}
	for _, want := range []string{
		"`list --secret-file KEY` shows only keyed services and hides the clear ones",
		"a `list` without a key shows only clear services and hides the keyed ones",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("README: no %q", want)
		}
	}
}
