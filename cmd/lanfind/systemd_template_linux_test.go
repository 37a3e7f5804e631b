package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/internal/requiretest"
)

const templateUnitFile = "../../contrib/systemd/lanfind-announce@.service"

// TestSystemdTemplateUnit checks contrib/systemd/lanfind-announce@.service:
// an instance is bound to the unit it is named after, announces that
// unit's own configuration file, keeps every setting of lanfind.service
// that is not about what it announces, and passes "systemd-analyze
// verify", which must also find the bound unit missing when it is.
func TestSystemdTemplateUnit(t *testing.T) {
	unit, settings := readUnit(t, templateUnitFile)
	wants := []string{
		"BindsTo=%i.service",
		"PartOf=%i.service",
		"After=%i.service network-online.target",
		"ExecStart=/usr/local/bin/lanfind announce --config /etc/lanfind/announce/%i.toml",
		"WantedBy=%i.service",
	}
	// Every setting of lanfind.service but what is announced, and when.
	wants = append(wants, mainUnitSettings(t, "Description", "ExecStart", "After", "WantedBy")...)
	checkSettings(t, templateUnitFile, settings, wants)

	requiretest.Need(t, "systemd-analyze")
	// The test binary stands in for ExecStart's program, which must exist.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeUnit(t, dir, "lanfind-announce@.service", strings.ReplaceAll(unit, "/usr/local/bin/lanfind", exe))
	const instance = "lanfind-announce@lanfind-test-app.service"
	// Without the unit it is bound to, an instance must not verify: this
	// shows that BindsTo= names the instance's unit.
	if out, err := analyzeVerify(t, dir, instance); err == nil || !strings.Contains(out, "lanfind-test-app.service not found") {
		t.Errorf("verify without the bound unit: got %v and %q, want a failure naming lanfind-test-app.service", err, out)
	}
	writeUnit(t, dir, "lanfind-test-app.service", "[Service]\nExecStart="+exe+"\n")
	// Unknown keys print a message but exit 0: any output is a failure.
	if out, err := analyzeVerify(t, dir, instance); err != nil || out != "" {
		t.Fatalf("systemd-analyze verify %s: got %v and %q, want exit 0 and no output", instance, err, out)
	}
}

// mainUnitSettings returns the settings of lanfind.service but those
// with the keys except.
func mainUnitSettings(t *testing.T, except ...string) []string {
	t.Helper()
	_, settings := readUnit(t, unitFile)
	return slices.DeleteFunc(settings, func(s string) bool {
		key, _, _ := strings.Cut(s, "=")
		return slices.Contains(except, key)
	})
}

// checkSettings fails t for every line of wants that the settings of
// file lack.
func checkSettings(t *testing.T, file string, settings, wants []string) {
	t.Helper()
	missing := slices.DeleteFunc(wants, func(w string) bool { return slices.Contains(settings, w) })
	if len(missing) > 0 {
		t.Errorf("%s: got no lines %q, want them (the last ones as in %s)", file, missing, unitFile)
	}
}

// readUnit returns the text of a unit file and its settings.
func readUnit(t *testing.T, file string) (string, []string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), unitSettings(t, string(b))
}

// writeUnit writes a unit file named name into dir.
func writeUnit(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// analyzeVerify runs "systemd-analyze verify ./unit" in dir, which holds
// the unit's file (or its template's), and returns what it printed.
func analyzeVerify(t *testing.T, dir, unit string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "systemd-analyze", "verify", "./"+unit)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}
