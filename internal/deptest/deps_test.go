package deptest_test

import (
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const mod = "github.com/lanfind/lanfind"

// allowedImports lists, for every package of the module (by path relative
// to the module), what it may import directly besides the standard library
// (STYLE §1). A trailing "/..." allows a whole subtree. A package missing
// from this table fails the test: a new package comes with its own import
// rules.
var allowedImports = map[string][]string{
	"beacon":               nil,
	"iface":                {"github.com/vishvananda/netlink", "github.com/vishvananda/netns"}, // in _linux.go files only, see TestDeps
	"internal/dedup":       nil,
	"internal/ifacetest":   {mod + "/iface"},
	"internal/ratelimit":   nil,
	"internal/leaktest":    nil,
	"internal/endpoint":    {mod + "/beacon", mod + "/iface", mod + "/internal/udp", mod + "/seal"},
	"internal/deptest":     nil,
	"internal/requiretest": nil, // what a test does when a program it runs is missing
	"internal/udp":         {"golang.org/x/net/ipv4", "golang.org/x/net/ipv6", "golang.org/x/sys/unix"},
	"internal/udp/udptest": {mod + "/internal/udp"},
	"announce":             {mod + "/beacon", mod + "/iface", mod + "/internal/udp", mod + "/internal/dedup", mod + "/internal/ratelimit", mod + "/internal/endpoint", mod + "/seal"},
	"discover":             {mod + "/beacon", mod + "/iface", mod + "/internal/udp", mod + "/internal/dedup", mod + "/internal/endpoint", mod + "/seal"},
	// The configuration file of announce: go-toml only here; the rules
	// it checks values by are announce's (STYLE §11, one home per rule).
	"internal/config": {mod + "/announce", mod + "/beacon", mod + "/mdns", "github.com/pelletier/go-toml/v2/..."},
	// doctor opens the same sockets announce and discover do (internal/udp)
	// and decodes datagrams as they do (internal/endpoint); it prints nothing.
	"internal/doctor": {
		mod + "/beacon",
		mod + "/iface",
		mod + "/internal/udp",
		mod + "/internal/endpoint",
		mod + "/internal/termtext",
		mod + "/seal",
	},
	"cmd/lanfind": {
		mod + "/beacon",
		mod + "/iface",
		mod + "/announce",
		mod + "/discover",
		mod + "/seal",
		mod + "/internal/config",
		mod + "/internal/doctor",
		mod + "/internal/termtext",
		mod + "/internal/output",
		mod + "/internal/clilog",
		mod + "/internal/sdnotify",
		mod + "/internal/instlock",
		mod + "/internal/watchtable",
		mod + "/internal/clidoc",
		mod + "/mdns",
		mod + "/mdns/browse",
		mod + "/mdns/publish",
		mod + "/internal/serve",
		mod + "/internal/resident",
		mod + "/internal/zone",
		"github.com/urfave/cli/v2",
	},
	// Text for terminals; nothing about services or commands.
	"internal/termtext": {"github.com/rivo/uniseg", "golang.org/x/term"},
	// lanfind's log lines and terminal-safe JSON records.
	"internal/clilog": {mod + "/internal/termtext"},
	// One announcer per instance on a host: claims as abstract unix
	// sockets; nothing of lanfind.
	"internal/instlock": nil,
	// The service manager's notification protocol (sd_notify) and the
	// journal check, both go-systemd's.
	"internal/sdnotify": {
		"github.com/coreos/go-systemd/v22/activation",
		"github.com/coreos/go-systemd/v22/daemon",
		"github.com/coreos/go-systemd/v22/journal",
	},
	// What lanfind prints for the services it finds: JSON, --format, tables.
	"internal/output": {mod + "/discover", mod + "/iface", mod + "/internal/termtext"},
	// The live table of "lanfind watch" on a terminal (STYLE §10 exception),
	// and the log it holds back meanwhile; the only package with tcell.
	"internal/watchtable": {
		mod + "/discover",
		mod + "/internal/output", // the marks it shares with the other human formats
		mod + "/internal/termtext",
		"github.com/gdamore/tcell/v2",
	},
	// Completion scripts and the man page of a urfave/cli app, rendered as
	// urfave/cli renders its own (md2man); no lanfind package.
	"internal/clidoc": {"github.com/urfave/cli/v2", "github.com/cpuguy83/go-md2man/v2/md2man"},
	"seal":            {mod + "/beacon"},
	// mDNS / DNS-SD: the wire format (limits from beacon), the shared
	// endpoint on port 5353, the querier and the responder.
	"mdns":             {mod + "/beacon", "golang.org/x/net/dns/dnsmessage"},
	"internal/mdnsnet": {mod + "/iface", mod + "/internal/endpoint", mod + "/internal/udp", mod + "/mdns"},
	"mdns/browse": {mod + "/beacon", mod + "/iface", mod + "/internal/endpoint", mod + "/internal/mdnsnet", mod + "/internal/udp", mod + "/mdns",
		"golang.org/x/net/dns/dnsmessage"},
	"mdns/publish": {mod + "/iface", mod + "/internal/endpoint", mod + "/internal/mdnsnet", mod + "/internal/udp", mod + "/internal/ratelimit", mod + "/mdns",
		"golang.org/x/net/dns/dnsmessage"},
	// Runs avahi-daemon and python-zeroconf in lab hosts, and opens a
	// hand-played mDNS peer's socket (test helper).
	"internal/mdnslab": {mod + "/internal/netnstest", mod + "/internal/requiretest", mod + "/internal/udp", mod + "/mdns"},
	// The DNS view of the live set: its own wire format (STYLE §11).
	"internal/zone": {mod + "/internal/ratelimit", "golang.org/x/net/dns/dnsmessage"},
	// The local socket between a resident "lanfind serve" and one-shot
	// commands; nothing of lanfind.
	"internal/resident": {"golang.org/x/sys/unix"},
	// The engine of "lanfind serve": the live set over DNS and HTTP.
	"internal/serve": {
		mod + "/discover",
		mod + "/internal/resident",
		mod + "/internal/zone",
		mod + "/internal/output",
		mod + "/internal/termtext",
		"github.com/VictoriaMetrics/metrics",
		"golang.org/x/net/netutil",
	},
	// The namespace harness also hands out iface.Listers (STYLE §9.1).
	"internal/netnstest": {mod + "/iface", mod + "/internal/udp", "github.com/vishvananda/netlink/...", "github.com/vishvananda/netns", "golang.org/x/sys/unix"},
}

// allowedModules are the third-party modules any package may depend on,
// directly or not (STYLE §10). The last three are what urfave/cli/v2
// itself requires. github.com/rogpeppe/go-internal is test-only and so
// absent.
var allowedModules = []string{
	"golang.org/x/net",
	"golang.org/x/sys",
	"golang.org/x/crypto",
	"github.com/vishvananda/netlink",
	"github.com/vishvananda/netns",
	"github.com/urfave/cli/v2",
	"github.com/BurntSushi/toml",
	"github.com/pelletier/go-toml/v2",
	"github.com/cpuguy83/go-md2man/v2",
	"github.com/russross/blackfriday/v2",
	"github.com/xrash/smetrics",
	// github.com/gdamore/tcell/v2, the terminal UI library of the live
	// "lanfind watch" table, and what it requires (internal/watchtable only).
	"github.com/gdamore/tcell/v2",
	"github.com/gdamore/encoding",
	"github.com/lucasb-eyer/go-colorful",
	"github.com/rivo/uniseg",
	"golang.org/x/term",
	"golang.org/x/text",
	// github.com/coreos/go-systemd/v22 (daemon, journal, activation;
	// internal/sdnotify only): systemd's own Go implementation of sd_notify (RELOADING=1 with
	// MONOTONIC_USEC, the watchdog) and of the JOURNAL_STREAM check, instead
	// of a hand-written copy to keep in step with systemd.
	"github.com/coreos/go-systemd/v22",
	// github.com/VictoriaMetrics/metrics writes /metrics of "lanfind
	// serve" in the Prometheus text format (STYLE §10): small, no
	// protobuf, unlike prometheus/client_golang, which keeps serve's idle
	// RSS low. The valyala modules are what it requires.
	"github.com/VictoriaMetrics/metrics",
	"github.com/valyala/fastrand",
	"github.com/valyala/histogram",
}

// testHelpers are the only production packages that may import "testing";
// nothing else may import them.
var testHelpers = []string{"internal/ifacetest", "internal/leaktest", "internal/mdnslab", "internal/netnstest", "internal/requiretest", "internal/udp/udptest"}

// cliPackages are the only packages that may depend on urfave/cli: the
// command and the generator of its completion scripts and man page.
var cliPackages = []string{"cmd/lanfind", "internal/clidoc"}

// banned lists dependencies, direct or not, that a package must not have,
// with the reason. It complements allowedImports, which sees only direct
// imports.
var banned = map[string]map[string]string{
	"announce":       {mod + "/discover": "announce and discover never import each other"},
	"discover":       {mod + "/announce": "announce and discover never import each other"},
	"mdns/browse":    {mod + "/mdns/publish": "the querier and the responder never import each other"},
	"mdns/publish":   {mod + "/mdns/browse": "the querier and the responder never import each other"},
	"internal/serve": {mod + "/announce": "serve only listens", mod + "/cmd/lanfind": "nothing imports the command"},
	"internal/zone":  {mod + "/discover": "zone is fed records, it does not discover"},
}

// stdOnlyIn lists standard-library packages only some of the module's
// packages may import directly, with those packages.
var stdOnlyIn = map[string][]string{
	// The programs lanfind runs (nft, iptables-save) are doctor's; the lab
	// harness starts processes inside its namespaces, and the mDNS lab runs
	// avahi-daemon and python-zeroconf in them.
	"os/exec": {"internal/doctor", "internal/mdnslab", "internal/netnstest", "internal/requiretest"},
}

// goPackage is the part of "go list -json" output the rules need.
type goPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	Imports    []string
	Deps       []string
	Module     *struct{ Path string }
	Error      *struct{ Err string }
}

