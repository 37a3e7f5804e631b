package main

// The examples that are not bash scripts: the Ansible dynamic inventory
// (Python) and the Docker Compose file, run in a namespace lab with the
// freshly built lanfind while announcers run on other hosts.

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
)

// runPython runs examples/name with python3 and args in host h, with the
// lanfind under test first on PATH, to completion.
func runPython(t *testing.T, h *netnstest.Host, name string, args ...string) result {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal(err)
	}
	path, err := filepath.Abs(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	r := runInWith(t, h, func(cmd *exec.Cmd) {
		cmd.Path, cmd.Args = py, append([]string{py, path}, args...)
		cmd.Env = append(cmd.Env, "PATH="+filepath.Dir(lanfindPath(t))+":"+os.Getenv("PATH"),
			"LANFIND_INVENTORY_TIMEOUT=2s")
	})
	r.desc = h.Name + ": " + strings.Join(append([]string{name}, args...), " ")
	return r
}

// inventoryHost is the part of an inventory host's variables the test
// checks; lanfind_services is checked by its types and ports.
type inventoryHost struct {
	AnsibleHost string `json:"ansible_host"`
	AnsiblePort int    `json:"ansible_port"`
	LanfindHost string `json:"lanfind_host"`
	Services    []struct {
		Name string `json:"name"`
		Type string `json:"type"`
		Port int    `json:"port"`
	} `json:"lanfind_services"`
}

func TestNSAnsibleInventory(t *testing.T) {
	t.Parallel()
	requiretest.Need(t, "python3")
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]

	// Usage errors exit 2 before running lanfind.
	for _, args := range [][]string{nil, {"--host"}, {"--lsit"}} {
		if r := runPython(t, h0, "ansible-inventory.py", args...); r.code != 2 || !strings.HasPrefix(r.stderr, "usage: ansible-inventory.py") {
			t.Errorf("%s: got exit %d stderr %q, want 2 and a usage message", r.desc, r.code, r.stderr)
		}
	}
	// Nothing announced: an empty inventory, exit 0.
	r := runPython(t, h0, "ansible-inventory.py", "--list")
	if r.code != 0 || strings.Join(strings.Fields(r.stdout), " ") != `{ "_meta": { "hostvars": {} }, "all": { "children": [] } }` {
		t.Errorf("%s: got exit %d stdout %q, want 0 and an empty inventory", r.desc, r.code, r.stdout)
	}

	startAnnouncer(t, h1, "--hostname", "box1", "--service", "db:5432:postgres", "--service", "nas:22:ssh",
		"--service", "nas:9100:node-exporter", "--service", "web:80:http", "--service", "my db:5433:postgres")
	startAnnouncer(t, h2, "--hostname", "box2", "--service", "pi:2222:ssh", "--service", "pi:9100:node-exporter",
		"--service", "web:80:http", "--service", "café:8080:http", "--service", "notype:7")
	a1, a2 := h1.Addr("eth0").String(), h2.Addr("eth0").String()

	r = runPython(t, h0, "ansible-inventory.py", "--list")
	if r.code != 0 {
		t.Fatalf("%s: exit %d\n%s", r.desc, r.code, r.stderr)
	}
	var inv map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &inv); err != nil {
		t.Fatalf("%s: %v in %q", r.desc, err, r.stdout)
	}
	groups := map[string][]string{}
	for g, raw := range inv {
		var v struct {
			Hosts    []string `json:"hosts"`
			Children []string `json:"children"`
		}
		if g == "_meta" {
			continue
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("group %s: %v in %s", g, err, raw)
		}
		groups[g] = append(v.Hosts, v.Children...)
	}
	wantGroups := map[string][]string{
		"all":           {"http", "node_exporter", "postgres", "ssh", "ungrouped"},
		"http":          {"café", "web@" + a1, "web@" + a2},
		"node_exporter": {"nas", "pi"},
		"postgres":      {"db"},
		"ssh":           {"nas", "pi"},
		"ungrouped":     {"notype"},
	}
	if !reflect.DeepEqual(groups, wantGroups) {
		t.Errorf("groups: got %q, want %q", groups, wantGroups)
	}
	if want := `skipping "my db" at ` + a1 + ": not an Ansible host name"; !strings.Contains(r.stderr, want) {
		t.Errorf("%s: stderr has no %q:\n%s", r.desc, want, r.stderr)
	}

	var meta struct {
		Hostvars map[string]inventoryHost `json:"hostvars"`
	}
	if err := json.Unmarshal(inv["_meta"], &meta); err != nil {
		t.Fatal(err)
	}
	pi := meta.Hostvars["pi"]
	if pi.AnsibleHost != a2 || pi.AnsiblePort != 2222 || pi.LanfindHost != "box2" || len(pi.Services) != 2 {
		t.Errorf("hostvars of pi: got %+v, want ansible_host %s, ansible_port 2222 (its ssh service), lanfind_host box2, 2 services", pi, a2)
	}
	if db := meta.Hostvars["db"]; db.AnsibleHost != a1 || db.AnsiblePort != 0 || len(db.Services) != 1 || db.Services[0].Port != 5432 {
		t.Errorf("hostvars of db: got %+v, want ansible_host %s, no ansible_port, one service on 5432", db, a1)
	}

	// --host prints one host's variables, as --list has them; an unknown
	// host has none.
	r = runPython(t, h0, "ansible-inventory.py", "--host", "pi")
	var got inventoryHost
	if err := json.Unmarshal([]byte(r.stdout), &got); r.code != 0 || err != nil || !reflect.DeepEqual(got, pi) {
		t.Errorf("%s: got exit %d, %+v (%v), want 0 and %+v", r.desc, r.code, got, err, pi)
	}
	r = runPython(t, h0, "ansible-inventory.py", "--host", "nosuch")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "{}" {
		t.Errorf("%s: got exit %d stdout %q, want 0 and {}", r.desc, r.code, r.stdout)
	}
}

