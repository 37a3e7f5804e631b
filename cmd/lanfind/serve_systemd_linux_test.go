package main

import (
	"os"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/internal/requiretest"
	"github.com/lanfind/lanfind/internal/resident"
)

const serveUnitFile = "../../contrib/systemd/lanfind-serve.service"

// TestSystemdServeUnit checks contrib/systemd/lanfind-serve.service: it
// runs serve on the default addresses, keeps every setting of
// lanfind.service that is not about announcing (so, all its hardening),
// allows IPv6 sockets for a --dns or --http on an IPv6 address, and passes
// "systemd-analyze verify".
func TestSystemdServeUnit(t *testing.T) {
	unit, settings := readUnit(t, serveUnitFile)
	wants := []string{
		"ExecStart=/usr/local/bin/lanfind serve --dns " + defaultDNSAddr + " --http " + defaultHTTPAddr,
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK AF_UNIX",
	}
	wants = append(wants, mainUnitSettings(t, "Description", "ExecStart", "ExecReload", "RestrictAddressFamilies")...)
	checkSettings(t, serveUnitFile, settings, wants)

	requiretest.Need(t, "systemd-analyze")
	exe, err := os.Executable() // stands in for ExecStart's program, which must exist
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeUnit(t, dir, "lanfind-serve.service", strings.ReplaceAll(unit, "/usr/local/bin/lanfind", exe))
	// Unknown keys print a message but exit 0: any output is a failure.
	if out, err := analyzeVerify(t, dir, "lanfind-serve.service"); err != nil || out != "" {
		t.Fatalf("systemd-analyze verify lanfind-serve.service: got %v and %q, want exit 0 and no output", err, out)
	}

	// The socket unit: at root's default path, which every user's lanfind
	// looks at, and verified beside the service it starts.
	const socketUnitFile = "../../contrib/systemd/lanfind-serve.socket"
	sockUnit, settings := readUnit(t, socketUnitFile)
	checkSettings(t, socketUnitFile, settings, []string{"ListenStream=" + resident.RootPath, "SocketMode=0666"})
	writeUnit(t, dir, "lanfind-serve.socket", sockUnit)
	if out, err := analyzeVerify(t, dir, "lanfind-serve.socket"); err != nil || out != "" {
		t.Fatalf("systemd-analyze verify lanfind-serve.socket: got %v and %q, want exit 0 and no output", err, out)
	}
}