// TestDeps checks the module's import rules (STYLE §1, §10) for Linux and,
// because netlink must stay out of non-Linux builds, for darwin. Only
// non-test imports count: "go list -deps" without -test leaves test files
// out. Model: tailscale/tailscale tstest/deptest.
func TestDeps(t *testing.T) {
	goBin, err := exec.LookPath("go") // go test puts its own GOROOT/bin first in PATH
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	linuxArch := runtime.GOARCH
	if runtime.GOOS != "linux" {
		linuxArch = "amd64"
	}
	for _, p := range []struct{ goos, goarch string }{{"linux", linuxArch}, {"darwin", "arm64"}} {
		t.Run(p.goos, func(t *testing.T) {
			pkgs := goList(t, goBin, p.goos, p.goarch)
			checkPackages(t, pkgs, p.goos)
			if p.goos == "linux" {
				checkNetlinkFiles(t, pkgs)
			}
		})
	}
}

// goList returns every package of the module, and every package they
// depend on, as built for goos and goarch, keyed by import path.
func goList(t *testing.T, goBin, goos, goarch string) map[string]*goPackage {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), goBin, "list", "-e", "-deps",
		"-json=ImportPath,Dir,Standard,Imports,Deps,Module,Error", mod+"/...")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("GOOS=%s GOARCH=%s %s: %v\n%s", goos, goarch, strings.Join(cmd.Args, " "), err, stderr.String())
	}
	pkgs := map[string]*goPackage{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs[p.ImportPath] = &p
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list printed no packages")
	}
	return pkgs
}

