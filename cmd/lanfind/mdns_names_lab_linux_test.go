package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
)

// TestNSMDNSDottedName announces a service named "web.site" with
// "announce --mdns" on h1: avahi-browse on h0 resolves it as one instance
// label (avahi-browse writes it web\.site) with its port and TXT,
// python-zeroconf on h2 resolves it, and "list --mdns" on h0 maps it back
// to the name "web.site".
func TestNSMDNSDottedName(t *testing.T) {
	t.Parallel()
	requiretest.Need(t, "avahi-daemon", "avahi-browse", "dbus-daemon", "/usr/bin/python3")
	lan := netnstest.New(t, 3)
	h0, h1, h2 := lan.Hosts[0], lan.Hosts[1], lan.Hosts[2]
	av := mdnslab.StartAvahi(t, h0, "h0")
	zb := mdnslab.Python(t, h2, mdnslab.ZeroconfBrowse, h2.Addr("eth0").String(), "_http._tcp.local.")
	if _, err := zb.Wait(10*time.Second, "browsing"); err != nil {
		t.Fatalf("zeroconf browser on h2: %v\n%s", err, zb.All())
	}
	startAnnouncer(t, h1, "--mdns", "--name", "web.site", "--type", "http", "--port", "8080",
		"--meta", "path=/x", "--hostname", "webhost")
	ip1 := h1.Addr("eth0").String()

	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := av.Browse(t, "-rptk", "_http._tcp")
		if err == nil && slices.ContainsFunc(mdnslab.ParseBrowse(out), func(r mdnslab.Resolved) bool {
			return r.Name == "web.site" && r.Port == "8080" && r.Host == "webhost.local" &&
				r.Addr == ip1 && strings.Contains(r.TXT, `"path=/x"`)
		}) {
			if !strings.Contains(out, `;web\.site;_http._tcp;`) {
				t.Errorf("avahi-browse does not show web.site as one label with an escaped dot:\n%s", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("avahi-browse on h0 does not resolve web.site: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}

	if _, err := zb.Wait(5*time.Second, "add web.site._http._tcp.local. 8080 path=/x "+ip1); err != nil {
		t.Errorf("python-zeroconf on h2: %v\n%s", err, zb.All())
	}

	got := list(t, h0, "--mdns", "--type", "http")
	i := slices.IndexFunc(got, func(s service) bool { return s.Source == "mdns" })
	if i < 0 || got[i].Name != "web.site" || got[i].Port != 8080 || got[i].Meta["path"] != "/x" ||
		got[i].Addr != ip1 {
		t.Errorf("list --mdns --type http on h0: got %+v, want web.site:8080 from mdns", got)
	}
}
