package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/config"
)

// problems returns the "FILE:LINE:COL: problem" lines of err, or fails.
func problems(t *testing.T, err error) []string {
	t.Helper()
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a *config.Error", err)
	}
	return ce.Lines()
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string // problems; nil: valid
	}{
		{
			name: "valid",
			doc:  "interval = \"5s\"\nttl = \"15s\"\n[[service]]\nname = \"db\"\n[service.meta]\nv = \"1\"\n",
		},
		{
			name: "unknown keys and other problems together, in file order",
			doc:  "x = 1\ninterval = \"1ms\"\n[[service]]\nname = \"a\"\nprot = 1\n",
			want: []string{
				`f:1:1: unknown key "x" (known: interval, ttl, hostname, interfaces, exclude_interfaces, discovery_port, group, no_broadcast, no_multicast, no_ipv4, no_ipv6, mdns, [[service]])`,
				`f:2:1: interval "1ms": want at least 10ms`,
				`f:5:1: unknown key "prot" in [[service]] (known: name, type, port, meta, mdns, mdns_type)`,
			},
		},
		{
			name: "wrong type: the library's report at its place",
			doc:  "[[service]]\nname = 1\n",
			want: []string{"f:2:8: service.name: cannot decode TOML integer into struct field config.service.Name of type string"},
		},
		{
			name: "ttl checked against the default interval",
			doc:  "ttl = \"6s\"\n[[service]]\nname = \"a\"\n",
			want: []string{"f:1:1: ttl 6s: want at least two intervals (10s), so one late beacon does not make the service flap"},
		},
		{
			name: "ttl not checked against an interval that is not one",
			doc:  "interval = \"5\"\nttl = \"6s\"\n[[service]]\nname = \"a\"\n",
			want: []string{`f:1:1: interval "5": want a duration such as "5s"`},
		},
		{
			name: "meta key of a [service.meta] table",
			doc:  "[[service]]\nname = \"a\"\n[service.meta]\nok = \"1\"\n\"\" = \"2\"\n",
			want: []string{`f:5:1: meta key "": 0 bytes, want 1 to 63`},
		},
		{
			name: "duplicate in an array of inline tables",
			doc:  "service = [\n  { name = \"a\" },\n  { port = 2, name = \"a\" },\n]\n",
			want: []string{`f:3:15: service "a" of type "" is already defined at line 2`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := config.Parse("f", []byte(tc.doc))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if len(f.Services) != 1 || f.Services[0].Meta["v"] != "1" || !f.Sets("ttl") || f.Sets("hostname") {
					t.Fatalf("got %+v, want one service with meta v=1, ttl set, hostname not", f)
				}
				return
			}
			if got := problems(t, err); !slices.Equal(got, tc.want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestLoadFIFO: a FIFO named as the configuration file is refused at once
// instead of blocking until a writer comes (which would hang a reload).
func TestLoadFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo.toml")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := config.Load(path)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("got %v, want a \"not a regular file\" error", err)
		}
	case <-time.After(5 * time.Second):
		// Unblock the open with a writer so the goroutine ends.
		if w, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		<-done
		t.Fatal("Load of a FIFO blocked")
	}
}

// TestDeepKeys: a file of deeply dotted keys within the size limit costs
// memory in proportion to its size (it was quadratic: 1.66 GB for 80 KB).
func TestDeepKeys(t *testing.T) {
	deep := strings.Repeat("a.", 40_000) + "a"
	for _, doc := range []string{
		"[" + deep + "]\nx = 1\n[[service]]\nname = \"db\"\n",
		deep + " = 1\n[[service]]\nname = \"db\"\n",
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := config.Parse("f", []byte(doc))
		runtime.ReadMemStats(&after)
		if got := problems(t, err); len(got) == 0 || !strings.Contains(got[0], "unknown key") {
			t.Fatalf("got %q, want an unknown key", got)
		}
		const limit = 64 << 20
		if n := after.TotalAlloc - before.TotalAlloc; n > limit {
			t.Errorf("parsing %d bytes allocated %d bytes, want at most %d", len(doc), n, limit)
		}
	}
}

// TestMergeEverySetting checks that Merge carries every top-level setting a
// file may set, each shown as it was in its file: a key missing from the
// merge was silently ignored in a --config-dir (no_ipv4 and no_ipv6 were).
func TestMergeEverySetting(t *testing.T) {
	files := []string{`interval = "7s"
ttl = "21s"
hostname = "h"
interfaces = ["eth0"]
exclude_interfaces = ["docker*"]
discovery_port = 28000
group = "239.255.70.71"`, `no_broadcast = true
no_ipv4 = true
mdns = true`, `no_ipv6 = true
no_multicast = false`}
	var parsed []*config.File
	for i, text := range files {
		f, err := config.Parse(fmt.Sprintf("f%d.toml", i), []byte(text))
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		parsed = append(parsed, f)
	}
	m, err := config.Merge("dir", parsed...)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range config.Keys {
		var want string
		for _, f := range parsed {
			if f.Sets(key) {
				want = f.Setting(key)
			}
		}
		if want == "" {
			t.Errorf("%s: no test file sets it", key)
			continue
		}
		if got := m.Setting(key); !m.Sets(key) || got != want {
			t.Errorf("merged %s: got %s, want %s", key, got, want)
		}
	}
	if !m.NoIPv4 || !m.NoIPv6 {
		t.Errorf("merged no_ipv4, no_ipv6: got %v, %v, want true, true", m.NoIPv4, m.NoIPv6)
	}
}
