package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lanfind/lanfind/internal/netnstest"
)

// nobody is the unprivileged user and group the no-root test runs as.
const nobody = 65534

// asNobody makes cmd run as uid and gid 65534 with no supplementary
// groups, in "/" (the test's directory may not be readable by it).
func asNobody(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	cmd.Dir = "/"
}

// TestNSNoRoot runs announce, watch, list, resolve and iface as an
// unprivileged user: lanfind needs no root, no capability and no port
// below 1024 (which unprivileged processes may not bind in these
// namespaces).
func TestNSNoRoot(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	if out, err := h0.Run(t, "sysctl", "-n", "net.ipv4.ip_unprivileged_port_start"); err != nil || strings.TrimSpace(out) != "1024" {
		t.Fatalf("net.ipv4.ip_unprivileged_port_start in the lab: got %q (%v), want 1024", out, err)
	}
	if err := executableByOthers(lanfindPath(t)); err != nil {
		t.Fatal(err)
	}

	a := startWith(t, h1, asNobody, "announce", "--name", "db", "--type", "postgres", "--port", "5432")
	a.waitLog(t, "announcing")
	checkUID(t, a)
	w := startWith(t, h0, asNobody, "watch", "-v", "--json")
	w.waitLog(t, "sent query")
	checkUID(t, w)
	w.expectEvent(t, "up", "", "db")

	r := runInWith(t, h0, asNobody, "list", "--json")
	var ss []service
	if err := json.Unmarshal([]byte(r.stdout), &ss); r.code != 0 || err != nil || len(ss) != 1 || ss[0].Name != "db" {
		t.Errorf("%s as nobody: exit %d, %d services (%v), want exit 0 and db\nstdout:\n%s\nstderr:\n%s", r.desc, r.code, len(ss), err, r.stdout, r.stderr)
	}
	r = runInWith(t, h0, asNobody, "resolve", "db")
	if want := addrPort(h1, 5432) + "\n"; r.code != 0 || r.stdout != want {
		t.Errorf("%s as nobody: exit %d, stdout %q; want 0 and %q\nstderr:\n%s", r.desc, r.code, r.stdout, want, r.stderr)
	}
	r = runInWith(t, h0, asNobody, "iface")
	if r.code != 0 || !strings.Contains(r.stdout, "eth0") {
		t.Errorf("%s as nobody: exit %d, stdout %q; want 0 and eth0 listed\nstderr:\n%s", r.desc, r.code, r.stdout, r.stderr)
	}

	a.signal(t, syscall.SIGTERM)
	if code := a.wait(t); code != 0 {
		t.Errorf("%s: SIGTERM: got exit %d, want 0", a.desc, code)
	}
	w.expectEvent(t, "down", "goodbye", "db")
	w.signal(t, syscall.SIGINT)
	if code := w.wait(t); code != 0 {
		t.Errorf("%s: SIGINT: got exit %d, want 0", w.desc, code)
	}
	for _, p := range []*proc{a, w} {
		if strings.Contains(p.stderr.String(), "permission denied") || strings.Contains(p.stderr.String(), "operation not permitted") {
			t.Errorf("%s: stderr mentions a permission problem:\n%s", p.desc, p.stderr)
		}
	}
}

// checkUID fails t unless p runs with every user and group ID 65534.
func checkUID(t *testing.T, p *proc) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("%s: %v", p.desc, err)
	}
	want := fmt.Sprintf("%d\t%d\t%d\t%d", nobody, nobody, nobody, nobody)
	for _, line := range strings.Split(string(b), "\n") {
		for _, key := range []string{"Uid:", "Gid:"} {
			if v, ok := strings.CutPrefix(line, key); ok && strings.TrimSpace(v) != want {
				t.Errorf("%s: %s %q, want %q", p.desc, key, strings.TrimSpace(v), want)
			}
		}
	}
}

// executableByOthers checks that a user who owns nothing can reach and
// run the file at path: every directory above it searchable, the file
// executable, by "others".
func executableByOthers(path string) error {
	for p := path; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s (mode %v) is not executable or searchable by other users, so uid %d cannot run %s", p, fi.Mode().Perm(), nobody, path)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