// rel returns the path of a module package relative to the module, and
// whether path is in the module.
func rel(path string) (string, bool) {
	if path == mod {
		return ".", true
	}
	return strings.CutPrefix(path, mod+"/")
}

func matches(path string, patterns []string) bool {
	for _, p := range patterns {
		if path == p {
			return true
		}
		if base, ok := strings.CutSuffix(p, "/..."); ok && (path == base || strings.HasPrefix(path, base+"/")) {
			return true
		}
	}
	return false
}

func checkPackages(t *testing.T, pkgs map[string]*goPackage, goos string) {
	var own []string
	for path := range pkgs {
		if _, ok := rel(path); ok {
			own = append(own, path)
		}
	}
	slices.Sort(own)
	for _, path := range own {
		p := pkgs[path]
		name, _ := rel(path)
		if p.Error != nil {
			t.Errorf("%s: %s", path, p.Error.Err)
			continue
		}
		if allowed, ok := allowedImports[name]; !ok {
			t.Errorf("%s has no import rule: add it to allowedImports here and to the table in STYLE §1", name)
		} else {
			for _, imp := range p.Imports {
				if only, ok := stdOnlyIn[imp]; ok && !slices.Contains(only, name) {
					t.Errorf("%s imports %s; only %q may", name, imp, only)
				}
				if dep := pkgs[imp]; dep != nil && dep.Standard || matches(imp, allowed) {
					continue
				}
				t.Errorf("%s imports %s; besides the standard library it may import only %q (STYLE §1)", name, imp, allowed)
			}
		}
		badModules := map[string]bool{} // reported once per package
		for _, d := range p.Deps {
			checkDep(t, pkgs, name, d, goos, badModules)
		}
	}
}

