// Command bench measures lanfind in a lab of network namespaces: scale,
// speed on a quiet LAN, loss, churn, floods, idle cost and interface
// hot-plug (issue 3), and the same measurements for other mDNS
// implementations beside lanfind's (issue 14: hashicorp/mdns, pion/mdns,
// Avahi, python-zeroconf). It prints a table of medians with min–max and
// the side-by-side table, writes results/results.md and
// results/results.json, and draws results/chart.png and
// results/sidebyside.png.
//
// Run it as root from this directory:
//
//	go run . -all            # everything (about ten minutes)
//	go run . -quick -all     # small sizes and few runs, for development
//	go run . -only loss      # one measurement (scale, quiet, loss, churn, flood, idle, hotplug, anchors, serve)
//	go run . -quick          # the regression guard: -only side (quiet, loss, idle, anchors), few runs
//	go run . -only serve     # lanfind serve under dnsperf: results/serve.md and serve.json
//
// Nothing runs on the machine's own interfaces: every namespace is named
// lfb<PID>-* (the harness's process ID, so that harnesses running at once
// keep apart), every veth and bridge lfb-*, all on 10.78.0.0/24; they are
// removed on exit, or by the next harness once this one is gone. The
// anchors' daemons (Avahi, D-Bus) run inside the lab hosts only, with
// private runtime directories.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

var lostLines atomic.Int64 // watch lines dropped because the reader fell behind

// Options are the command-line options.
type Options struct {
	All     bool
	Quick   bool
	Runs    int // 0: the measurement's own default
	Only    string
	Lanfind string // prebuilt binary; empty: build from ../
	Out     string // results directory
	Mode    string // see bench.mode
	Anchors string // comma-separated anchorKeys
}

