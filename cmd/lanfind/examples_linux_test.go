package main

// The scripts in examples/, run in a namespace lab with the freshly built
// lanfind first on PATH while announcers run on other hosts.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/netnstest"
)

// script is one run of an example script.
type script struct {
	desc           string
	stdout, stderr string
	code           int
}

// runScript runs examples/name with args in host h with bash, the lanfind
// binary under test first on PATH, and waits at most cmdTimeout for it.
func runScript(t *testing.T, h *netnstest.Host, name string, args ...string) script {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	bin := lanfindPath(t) // before the timeout starts: it may build lanfind
	ctx, cancel := context.WithTimeout(t.Context(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{path}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"),
		"GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=20")
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	s := script{desc: h.Name + ": " + name + " " + strings.Join(args, " ")}
	if err := h.Start(t, cmd); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	s.stdout, s.stderr = stdout.String(), stderr.String()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s: still running after %v\nstderr:\n%s", s.desc, cmdTimeout, s.stderr)
	case errors.As(err, &ee):
		s.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", s.desc, err)
	}
	checkCrash(t, s.desc, s.stderr)
	t.Logf("%s: exit %d\nstderr:\n%s", s.desc, s.code, s.stderr)
	return s
}

func TestNSExamples(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	lab := netnstest.New(t, 4)
	h0, h1, h2, h3 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2], lab.Hosts[3]
	dir := t.TempDir()

	// Usage errors exit 2 before running anything.
	for _, s := range []string{"wait-for-db.sh", "hosts-fragment.sh", "prometheus-file-sd.sh"} {
		if r := runScript(t, h0, s); r.code != 2 || !strings.HasPrefix(r.stderr, "usage: "+s) {
			t.Errorf("%s: got exit %d stderr %q, want 2 and a usage message", r.desc, r.code, r.stderr)
		}
	}
	if r := runScript(t, h0, "hosts-fragment.sh", "/etc/../etc/hosts"); r.code != 2 || !strings.Contains(r.stderr, "refusing") {
		t.Errorf("%s: got exit %d stderr %q, want a refusal", r.desc, r.code, r.stderr)
	}

	// A bad timeout is lanfind's usage error (exit 2), not "did not answer".
	if r := runScript(t, h0, "wait-for-db.sh", "-t", "abc", "db", "echo", "started"); r.code != 2 || r.stdout != "" || strings.Contains(r.stderr, "did not answer") {
		t.Errorf("%s: got exit %d stdout %q stderr %q, want 2, no app and lanfind's error only", r.desc, r.code, r.stdout, r.stderr)
	}

	// (a) Nothing announced yet: the app does not start.
	r := runScript(t, h0, "wait-for-db.sh", "-t", "300ms", "db", "echo", "started")
	if r.code != 1 || r.stdout != "" {
		t.Errorf("%s: got exit %d stdout %q, want 1 and no app", r.desc, r.code, r.stdout)
	}

	startAnnouncer(t, h1, "--name", "db", "--type", "postgres", "--port", "5432")
	startAnnouncer(t, h2, "--name", "nas", "--type", "node-exporter", "--port", "9100", "--hostname", "nas-box")
	startAnnouncer(t, h3, "--name", "pi", "--type", "node-exporter", "--port", "9100", "--hostname", "pi\"4")

	// (a) The app starts with the database's address.
	r = runScript(t, h0, "wait-for-db.sh", "-t", "10s", "-T", "postgres", "db", "sh", "-c", `echo "$DB_ADDR $DB_HOST $DB_PORT"`)
	if want := addrPort(h1, 5432) + " " + h1.Addr("eth0").String() + " 5432\n"; r.code != 0 || r.stdout != want {
		t.Errorf("%s: got exit %d stdout %q, want 0 and %q", r.desc, r.code, r.stdout, want)
	}

	// (b) hosts and ssh_config fragments.
	hosts := filepath.Join(dir, "hosts")
	if r := runScript(t, h0, "hosts-fragment.sh", "-d", "home.arpa", hosts); r.code != 0 {
		t.Fatalf("%s: exit %d", r.desc, r.code)
	}
	got := lines(t, hosts)
	want := []string{
		h1.Addr("eth0").String() + "\tdb.home.arpa db",
		h2.Addr("eth0").String() + "\tnas.home.arpa nas",
		h3.Addr("eth0").String() + "\tpi.home.arpa pi",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hosts fragment: got %q, want %q", got, want)
	}
	// Without -T, an ssh_config fragment holds only services of type ssh:
	// a "Port 5432" line would send ssh to the database.
	sshOnly := filepath.Join(dir, "ssh_only")
	if r := runScript(t, h0, "hosts-fragment.sh", "-f", "ssh", sshOnly); r.code != 0 {
		t.Fatalf("%s: exit %d", r.desc, r.code)
	}
	if got := lines(t, sshOnly); len(got) != 0 {
		t.Errorf("ssh_config fragment without -T: got %q, want no entries (nothing of type ssh)", got)
	}
	sshConf := filepath.Join(dir, "ssh_config")
	if r := runScript(t, h0, "hosts-fragment.sh", "-f", "ssh", "-T", "postgres", sshConf); r.code != 0 {
		t.Fatalf("%s: exit %d", r.desc, r.code)
	}
	got = lines(t, sshConf)
	want = []string{"Host db", "\tHostName " + h1.Addr("eth0").String(), "\tPort 5432", ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ssh_config fragment: got %q, want %q", got, want)
	}

	// (c) Prometheus file_sd targets, valid JSON even with a quote in a
	// host name.
	sd := filepath.Join(dir, "targets.json")
	if r := runScript(t, h0, "prometheus-file-sd.sh", sd); r.code != 0 {
		t.Fatalf("%s: exit %d", r.desc, r.code)
	}
	b, err := os.ReadFile(sd)
	if err != nil {
		t.Fatal(err)
	}
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	var groups []group
	if err := json.Unmarshal(b, &groups); err != nil {
		t.Fatalf("targets file: %v in %q", err, b)
	}
	wantGroups := []group{
		{[]string{addrPort(h2, 9100)}, map[string]string{"lanfind_name": "nas", "lanfind_host": "nas-box"}},
		{[]string{addrPort(h3, 9100)}, map[string]string{"lanfind_name": "pi", "lanfind_host": "pi\"4"}},
	}
	if !reflect.DeepEqual(groups, wantGroups) {
		t.Errorf("targets file: got %+v, want %+v", groups, wantGroups)
	}
	// No exporter: an empty list, not an error.
	if r := runScript(t, h0, "prometheus-file-sd.sh", "-T", "nosuch", "-t", "300ms", sd); r.code != 0 {
		t.Fatalf("%s: exit %d", r.desc, r.code)
	}
	if b, err := os.ReadFile(sd); err != nil || strings.TrimSpace(string(b)) != "[\n]" {
		t.Errorf("empty targets file: got %q (%v), want [ ]", b, err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// lines returns the lines of file without comment lines.
func lines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for l := range strings.Lines(string(b)) {
		if !strings.HasPrefix(l, "#") {
			out = append(out, strings.TrimSuffix(l, "\n"))
		}
	}
	return out
}
