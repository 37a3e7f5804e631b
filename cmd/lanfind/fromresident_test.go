package main

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/output"
	"github.com/lanfind/lanfind/internal/resident"
	"github.com/lanfind/lanfind/internal/serve"
)

// goodService is one mDNS service as a resident sends it.
func goodService(name string) output.Service {
	return output.Service{
		Name:       name,
		Type:       "http",
		Proto:      "tcp",
		Port:       80,
		Addr:       "10.77.0.10",
		Addrs:      []string{"10.77.0.10"},
		Iface:      "eth0",
		Host:       "web.local",
		Instance:   "00000000000000ff",
		Meta:       map[string]string{"path": "/"},
		TTLSeconds: 120,
		LastSeen:   "2026-12-06T05:00:00Z",
		Seen:       []output.Path{{Iface: "eth0", Addr: "10.77.0.10", Family: "ipv4"}},
		Source:     "mdns",
	}
}

func answerJSON(t *testing.T, src serve.ResidentSource) string {
	t.Helper()
	b, err := json.Marshal(serve.Resident{PID: 7, Sources: []serve.ResidentSource{src}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDecodeResident: a resident's answer is used only when warm and
// covering; each service is checked as network input, and at most
// maxEntries are kept.
func TestDecodeResident(t *testing.T) {
	bad := func(f func(*output.Service)) output.Service {
		s := goodService("bad")
		f(&s)
		return s
	}
	warm := serve.ResidentSource{Source: "mdns", Warm: true, Covered: true, Services: []output.Service{
		goodService("a"), goodService("b"), goodService("c"),
		bad(func(s *output.Service) { s.Name = strings.Repeat("x", 64) }),
		bad(func(s *output.Service) { s.Type = "no_such_type!" }),
		bad(func(s *output.Service) { s.Addr = "10.77.0.300" }),
		bad(func(s *output.Service) { s.Addrs = make([]string, 17) }),
		bad(func(s *output.Service) { s.Meta = map[string]string{"k": strings.Repeat("v", 256)} }),
		bad(func(s *output.Service) { s.Source = "lanfind" }),
		bad(func(s *output.Service) { s.Instance = "xyz" }),
		bad(func(s *output.Service) { s.TTLSeconds = -1 }),
	}}
	rs, pid, err := decodeResident(strings.NewReader(answerJSON(t, warm)), 2, "", "http")
	if err != nil || pid != 7 {
		t.Fatalf("warm answer: %v (pid %d)", err, pid)
	}
	if got := len(rs); got != 2 || rs[0].Name != "a" || rs[1].Name != "b" {
		t.Errorf("warm answer, max 2 entries: got %d results %+v, want a and b", got, rs)
	}
	// The filters apply again: a type or name the search does not ask for.
	if rs, _, err := decodeResident(strings.NewReader(answerJSON(t, warm)), 10, "B", "_http._udp"); err != nil || len(rs) != 0 {
		t.Errorf("search for _http._udp: got %v, %v, want none", rs, err)
	}
	if rs, _, err := decodeResident(strings.NewReader(answerJSON(t, warm)), 10, "B", "http"); err != nil || len(rs) != 1 {
		t.Errorf("search for B: got %v, %v, want b", rs, err)
	}
	for _, tc := range []struct {
		name string
		body string
	}{
		{"cold", answerJSON(t, serve.ResidentSource{Source: "mdns", Covered: true})},
		{"not covering", answerJSON(t, serve.ResidentSource{Source: "mdns", Warm: true})},
		{"no mdns", `{"pid": 7, "sources": []}`},
		{"only bad services", answerJSON(t, serve.ResidentSource{Source: "mdns", Warm: true, Covered: true,
			Services: warm.Services[3:]})},
		{"not JSON", "HTTP/1.1 200 OK"},
		{"cut short", answerJSON(t, warm)[:100]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rs, _, err := decodeResident(strings.NewReader(tc.body), 10, "", ""); !errors.Is(err, errResident) {
				t.Errorf("got %v, %v, want an errResident", rs, err)
			}
		})
	}
}

// endless is an answer that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// TestDecodeResidentBounded: an endless answer is read up to
// maxResidentAnswer bytes, then refused.
func TestDecodeResidentBounded(t *testing.T) {
	r := &countingReader{r: io.MultiReader(strings.NewReader(`{"pid": 1, "sources": [`), endless{})}
	if _, _, err := decodeResident(r, 10, "", ""); !errors.Is(err, errResident) {
		t.Errorf("endless answer: got %v, want an errResident", err)
	}
	if r.n > maxResidentAnswer+64<<10 {
		t.Errorf("read %d bytes of an endless answer, want at most about %d", r.n, maxResidentAnswer)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestFromResidentBroken: a resident that accepts and never answers, or
// answers garbage, or none at all, costs list a bounded wait and no
// answer; it never hangs.
func TestFromResidentBroken(t *testing.T) {
	d, err := os.MkdirTemp("", "lfres")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	s := streams{Out: io.Discard, Err: io.Discard, Log: slog.New(slog.DiscardHandler)}
	o := searchOptions{timeout: 400 * time.Millisecond, typ: "http"}
	o.mdns, o.maxEntries = true, 100

	for _, tc := range []struct {
		name  string
		serve func(net.Conn) // nil: no resident at all
	}{
		{"none", nil},
		{"silent", func(c net.Conn) { io.Copy(io.Discard, c) }},
		{"garbage", func(c net.Conn) {
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
			c.Close()
		}},
		{"endless header", func(c net.Conn) {
			c.Write([]byte("HTTP/1.1 200 OK\r\nX: "))
			io.Copy(c, endless{})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o.socket = filepath.Join(d, tc.name+".sock")
			if tc.serve != nil {
				ln, err := resident.Listen(o.socket)
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				go func() {
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						go func() {
							defer c.Close()
							tc.serve(c)
						}()
					}
				}()
			}
			start := time.Now()
			rs, ok := fromResident(t.Context(), s, o, "", false)
			if ok {
				t.Errorf("got an answer %+v, want none", rs)
			}
			// Half the timeout, and some slack for a loaded machine.
			if d := time.Since(start); d > o.timeout {
				t.Errorf("took %v, want at most %v", d, o.timeout/2)
			}
		})
	}
}

// FuzzDecodeResident: whatever a resident sends, decodeResident returns an
// error or at most maxEntries results, each of the mDNS source and within
// lanfind's record limits, and never panics.
func FuzzDecodeResident(f *testing.F) {
	warm := serve.ResidentSource{Source: "mdns", Warm: true, Covered: true,
		Services: []output.Service{goodService("a"), goodService("b")}}
	b, err := json.Marshal(serve.Resident{PID: 7, Sources: []serve.ResidentSource{warm}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"pid":1,"sources":[{"source":"mdns","warm":true,"covered":true,"services":[{}]}]}`))
	f.Add([]byte(`{"sources":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, _, err := decodeResident(strings.NewReader(string(data)), 3, "", "")
		if err != nil {
			return
		}
		if len(rs) > 3 {
			t.Fatalf("%d results, max 3", len(rs))
		}
		for _, r := range rs {
			if r.Source != mdnsSource {
				t.Errorf("result of source %q", r.Source)
			}
			if r.Name == "" || len(r.Name) > beacon.MaxNameLen || len(r.Host) > beacon.MaxHostLen ||
				len(r.Meta) > beacon.MaxMeta || len(r.Addrs) > beacon.MaxAddrs {
				t.Errorf("result out of lanfind's limits: %+v", r)
			}
		}
	})
}
