package serve_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/serve"
)

// fakeAsker is an extra source that answers local searches for type ipp
// once warm, and counts its refreshes.
type fakeAsker struct {
	*fakeSource
	warm      atomic.Bool
	refreshes atomic.Int32
}

func (f *fakeAsker) Answer(q serve.Query) serve.Answer {
	a := serve.Answer{Source: "mdns", Since: time.Unix(0, 0), Warm: f.warm.Load()}
	if q.Type == "ipp" || q.Type == "" {
		a.Covered = true
		a.Match = func(r discover.Result) bool {
			return r.Source == "mdns" && (q.Type == "" || r.Type == q.Type) && (q.Name == "" || r.Name == q.Name)
		}
	}
	return a
}

func (f *fakeAsker) Refresh(ctx context.Context, q serve.Query) error {
	f.refreshes.Add(1)
	return nil
}

// getLocal fetches path over the unix socket at sock.
func getLocal(t *testing.T, sock, path string) (int, []byte) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := c.Get("http://local" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestResidentSocket: the unix socket serves the HTTP API and
// /v1/resident, which answers from the live set once the source is warm
// and covers the search, after a refresh (unless first=1 finds one); the
// TCP API has no /v1/resident; Close removes the socket.
func TestResidentSocket(t *testing.T) {
	d, err := os.MkdirTemp("", "lfserve")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	sock := filepath.Join(d, "serve.sock")
	asker := &fakeAsker{fakeSource: newFakeSource()}
	s, src, stop := startWith(t, serve.Config{HTTP: "127.0.0.1:0", Socket: sock, Extra: []serve.Source{asker}})
	if s.SocketPath() != sock {
		t.Errorf("SocketPath: got %q, want %q", s.SocketPath(), sock)
	}
	printer := discover.Result{
		Instance: 0x4444, Name: "printer", Type: "ipp", Proto: "tcp", Port: 631,
		Addr: netip.MustParseAddr("10.0.0.4"), Iface: "eth0", TTL: 120 * time.Second, Source: "mdns",
	}
	src.send(t, discover.EventUp, "", db1)
	asker.send(t, discover.EventUp, "", printer)

	resident := func(query string) serve.ResidentSource {
		t.Helper()
		code, body := getLocal(t, sock, "/v1/resident"+query)
		var r serve.Resident
		if err := json.Unmarshal(body, &r); code != 200 || err != nil || len(r.Sources) != 1 {
			t.Fatalf("/v1/resident%s: %d %v\n%s", query, code, err, body)
		}
		if r.PID != os.Getpid() {
			t.Errorf("pid: got %d, want %d", r.PID, os.Getpid())
		}
		return r.Sources[0]
	}
	if r := resident("?type=ipp"); r.Warm || len(r.Services) != 0 || asker.refreshes.Load() != 0 {
		t.Errorf("cold: got %+v and %d refreshes, want not warm, nothing, no refresh", r, asker.refreshes.Load())
	}
	asker.warm.Store(true)
	r := resident("?type=ipp")
	if !r.Warm || !r.Covered || len(r.Services) != 1 || r.Services[0].Name != "printer" || asker.refreshes.Load() != 1 {
		t.Errorf("warm: got %+v and %d refreshes, want the printer after one refresh", r, asker.refreshes.Load())
	}
	if r := resident("?type=ipp&name=printer&first=1"); len(r.Services) != 1 || asker.refreshes.Load() != 1 {
		t.Errorf("first=1: got %+v and %d refreshes, want the printer without a refresh", r, asker.refreshes.Load())
	}
	if r := resident("?type=postgres"); r.Covered || len(r.Services) != 0 {
		t.Errorf("a type it does not browse: got %+v, want not covered", r)
	}
	for _, q := range []string{"?color=red", "?first=2", "?type=a&type=b"} {
		if code, _ := getLocal(t, sock, "/v1/resident"+q); code != http.StatusBadRequest {
			t.Errorf("/v1/resident%s: got %d, want 400", q, code)
		}
	}
	if code, body := getLocal(t, sock, "/v1/services"); code != 200 || len(body) == 0 {
		t.Errorf("/v1/services over the socket: %d", code)
	}
	if code, _, _ := get(t, s, "GET", "/v1/resident"); code != http.StatusNotFound {
		t.Errorf("/v1/resident over TCP: got %d, want 404", code)
	}
	stop()
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket after Close: %v, want removed", err)
	}
}
