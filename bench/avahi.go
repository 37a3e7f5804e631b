package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lanfind/lanfind/bench/anchors"
)

// avahi is the Avahi anchor: Debian's avahi-daemon on every lab host, with
// a private runtime directory and service directory each (bind-mounted in
// a mount namespace of its own, since the daemon's paths are fixed), a
// private D-Bus on the querier (avahi-browse and avahi-resolve talk to
// the daemon only through the bus), and static service files on the
// announcers, which run without D-Bus.
type avahi struct {
	dir     string
	version string
	bus     map[string]*Proc // dbus-daemon by host
	daemon  map[string]*Proc // the querier's avahi-daemon by host
}

// avahiDirs are the fixed paths of avahi-daemon that each lab host gets a
// private copy of.
const (
	avahiRunDir     = "/run/avahi-daemon"
	avahiServiceDir = "/etc/avahi/services"
	avahiReady      = "Server startup complete"
	// avahiSuppress is how long to wait between runs: a browse that
	// lives past its first second asks again with known answers, and
	// Avahi's responders then suppress those records for 700 ms for that
	// querier address (RFC 6762 7.1), so a new querier asking sooner
	// from the same address would be ignored.
	avahiSuppress = time.Second
)

func newAvahi(tmp string) (*avahi, error) {
	for _, bin := range []string{"avahi-daemon", "avahi-browse", "avahi-resolve", "dbus-daemon", "mount"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s not found (apt-get install avahi-daemon avahi-utils dbus-daemon)", bin)
		}
	}
	out, err := exec.Command("avahi-daemon", "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("avahi-daemon --version: %w", err)
	}
	// The mount points must exist; the package creates the second.
	for _, d := range []string{avahiRunDir, avahiServiceDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return &avahi{
		dir:     filepath.Join(tmp, "avahi"),
		version: strings.TrimPrefix(trimmed(out), "avahi-daemon "),
		bus:     map[string]*Proc{},
		daemon:  map[string]*Proc{},
	}, nil
}

func (a *avahi) Tool() Tool {
	return Tool{Key: "avahi", Name: "Avahi " + a.version,
		How: "avahi-daemon per host (IPv4 only, on the lab interface, Debian's rate limits) with static service files; " +
			"the querier's daemon publishes nothing and is restarted before each list or resolve, so that its cache is cold; " +
			"list: avahi-browse -t -r -p _bench._udp; resolve: avahi-resolve -4 -n HOST.local; watch: avahi-browse -r -p (RSS: avahi-browse and the daemon)"}
}

// hostDir returns h's private directory, made on first use.
func (a *avahi) hostDir(h *Host, sub string) (string, error) {
	d := filepath.Join(a.dir, h.Name, sub)
	return d, os.MkdirAll(d, 0o755)
}

func (a *avahi) busAddr(h *Host) string {
	return "unix:path=" + filepath.Join(a.dir, h.Name, "bus")
}

// startDaemon starts avahi-daemon in h: an announcer (no D-Bus) or the
// querier (D-Bus, publishing nothing).
func (a *avahi) startDaemon(h *Host, querier bool) (*Proc, error) {
	run, err := a.hostDir(h, "run")
	if err != nil {
		return nil, err
	}
	svc, err := a.hostDir(h, "services")
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(a.dir, h.Name, "avahi-daemon.conf")
	dbus, publish := "no", ""
	if querier {
		dbus, publish = "yes", "disable-publishing=yes\n"
	}
	text := fmt.Sprintf("[server]\nhost-name=%s\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=%s\nenable-dbus=%s\n"+
		"ratelimit-interval-usec=1000000\nratelimit-burst=1000\n[wide-area]\nenable-wide-area=no\n"+
		"[publish]\n%spublish-hinfo=no\npublish-workstation=no\n", h.Name, hostIf, dbus, publish)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	script := `mount --bind "$1" ` + avahiRunDir + ` && mount --bind "$2" ` + avahiServiceDir +
		` && exec avahi-daemon -f "$3" --no-rlimits --no-drop-root --no-chroot`
	p, err := h.Start("sh", []string{"-c", script, "sh", run, svc, conf},
		StartOpts{ReadyMark: avahiReady, OwnMounts: true, Env: []string{"DBUS_SYSTEM_BUS_ADDRESS=" + a.busAddr(h)}})
	if err != nil {
		return nil, err
	}
	return p, p.Ready(30 * time.Second)
}

