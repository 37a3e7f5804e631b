package announce_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/netnstest"
)

// exampleProc is this test binary running one example (see TestMain) in a
// lab host.
type exampleProc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{} // closed once cmd.Wait returned
}

// startExample runs the example name in h, exactly as written: with the
// default interface lister and sockets, which belong to h because the
// process runs in h's namespace.
func startExample(t *testing.T, h *netnstest.Host, name string) *exampleProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &exampleProc{name: name, done: make(chan struct{})}
	p.cmd = exec.CommandContext(t.Context(), exe)
	p.cmd.Env = append(os.Environ(), "LANFIND_EXAMPLE="+name, "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := h.Start(t, p.cmd); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s: stdout:\n%s\nstderr:\n%s", name, p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

func (p *exampleProc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: %v: %v", p.name, sig, err)
	}
}

// wait fails t unless the example exits 0 within a few seconds.
func (p *exampleProc) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: still running 5s after SIGTERM", p.name)
	}
	t.Logf("%s ran as pid %d: %v", p.name, p.cmd.Process.Pid, p.cmd.ProcessState)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("%s: exit %d, want 0; stderr:\n%s", p.name, code, p.stderr.String())
	}
	for _, bad := range []string{"WARNING: DATA RACE", "panic:"} {
		if strings.Contains(p.stderr.String(), bad) {
			t.Fatalf("%s: stderr has %q:\n%s", p.name, bad, p.stderr.String())
		}
	}
}

// watcher collects a discover.Listener's events in a lab host.
type watcher struct {
	events chan discover.Event
}

func startWatcher(t *testing.T, h *netnstest.Host) *watcher {
	t.Helper()
	l, err := discover.New(discover.Config{ListenPacket: h.ListenPacket, Lister: h.Lister(t)})
	if err != nil {
		t.Fatalf("discover.New: %v", err)
	}
	w := &watcher{events: make(chan discover.Event, 256)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		l.Run(ctx, func(ev discover.Event) {
			select {
			case w.events <- ev:
			case <-ctx.Done():
			}
		})
	})
	t.Cleanup(func() {
		cancel()
		l.Close()
		wg.Wait()
	})
	return w
}

// next returns the next event other than an update, failing t after
// 5 seconds.
func (w *watcher) next(t *testing.T) discover.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-w.events:
			if ev.Kind != discover.EventUpdate {
				return ev
			}
		case <-timeout:
			t.Fatalf("no event within 5s")
		}
	}
}

// expect waits for the next event other than an update and fails t
// unless it is kind about the service named name.
func (w *watcher) expect(t *testing.T, kind discover.EventKind, name string) discover.Event {
	t.Helper()
	ev := w.next(t)
	if ev.Kind != kind || ev.Service.Name != name {
		t.Fatalf("got event %v %q, want %v %q", ev.Kind, ev.Service.Name, kind, name)
	}
	return ev
}

// TestNSExamples runs the examples of this package as they are written,
// in a namespace lab, and checks what another host sees.
func TestNSExamples(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	w := startWatcher(t, h0)

	t.Run("Example", func(t *testing.T) {
		p := startExample(t, h1, "Example")
		ev := w.expect(t, discover.EventUp, "db")
		if r := ev.Service; r.Type != "postgres" || r.Port != 5432 || r.Meta["version"] != "16" || r.Addr != h1.Addr("eth0") {
			t.Fatalf("got %+v, want db postgres 5432 version=16 from %v", r, h1.Addr("eth0"))
		}
		p.signal(t, syscall.SIGTERM)
		if ev := w.expect(t, discover.EventDown, "db"); ev.Reason != discover.ReasonGoodbye {
			t.Fatalf("down with reason %q, want %q", ev.Reason, discover.ReasonGoodbye)
		}
		p.wait(t)
	})

	t.Run("ExampleSender_Update", func(t *testing.T) {
		p := startExample(t, h1, "ExampleSender_Update")
		w.expect(t, discover.EventUp, "web")
		p.signal(t, syscall.SIGHUP)
		if ev := w.expect(t, discover.EventUp, "web-metrics"); ev.Service.Port != 9100 || ev.Service.Type != "prometheus" {
			t.Fatalf("got %+v, want web-metrics prometheus 9100", ev.Service)
		}
		p.signal(t, syscall.SIGTERM)
		gone := map[string]bool{}
		for range 2 {
			ev := w.next(t)
			if ev.Kind != discover.EventDown || ev.Reason != discover.ReasonGoodbye {
				t.Fatalf("got %v (%s) of %q, want goodbyes", ev.Kind, ev.Reason, ev.Service.Name)
			}
			gone[ev.Service.Name] = true
		}
		if !gone["web"] || !gone["web-metrics"] {
			t.Fatalf("goodbyes for %v, want web and web-metrics", gone)
		}
		p.wait(t)
	})
}