// bench is the state of one harness run.
type bench struct {
	opt Options
	bin string
	// mode says how a host announces many services: modeService (lanfind
	// announce --service ...), modeLib (one bench helper process per host
	// using the announce package) or modeProcs (one lanfind process per
	// service).
	mode string
	self string // this binary, for the helper
	tmp  string // scratch directory of this run
	res  *Results

	lab100     *Lab            // quiet-LAN lab shared by quiet and loss
	lab100v6   bool            // lab100 is IPv6-only (quiet6, loss6)
	want100    map[string]bool // its services
	quietPoint *Point          // quiet's list figures, loss 0% in the sweep
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == helperArg {
		os.Exit(announceHelper(os.Args[2:]))
	}
	var o Options
	flag.BoolVar(&o.All, "all", false, "run every measurement")
	flag.BoolVar(&o.Quick, "quick", false, "small sizes and few runs (development; results go to results/quick.*); alone, the regression guard -only side")
	flag.IntVar(&o.Runs, "runs", 0, "repetitions per measurement (default: as in issue 3, 10 or 20)")
	flag.StringVar(&o.Only, "only", "", "run only these measurements, comma-separated: "+strings.Join(allNames, ",")+"; side: "+strings.Join(sideNames, ","))
	flag.StringVar(&o.Lanfind, "lanfind", "", "use this lanfind binary instead of building ../cmd/lanfind")
	flag.StringVar(&o.Out, "out", "results", "directory for results.md, results.json and chart.png")
	flag.StringVar(&o.Mode, "mode", "", "how a host announces many services: service (lanfind announce --service), lib (a helper process on the announce package), procs (one lanfind process per service); default: service if lanfind has --service, else lib")
	flag.StringVar(&o.Anchors, "anchors", strings.Join(anchorKeys, ","), "the anchors the anchors measurement runs, comma-separated")
	redraw := flag.Bool("redraw", false, "only redraw chart.png and results.md from results.json in -out")
	flag.Parse()
	if *redraw {
		if err := redrawResults(o.Out); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if o.Quick && !o.All && o.Only == "" {
		o.Only = "side" // the regression guard
	}
	if !o.All && o.Only == "" {
		fmt.Fprintln(os.Stderr, "bench: give -all, -only NAME or -quick; see -h")
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: must run as root (it creates network namespaces)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := runBench(ctx, o)
	cleanupLeftovers()
	os.Exit(code)
}

const (
	modeService = "service"
	modeLib     = "lib"
	modeProcs   = "procs"
)

var allNames = []string{"scale", "quiet", "loss", "churn", "flood", "idle", "hotplug", "anchors",
	"quiet6", "loss6", "serve"}

// sideNames are what -only side runs: every lanfind measurement with an
// anchor counterpart, and the anchors.
var sideNames = []string{"quiet", "loss", "idle", "anchors"}

func runBench(ctx context.Context, o Options) int {
	cleanupLeftovers()
	names := allNames
	if o.Only != "" {
		names = nil
		for n := range strings.SplitSeq(o.Only, ",") {
			if n == "side" {
				names = append(names, sideNames...)
			} else {
				names = append(names, n)
			}
		}
		for _, n := range names {
			if !slices.Contains(allNames, n) {
				fmt.Fprintf(os.Stderr, "bench: unknown measurement %q (want %s or side)\n", n, strings.Join(allNames, ", "))
				return 2
			}
		}
	}
	tmp, err := os.MkdirTemp("", "lfb-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	b := &bench{opt: o, bin: o.Lanfind, tmp: tmp}
	if b.bin == "" {
		b.bin = filepath.Join(tmp, "lanfind")
		logf("building lanfind from ..")
		cmd := exec.Command("go", "build", "-C", "..", "-o", b.bin, "./cmd/lanfind")
		cmd.Env = goBuildEnv()
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: build lanfind:", err)
			return 1
		}
	}
	help, _ := exec.Command(b.bin, "announce", "--help").CombinedOutput()
	hasService := strings.Contains(string(help), "--service")
	switch b.mode = o.Mode; b.mode {
	case "":
		b.mode = modeLib
		if hasService {
			b.mode = modeService
		}
	case modeService:
		if !hasService {
			fmt.Fprintln(os.Stderr, "bench: -mode service: this lanfind has no --service")
			return 2
		}
	case modeLib, modeProcs:
	default:
		fmt.Fprintf(os.Stderr, "bench: -mode %q: want service, lib or procs\n", o.Mode)
		return 2
	}
	if b.self, err = os.Executable(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	b.res = newResults(o, b.bin, b.mode)
	b.res.Notes = append(b.res.Notes, "wall times run from just before the harness forks lanfind to its exit: the harness forks it from a thread that has entered the host's network namespace (setns), so process start is included and no ip netns exec runs in between")
	logf("announce mode: %s", b.res.Mode)

	defer func() {
		if b.lab100 != nil {
			b.lab100.Close()
		}
	}()
	failed := false
	for _, n := range names {
		if ctx.Err() != nil {
			break
		}
		logf("== %s", n)
		t0 := time.Now()
		var err error
		switch n {
		case "scale":
			err = b.scale(ctx)
		case "quiet":
			err = b.quiet(ctx, false)
		case "loss":
			err = b.loss(ctx, false)
		case "quiet6":
			err = b.quiet(ctx, true)
		case "loss6":
			err = b.loss(ctx, true)
		case "churn":
			err = b.churn(ctx)
		case "flood":
			err = b.flood(ctx)
		case "idle":
			err = b.idle(ctx)
		case "hotplug":
			err = b.hotplug(ctx)
		case "anchors":
			err = b.anchors(ctx)
		case "serve":
			err = b.serve(ctx)
		}
		if err != nil {
			failed = true
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", n, err)
			b.res.Errors = append(b.res.Errors, fmt.Sprintf("%s: %v", n, err))
		}
		logf("   %s took %v", n, time.Since(t0).Round(time.Second))
	}
	if lostLines.Load() > 0 {
		b.res.Notes = append(b.res.Notes, fmt.Sprintf("%d watch output lines were dropped by the harness", lostLines.Load()))
	}
	fmt.Print(b.res.Table())
	base := "results"
	switch {
	case o.Quick:
		base = "quick"
	case o.Only == "serve": // figures of their own (issue 12)
		base = "serve"
	case o.Only != "":
		base = "quick"
	}
	if err := b.res.Write(o.Out, base); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

// goBuildEnv is the environment of the harness's go build for lanfind
// and the Go anchors: a static, pure-Go build as the README's install
// command makes (CGO_ENABLED=0), so that no process pays for loading libc
// (about 0.8 ms at start and 1.2 MB of RSS).
func goBuildEnv() []string { return append(os.Environ(), "CGO_ENABLED=0") }

// runs returns the number of repetitions: -runs, else def (full) or
// quick (-quick).
func (b *bench) runs(def, quick int) int {
	if b.opt.Runs > 0 {
		return b.opt.Runs
	}
	if b.opt.Quick {
		return quick
	}
	return def
}

// size returns full, or quick with -quick.
func (b *bench) size(full, quick int) int {
	if b.opt.Quick {
		return quick
	}
	return full
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