func (a *avahi) Announce(h *Host, svcs []string) ([]*Proc, error) {
	dir, err := a.hostDir(h, "services")
	if err != nil {
		return nil, err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.service"))
	for _, f := range old {
		os.Remove(f)
	}
	for _, s := range svcs {
		name, port, _ := strings.Cut(s, ":")
		xml := fmt.Sprintf(`<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group><name>%s</name><service><type>%s</type><port>%s</port><txt-record>bench</txt-record></service></service-group>
`, name, anchors.Type, port)
		if err := os.WriteFile(filepath.Join(dir, name+".service"), []byte(xml), 0o644); err != nil {
			return nil, err
		}
	}
	p, err := a.startDaemon(h, false)
	if err != nil {
		return nil, err
	}
	return []*Proc{p}, nil
}

// ensureBus starts h's dbus-daemon unless it runs.
func (a *avahi) ensureBus(h *Host) error {
	if a.bus[h.Name] != nil {
		return nil
	}
	conf := filepath.Join(a.dir, h.Name, "bus.conf")
	if _, err := a.hostDir(h, ""); err != nil {
		return err
	}
	text := `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>` + a.busAddr(h) + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return err
	}
	p, err := h.Start("dbus-daemon", []string{"--config-file=" + conf, "--nofork", "--nopidfile", "--print-address=2"},
		StartOpts{ReadyMark: "unix:path="})
	if err != nil {
		return err
	}
	if err := p.Ready(10 * time.Second); err != nil {
		return err
	}
	a.bus[h.Name] = p
	return nil
}

// Fresh restarts the querier's daemon, so that its cache is empty. It
// first waits out avahiSuppress.
func (a *avahi) Fresh(h *Host) error {
	time.Sleep(avahiSuppress)
	if err := a.ensureBus(h); err != nil {
		return err
	}
	if p := a.daemon[h.Name]; p != nil {
		p.Signal(syscall.SIGTERM)
		if !p.Wait(5 * time.Second) {
			p.Kill()
			p.Wait(5 * time.Second)
		}
	}
	p, err := a.startDaemon(h, true)
	if err != nil {
		return err
	}
	a.daemon[h.Name] = p
	return nil
}

func (a *avahi) env(h *Host) []string { return []string{"DBUS_SYSTEM_BUS_ADDRESS=" + a.busAddr(h)} }

func (a *avahi) List(ctx context.Context, h *Host) (time.Duration, []string, error) {
	wall, out, err := h.TimedEnv(ctx, a.env(h), "avahi-browse", "-t", "-r", "-p", anchors.Type)
	var names []string
	for line := range strings.Lines(string(out)) {
		// =;IFACE;IPv4;NAME;TYPE;DOMAIN;HOST;ADDR;PORT;TXT
		if f := strings.Split(line, ";"); len(f) >= 9 && f[0] == "=" && strings.HasPrefix(f[7], subnet) {
			names = append(names, f[3])
		}
	}
	return wall, names, err
}

func (a *avahi) Resolve(ctx context.Context, h *Host, name string) (time.Duration, string, error) {
	host, _, _ := strings.Cut(name, "-")
	wall, out, err := h.TimedEnv(ctx, a.env(h), "avahi-resolve", "-4", "-n", host+".local")
	return wall, trimmed(out), err
}

func (a *avahi) Watch(h *Host) ([]*Proc, error) {
	if err := a.Fresh(h); err != nil {
		return nil, err
	}
	p, err := h.Start("avahi-browse", []string{"-r", "-p", anchors.Type}, StartOpts{Env: a.env(h)})
	if err != nil {
		return nil, err
	}
	return []*Proc{p, a.daemon[h.Name]}, nil
}
