package main

import (
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/doctor"
	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
)

// TestNSMDNS runs the CLI with --mdns beside real peers: avahi-daemon on
// h0 publishes a printer; "lanfind announce --mdns" on h1 publishes a
// database; list, resolve and watch on h2 see both (the database twice:
// once per protocol), Avahi sees the database, and watch on h3 sees it
// come and say goodbye.
func TestNSMDNS(t *testing.T) {
	lan := netnstest.New(t, 4)
	h0, h1, h2, h3 := lan.Hosts[0], lan.Hosts[1], lan.Hosts[2], lan.Hosts[3]
	requiretest.Need(t, "avahi-daemon", "avahi-browse", "dbus-daemon")
	av := mdnslab.StartAvahi(t, h0, "printhost", mdnslab.Service{
		Name: "Office Printer", Type: "_ipp._tcp", Port: 631, TXT: []string{"rp=printers/office", "color"},
	})
	ann := startAnnouncer(t, h1, "--mdns", "--name", "db", "--type", "postgresql", "--port", "5432",
		"--meta", "version=16", "--hostname", "dbhost")
	// watch runs on a host of its own, to see the database come and go
	// (TestNSMDNSListHearsUnicastBesideWatch runs a list beside a watch).
	w := startWatch(t, h3, "--mdns", "--json", "--type", "postgresql")

	// Avahi sees lanfind's database with its port and TXT.
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := av.Browse(t, "-rptk", "_postgresql._tcp")
		rs := mdnslab.ParseBrowse(out)
		if err == nil && slices.ContainsFunc(rs, func(r mdnslab.Resolved) bool {
			return r.Name == "db" && r.Port == "5432" && r.Host == "dbhost.local" &&
				r.Addr == h1.Addr("eth0").String() && strings.Contains(r.TXT, `"version=16"`)
		}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("avahi-browse on h0 does not resolve db: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// doctor says which mode --mdns runs in: beside Avahi on h0, alone
	// on h2.
	fs := runDoctorJSON(t, h0, 0)
	expectFinding(t, fs, doctor.LevelOK, "mdns", `^--mdns shares UDP port 5353 with pid \d+ \("avahi-daemon`)
	fs = runDoctorJSON(t, h2, 0)
	expectFinding(t, fs, doctor.LevelOK, "mdns", `^no mDNS stack holds UDP port 5353`)

	printer := service{
		Name: "Office Printer", Type: "ipp", Proto: "tcp", Port: 631, Host: "printhost.local",
		Addr: h0.Addr("eth0").String(), Addrs: []string{h0.Addr("eth0").String()},
		Meta: map[string]string{"rp": "printers/office", "color": ""}, Source: "mdns", Iface: "eth0",
	}
	got := list(t, h2, "--mdns", "--type", "ipp")
	if len(got) != 1 || !sameService(got[0], printer) {
		t.Fatalf("list --mdns --type ipp: got %+v, want %+v", got, printer)
	}

	all := list(t, h2, "--mdns")
	var sources []string
	for _, s := range all {
		sources = append(sources, s.Name+"/"+s.Source)
	}
	slices.Sort(sources)
	if want := []string{"Office Printer/mdns", "db/lanfind", "db/mdns"}; !reflect.DeepEqual(sources, want) {
		t.Errorf("list --mdns: got %v, want %v", sources, want)
	}

	r := runCode(t, h2, 0, "resolve", "--mdns", "Office Printer")
	if want := h0.Addr("eth0").String() + ":631\n"; r.stdout != want {
		t.Errorf("resolve --mdns: got %q, want %q", r.stdout, want)
	}

	// watch saw the database up over both protocols; stopping the
	// announcer brings both goodbyes.
	seen := map[string]bool{}
	for len(seen) < 2 {
		ev := w.nextEvent(t)
		if ev.Event == "up" && ev.Service.Name == "db" {
			seen[ev.Service.Source] = true
		}
	}
	ann.signal(t, syscall.SIGTERM)
	if code := ann.wait(t); code != 0 {
		t.Errorf("announce exited %d", code)
	}
	gone := map[string]bool{}
	for len(gone) < 2 {
		ev := w.nextEvent(t)
		if ev.Event == "down" && ev.Reason == "goodbye" && ev.Service.Name == "db" {
			gone[ev.Service.Source] = true
		}
	}
	if !gone["mdns"] || !gone["lanfind"] {
		t.Errorf("goodbyes from %v, want lanfind and mdns", gone)
	}
}

// sameService compares the fields an mDNS result must map exactly.
func sameService(a, b service) bool {
	return a.Name == b.Name && a.Type == b.Type && a.Proto == b.Proto && a.Port == b.Port &&
		strings.EqualFold(a.Host, b.Host) && a.Addr == b.Addr && reflect.DeepEqual(a.Addrs, b.Addrs) &&
		reflect.DeepEqual(a.Meta, b.Meta) && a.Source == b.Source && a.Iface == b.Iface && a.TTLSeconds > 0
}

// TestNSMDNSReload: with mdns = true in the file, a reload that removes a
// service says goodbye over mDNS too, one that changes a port announces
// the new SRV record, and one that opts a service out (mdns = false)
// withdraws it from mDNS only.
func TestNSMDNSReload(t *testing.T) {
	lan := netnstest.New(t, 2)
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	path := filepath.Join(t.TempDir(), "lanfind.toml")
	writeFile(t, path, `mdns = true
[[service]]
name = "db"
type = "postgresql"
port = 5432
[[service]]
name = "web"
type = "http"
port = 80
[[service]]
name = "ssh"
type = "ssh"
port = 22
`)
	ann := startAnnouncer(t, h0, "--config", path)
	w := startWatch(t, h1, "--mdns", "--json")
	up := map[string]bool{}
	for len(up) < 3 {
		if ev := w.nextEvent(t); ev.Event == "up" && ev.Service.Source == "mdns" {
			up[ev.Service.Name] = true
		}
	}
	writeFile(t, path, `mdns = true
[[service]]
name = "db"
type = "postgresql"
port = 5433
[[service]]
name = "ssh"
type = "ssh"
port = 22
mdns = false
`)
	ann.signal(t, syscall.SIGHUP)
	want := map[string]bool{"down goodbye web mdns": true, "down goodbye web lanfind": true,
		"update  db mdns": true, "down goodbye ssh mdns": true}
	deadline := time.Now().Add(5 * time.Second)
	for len(want) > 0 && time.Now().Before(deadline) {
		ev := w.nextEvent(t)
		k := fmt.Sprintf("%s %s %s %s", ev.Event, ev.Reason, ev.Service.Name, ev.Service.Source)
		if ev.Event == "update" && ev.Service.Name == "db" && ev.Service.Source == "mdns" && ev.Service.Port != 5433 {
			continue // not the port change yet
		}
		delete(want, k)
	}
	if len(want) > 0 {
		t.Errorf("after the reload, no events %v", slices.Sorted(maps.Keys(want)))
	}
}
