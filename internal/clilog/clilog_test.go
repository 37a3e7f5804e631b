package clilog

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

func TestLineHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newLineHandler(&buf, slog.LevelInfo))
	log.Debug("hidden", "k", 1)
	log.Info("announcing", "iface", "eth0", "dst", "10.0.0.255:28471")
	log.With("svc", "db").Warn("instance ID conflict", "addrs", []string{"10.0.0.2", "10.0.0.3"}, "note", "a b")
	log.Error("send failed", "err", "bad\x1b[2J", "name", "\x9b\u202eevil")
	want := "lanfind: announcing iface=eth0 dst=10.0.0.255:28471\n" +
		"lanfind: warning: instance ID conflict svc=db addrs=\"[10.0.0.2 10.0.0.3]\" note=\"a b\"\n" +
		"lanfind: error: send failed err=\"bad\\x1b[2J\" name=\"\\x9b\\u202eevil\"\n"
	if got := buf.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// TestJSONLogIsTerminalSafe: a name from the network with a C1 CSI, DEL
// and a bidirectional override reaches the JSON log escaped, and the same
// string once decoded.
func TestJSONLogIsTerminalSafe(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "json", slog.LevelDebug)
	if err != nil {
		t.Fatal(err)
	}
	evil := "a\u009b2J\x7f\u202eb\x1b[31m"
	log.Debug("dropped datagram", "name", evil)
	out := buf.String()
	if strings.ContainsAny(out, "\u009b\x7f\u202e\x1b") {
		t.Errorf("raw control or format character in the JSON log: %q", out)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON object: %v: %q", err, out)
	}
	if rec["name"] != evil {
		t.Errorf("name decodes to %q, want %q", rec["name"], evil)
	}
}

func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   string // regexp for the whole output
	}{
		{"text", `^lanfind: warning: join failed iface=eth0\n$`},
		{"", `^lanfind: warning: join failed iface=eth0\n$`},
		{"json", `^\{"time":"[^"]+","level":"WARN","msg":"join failed","iface":"eth0"\}\n$`},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := New(&buf, tc.format, slog.LevelWarn)
			if err != nil {
				t.Fatal(err)
			}
			log.Info("hidden below the level")
			log.Warn("join failed", "iface", "eth0")
			if got := buf.String(); !regexp.MustCompile(tc.want).MatchString(got) {
				t.Errorf("got %q, want a match for %q", got, tc.want)
			}
			if tc.format == "json" {
				var rec map[string]any
				if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
					t.Errorf("not one JSON object: %v", err)
				}
			}
		})
	}
	if _, err := New(io.Discard, "xml", slog.LevelInfo); err == nil || err.Error() != `--log-format "xml": want text or json` {
		t.Errorf("format xml: got error %v, want a usage error", err)
	}
}

// TestJournalWriter checks the journald priority of each kind of line,
// text and JSON, and that a line written in pieces gets one prefix.
func TestJournalWriter(t *testing.T) {
	var b strings.Builder
	w := JournalWriter(&b)
	for _, s := range []string{
		"lanfind: error: bad\nlanfind: hint: try this\n",
		"lanfind: warning: hmm\n",
		"lanfind: announcing iface=eth0\n",
		"lanfind: debug: ", "sent query\n",
		`{"time":"x","level":"WARN","msg":"w"}` + "\n",
		`{"time":"x","level":"ERROR","msg":"e"}` + "\n",
		`{"time":"x","level":"INFO","msg":"i"}` + "\n",
	} {
		if n, err := io.WriteString(w, s); err != nil || n != len(s) {
			t.Fatalf("write %q: got %d, %v", s, n, err)
		}
	}
	want := "<3>lanfind: error: bad\n<5>lanfind: hint: try this\n<4>lanfind: warning: hmm\n" +
		"<6>lanfind: announcing iface=eth0\n<7>lanfind: debug: sent query\n" +
		`<4>{"time":"x","level":"WARN","msg":"w"}` + "\n" +
		`<3>{"time":"x","level":"ERROR","msg":"e"}` + "\n" +
		`<6>{"time":"x","level":"INFO","msg":"i"}` + "\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
