package clilog

import (
	"bytes"
	"io"
	"sync"
)

// JournalWriter returns a writer that puts a journald priority prefix
// ("<3>" error, "<4>" warning, "<5>" hint, "<6>" info, "<7>" debug; see
// sd-daemon(3)) before every line written to w, read from the line
// itself: lanfind's "lanfind: error: …" lines, or the "level" of a JSON
// record. journald strips the prefix and files the line under that
// priority, so "journalctl -p warning -u lanfind" shows lanfind's warnings
// and errors. Use it only when w is the journal's stream. Partial lines
// are held until their newline.
func JournalWriter(w io.Writer) io.Writer { return &journalWriter{w: w} }

type journalWriter struct {
	mu      sync.Mutex
	w       io.Writer
	partial []byte
}

func (j *journalWriter) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	buf := append(j.partial, p...)
	var out []byte
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		line := buf[:i+1]
		out = append(out, journalPriority(line)...)
		out = append(out, line...)
		buf = buf[i+1:]
	}
	j.partial = append(j.partial[:0:0], buf...)
	if len(out) > 0 {
		if _, err := j.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// journalPriority returns the priority prefix for one line.
func journalPriority(line []byte) string {
	for _, p := range []struct{ text, prio string }{
		{"lanfind: error: ", "<3>"},
		{"lanfind: warning: ", "<4>"},
		{"lanfind: hint: ", "<5>"},
		{"lanfind: debug: ", "<7>"},
		{`"level":"ERROR"`, "<3>"},
		{`"level":"WARN"`, "<4>"},
		{`"level":"DEBUG"`, "<7>"},
	} {
		if p.text[0] == '"' && bytes.Contains(line, []byte(p.text)) || bytes.HasPrefix(line, []byte(p.text)) {
			return p.prio
		}
	}
	return "<6>"
}
