package main

// The scripts in examples/ with service names an announcer accepts but a
// configuration file cannot always hold: spaces, quotes, "#" and non-ASCII
// letters. Each script either writes such a name safely or skips it with a
// warning; none lets a name shift the fields after it.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
)

// oddNames is a configuration for "announce --config": ssh services whose
// names are no host names (and one that is), the same name with a space
// also as a database, and two exporters with quotes, "#" and non-ASCII
// letters in their names.
const oddNames = `
[[service]]
name = "my db"
type = "ssh"
port = 5434

[[service]]
name = "it's \"q\""
type = "ssh"
port = 2201

[[service]]
name = "#lab"
type = "ssh"
port = 2202

[[service]]
name = "café"
type = "ssh"
port = 2203

[[service]]
name = "web"
type = "ssh"
port = 2222

[[service]]
name = "my db"
type = "postgres"
port = 5432

[[service]]
name = "café #1"
type = "node-exporter"
port = 9100

[[service]]
name = "o\"k 'x'"
type = "node-exporter"
port = 9101
`

func TestNSExampleNames(t *testing.T) {
	t.Parallel()
	requiretest.Need(t, "bash", "python3")
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	dir := t.TempDir()
	conf := filepath.Join(dir, "odd.toml")
	if err := os.WriteFile(conf, []byte(oddNames), 0o644); err != nil {
		t.Fatal(err)
	}
	startAnnouncer(t, h1, "--config", conf)
	addr := h1.Addr("eth0").String()
	skipped := []string{"my db", `it's "q"`, "#lab", "café", "café #1", `o"k 'x'`}

	// hosts: only "web" is a host name; a space never makes "my" a host
	// at address "db".
	hosts := filepath.Join(dir, "hosts")
	r := runScript(t, h0, "hosts-fragment.sh", hosts)
	if r.code != 0 {
		t.Fatalf("%s: exit %d", r.desc, r.code)
	}
	if got, want := lines(t, hosts), []string{addr + "\tweb.lan web"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hosts fragment: got %q, want %q", got, want)
	}
	for _, name := range skipped {
		if want := `skipping "` + name + `" at ` + addr + ": not a host name"; !strings.Contains(r.stderr, want) {
			t.Errorf("%s: stderr has no %q:\n%s", r.desc, want, r.stderr)
		}
	}

	// ssh: one block for "web"; no Port line with an address in it.
	sshConf := filepath.Join(dir, "ssh_config")
	if r := runScript(t, h0, "hosts-fragment.sh", "-f", "ssh", sshConf); r.code != 0 {
		t.Fatalf("%s: exit %d", r.desc, r.code)
	}
	want := []string{"Host web", "\tHostName " + addr, "\tPort 2222", ""}
	if got := lines(t, sshConf); !reflect.DeepEqual(got, want) {
		t.Errorf("ssh_config fragment: got %q, want %q", got, want)
	}

	// A domain that would write a second name into the hosts line is a
	// usage error.
	if r := runScript(t, h0, "hosts-fragment.sh", "-d", "lan evil", hosts); r.code != 2 || !strings.Contains(r.stderr, "not a domain name") {
		t.Errorf("%s: got exit %d stderr %q, want 2 and a refusal", r.desc, r.code, r.stderr)
	}

	// wait-for-db.sh takes the name as one argument.
	r = runScript(t, h0, "wait-for-db.sh", "-t", "10s", "-T", "postgres", "my db", "sh", "-c", `echo "$DB_ADDR"`)
	if want := addrPort(h1, 5432) + "\n"; r.code != 0 || r.stdout != want {
		t.Errorf("%s: got exit %d stdout %q, want 0 and %q", r.desc, r.code, r.stdout, want)
	}

	// Prometheus labels carry the names exactly, quoted by lanfind.
	sd := filepath.Join(dir, "targets.json")
	if r := runScript(t, h0, "prometheus-file-sd.sh", sd); r.code != 0 {
		t.Fatalf("%s: exit %d", r.desc, r.code)
	}
	var got []string
	for _, g := range decodeFile[[]struct{ Labels map[string]string }](t, sd) {
		got = append(got, g.Labels["lanfind_name"])
	}
	slices.Sort(got)
	if want := []string{"café #1", "o\"k 'x'"}; !reflect.DeepEqual(got, want) {
		t.Errorf("targets file names: got %q, want %q", got, want)
	}

	// Ansible: letters of any script are host names; spaces, quotes and
	// "#" are skipped with a warning.
	ri := runPython(t, h0, "ansible-inventory.py", "--list")
	inv := struct {
		SSH struct{ Hosts []string } `json:"ssh"`
	}{}
	if err := json.Unmarshal([]byte(ri.stdout), &inv); ri.code != 0 || err != nil {
		t.Fatalf("%s: exit %d, %v in %q", ri.desc, ri.code, err, ri.stdout)
	}
	if want := []string{"café", "web"}; !reflect.DeepEqual(inv.SSH.Hosts, want) {
		t.Errorf("%s: group ssh: got %q, want %q", ri.desc, inv.SSH.Hosts, want)
	}
	for _, name := range slices.DeleteFunc(skipped, func(s string) bool { return s == "café" }) {
		quoted, _ := json.Marshal(name) // the script quotes names as JSON
		if want := "skipping " + string(quoted) + " at " + addr + ": not an Ansible host name"; !strings.Contains(ri.stderr, want) {
			t.Errorf("%s: stderr has no %q:\n%s", ri.desc, want, ri.stderr)
		}
	}
}

// decodeFile returns the JSON value in file.
func decodeFile[T any](t *testing.T, file string) T {
	t.Helper()
	var v T
	b, err := os.ReadFile(file)
	if err == nil {
		err = json.Unmarshal(b, &v)
	}
	if err != nil {
		t.Fatalf("%s: %v in %q", file, err, b)
	}
	return v
}