// composeServices returns, for each service of a Compose file, its keys
// with their values as written on the key's line (empty for block
// values). It reads the two-space layout of examples/docker-compose.yml,
// not YAML in general: a tiny check where no YAML parser is at hand.
func composeServices(t *testing.T, file string) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]string{}
	var in bool
	var svc map[string]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		indent := len(line) - len(strings.TrimLeft(line, " "))
		key, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		switch {
		case line == "" || strings.HasPrefix(strings.TrimSpace(line), "#"):
		case indent == 0:
			in = line == "services:"
		case in && indent == 2 && ok && value == "":
			svc = map[string]string{}
			out[key] = svc
		case in && indent == 4 && ok && svc != nil:
			svc[key] = strings.TrimSpace(value)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNSDockerCompose checks examples/docker-compose.yml: its announcer
// uses host networking and runs lanfind with a command that, run in a lab
// host, announces the database so that another host finds it. Docker
// itself checks the file where "docker compose" is installed.
func TestNSDockerCompose(t *testing.T) {
	t.Parallel()
	const file = "../../examples/docker-compose.yml"
	svcs := composeServices(t, file)
	ann := svcs["lanfind-db"]
	for key, want := range map[string]string{
		"network_mode": "host",
		"entrypoint":   `["/usr/local/bin/lanfind"]`,
		"read_only":    "true",
		"cap_drop":     "[ALL]",
	} {
		if got := ann[key]; got != want {
			t.Errorf("%s: service lanfind-db: got %s: %q, want %q", file, key, got, want)
		}
	}
	if _, ok := svcs["db"]; !ok {
		t.Errorf("%s: no service db", file)
	}
	var args []string
	if err := json.Unmarshal([]byte(ann["command"]), &args); err != nil || len(args) == 0 || args[0] != "announce" {
		t.Fatalf("%s: lanfind-db's command %q: %v, want a flow list starting with announce", file, ann["command"], err)
	}

	if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err != nil {
		t.Logf("docker compose is not usable here (%v: %s): the file is checked by the test alone", err, strings.TrimSpace(string(out)))
	} else if out, err := exec.CommandContext(t.Context(), "docker", "compose", "-f", file, "config", "--quiet").CombinedOutput(); err != nil {
		t.Errorf("docker compose config: %v\n%s", err, out)
	}

	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	start(t, h1, args...).waitLog(t, "announcing")
	ss := list(t, h0, "--name", "db")
	if len(ss) != 1 || ss[0].Type != "postgres" || ss[0].Port != 5432 || ss[0].Addr != h1.Addr("eth0").String() ||
		!reflect.DeepEqual(ss[0].Meta, map[string]string{"container": "db"}) {
		t.Errorf("list --name db: got %+v, want db postgres at %s, port 5432, meta container=db", ss, addrPort(h1, 5432))
	}
}
