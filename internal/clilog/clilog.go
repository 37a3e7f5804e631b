package clilog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	tt "github.com/lanfind/lanfind/internal/termtext"
)

// lineHandler writes log records the way lanfind talks on stderr:
//
//	lanfind: warning: instance ID conflict … name=db addrs=[10.0.0.2 10.0.0.3]
//	lanfind: announcing iface=eth0 dst=10.0.0.255:28471
//	lanfind: debug: sent query request=… attempt=1
//
// one line per record, no timestamps (journald and terminals add their own).
type lineHandler struct {
	level slog.Leveler
	// mu guards w; it is shared by the handlers WithAttrs derives.
	mu    *sync.Mutex
	w     io.Writer
	attrs string // preformatted " k=v" pairs from WithAttrs
}

func newLineHandler(w io.Writer, level slog.Leveler) *lineHandler {
	return &lineHandler{level: level, mu: &sync.Mutex{}, w: w}
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("lanfind: ")
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	case r.Level < slog.LevelInfo:
		b.WriteString("debug: ")
	}
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, "", a)
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	for _, a := range as {
		writeAttr(&b, "", a)
	}
	h2 := *h
	h2.attrs += b.String()
	return &h2
}

// WithGroup is not used by lanfind; group names are dropped.
func (h *lineHandler) WithGroup(string) slog.Handler { return h }

func writeAttr(b *strings.Builder, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			writeAttr(b, prefix+a.Key+".", g)
		}
		return
	}
	if a.Equal(slog.Attr{}) {
		return
	}
	s := v.String()
	if v.Kind() == slog.KindAny {
		s = fmt.Sprint(v.Any())
	}
	// Values may come from the network (names, hosts): quote anything that
	// is not plain printable UTF-8, so no byte sequence reaches the terminal
	// raw.
	unprintable := func(r rune) bool { return !unicode.IsPrint(r) }
	if s == "" || strings.ContainsAny(s, " \"=") || !utf8.ValidString(s) ||
		strings.ContainsFunc(s, unprintable) {
		s = strconv.QuoteToASCII(s)
	}
	b.WriteString(" " + prefix + a.Key + "=" + s)
}

// Formats are the values of --log-format.
var Formats = []string{"text", "json"}

// New returns the logger for --log-format: lanfind's own lines ("text")
// or one JSON object per record ("json", slog's JSON handler, for journald
// and log collectors), on w at level and above.
func New(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	switch format {
	case "text", "":
		return slog.New(newLineHandler(w, level)), nil
	case "json":
		opts := &slog.HandlerOptions{Level: level}
		return slog.New(slog.NewJSONHandler(jsonSafeWriter{w}, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// IsJSON reports whether log writes JSON records (--log-format json).
func IsJSON(log *slog.Logger) bool {
	_, ok := log.Handler().(*slog.JSONHandler)
	return ok
}

// jsonSafeWriter escapes, as termtext.WriteJSON does, what slog's JSON handler
// writes raw but a terminal may act on: C1 controls such as U+009B (CSI),
// DEL and bidirectional overrides in names and hosts from the network.
// The handler writes each record with one Write, so every Write is whole
// JSON.
type jsonSafeWriter struct{ w io.Writer }

func (j jsonSafeWriter) Write(p []byte) (int, error) {
	if _, err := j.w.Write(tt.EscapeUnprintable(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