// checkDep checks that package name (relative to the module) may depend,
// directly or not, on package d. badModules holds the modules of name's
// dependencies already reported as not allowed.
func checkDep(t *testing.T, pkgs map[string]*goPackage, name, d, goos string, badModules map[string]bool) {
	t.Helper()
	if why, ok := banned[name][d]; ok {
		t.Errorf("%s depends on %s: %s (STYLE §1)", name, d, why)
	}
	if d == "testing" || strings.HasPrefix(d, "testing/") {
		if !slices.Contains(testHelpers, name) {
			t.Errorf("%s depends on %s: only test files and %q may (STYLE §1)", name, d, testHelpers)
		}
		return
	}
	if dr, ok := rel(d); ok {
		switch {
		case dr == "cmd/lanfind":
			t.Errorf("%s depends on %s: nothing imports the command (STYLE §1)", name, d)
		case slices.Contains(testHelpers, dr) && !slices.Contains(testHelpers, name): // helpers may build on helpers
			t.Errorf("%s depends on the test helper %s: fakes and harnesses stay out of production code (STYLE §1, §11)", name, d)
		}
		return
	}
	dep := pkgs[d]
	if dep == nil || dep.Standard {
		return
	}
	if strings.HasPrefix(d, "github.com/urfave/cli/") && !slices.Contains(cliPackages, name) {
		t.Errorf("%s depends on %s: urfave/cli belongs to %q only (STYLE §1)", name, d, cliPackages)
	}
	if strings.HasPrefix(d, "github.com/vishvananda/") && goos != "linux" {
		t.Errorf("GOOS=%s: %s depends on %s: netlink is Linux-only and must stay out of other builds (STYLE §1, §2)", goos, name, d)
	}
	m := "(no module)"
	if dep.Module != nil {
		m = dep.Module.Path
	}
	if !slices.Contains(allowedModules, m) && !badModules[m] {
		badModules[m] = true
		t.Errorf("%s depends on %s of module %s, which is not in STYLE §10's list of dependencies", name, d, m)
	}
}

// checkNetlinkFiles checks every non-test Go file of the module, whatever
// its build constraints: github.com/vishvananda packages may be imported
// only by iface files named *_linux.go and by internal/netnstest.
func checkNetlinkFiles(t *testing.T, pkgs map[string]*goPackage) {
	fset := token.NewFileSet()
	checked := 0
	for path, p := range pkgs {
		name, ok := rel(path)
		if !ok || p.Dir == "" {
			continue
		}
		files, err := filepath.Glob(filepath.Join(p.Dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			base := filepath.Base(file)
			if strings.HasSuffix(base, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, file, nil, parser.ImportsOnly)
			if err != nil {
				t.Errorf("parse %s: %v", file, err)
				continue
			}
			checked++
			for _, spec := range f.Imports {
				imp, err := strconv.Unquote(spec.Path.Value)
				if err != nil || !strings.HasPrefix(imp, "github.com/vishvananda/") {
					continue
				}
				if name == "internal/netnstest" || name == "iface" && strings.HasSuffix(base, "_linux.go") {
					continue
				}
				t.Errorf("%s/%s imports %s: only iface's _linux.go files and internal/netnstest may (STYLE §1)", name, base, imp)
			}
		}
	}
	if checked == 0 {
		t.Errorf("found no Go files to check")
	}
}
