package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

const (
	unitFile      = "../../contrib/systemd/lanfind.service"
	exampleConfig = "../../contrib/systemd/lanfind.toml"
)

// unitSettings returns the "Key=Value" lines of a unit file, in order.
func unitSettings(t *testing.T, text string) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "[") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// TestSystemdUnit checks contrib/systemd/lanfind.service: it keeps its
// hardening, runs announce from the example's path, and passes
// "systemd-analyze verify" where that tool exists.
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	settings := unitSettings(t, unit)
	for _, want := range []string{
		"Type=notify",
		"ExecStart=/usr/local/bin/lanfind announce --config /etc/lanfind/lanfind.toml " +
			"--config-dir /etc/lanfind/services.d",
		"ExecReload=/bin/kill -HUP $MAINPID",
		"DynamicUser=yes",
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
		"ProtectHome=yes",
		"PrivateTmp=yes",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK AF_UNIX",
		"CapabilityBoundingSet=",
		"ProtectKernelTunables=yes",
		"ProtectKernelModules=yes",
		"ProtectKernelLogs=yes",
		"LockPersonality=yes",
		"MemoryDenyWriteExecute=yes",
		"SystemCallArchitectures=native",
		"RestartPreventExitStatus=2",
		"WatchdogSec=30s",
	} {
		if !slices.Contains(settings, want) {
			t.Errorf("%s: no line %q", unitFile, want)
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skipf("systemd-analyze not installed: the unit's settings were checked, not verified: %v", err)
	}
	// verify requires ExecStart's program to exist: point it at this test
	// binary. The file keeps its name, which is the unit's name.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lanfind.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/lanfind", exe)), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(t.Context(), analyze, "verify", path)
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	// verify exits 0 on unknown keys too, with a message: any output fails.
	if err != nil || out.Len() > 0 {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", path, err, out.String())
	}
}

// TestExampleConfig checks that the example configuration the install
// steps copy passes check-config.
func TestExampleConfig(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"lanfind", "check-config", exampleConfig}, &stdout, &stderr); code != 0 {
		t.Fatalf("check-config %s: exit %d\n%s", exampleConfig, code, stderr.String())
	}
	if want := exampleConfig + ": ok, 2 services\n"; stdout.String() != want {
		t.Fatalf("check-config: got %q, want %q", stdout.String(), want)
	}
}

// TestJournalPriorities runs lanfind with stderr on a file that
// JOURNAL_STREAM names, as systemd connects a service's stderr to the
// journal: every line carries its journald priority, so that
// "journalctl -p warning -u lanfind" shows the errors and warnings. A
// stderr that is not the journal gets no prefix.
func TestJournalPriorities(t *testing.T) {
	bin := lanfindPath(t)
	for _, journal := range []bool{true, false} {
		path := filepath.Join(t.TempDir(), "stderr")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(t.Context(), bin, "announce", "--name", "db", "--iface", "nosuch0")
		cmd.Stderr = f
		cmd.Env = append(os.Environ(), "JOURNAL_STREAM=")
		if journal {
			cmd.Env = append(cmd.Env, fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino))
		}
		err = cmd.Run()
		f.Close()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Fatalf("journal %t: got %v, want exit 2", journal, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		errPrefix, hintPrefix := "lanfind: error: ", "lanfind: hint: "
		if journal {
			errPrefix, hintPrefix = "<3>"+errPrefix, "<5>"+hintPrefix
		}
		if len(lines) != 2 || !strings.HasPrefix(lines[0], errPrefix) ||
			!strings.Contains(lines[0], `no interface named "nosuch0"`) ||
			!strings.HasPrefix(lines[1], hintPrefix) {
			t.Errorf("journal %t: stderr %q, want an error line %q… and a hint line %q…",
				journal, b, errPrefix, hintPrefix)
		}
	}
}
