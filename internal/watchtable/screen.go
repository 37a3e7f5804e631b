package watchtable

import (
	"context"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/lanfind/lanfind/discover"
	tt "github.com/lanfind/lanfind/internal/termtext"
)

// Screen is the terminal the live table takes over.
type Screen struct {
	s  tcell.Screen
	st tt.Style
}

// Open takes over the terminal for the live table, drawn with st. It fails
// when there is no usable terminal; the caller then prints one line per
// event instead.
func Open(st tt.Style) (*Screen, error) {
	s, err := tcell.NewScreen()
	if err == nil {
		err = s.Init()
	}
	if err != nil {
		return nil, err
	}
	return &Screen{s: s, st: st}, nil
}

// Run shows the live table until ctx ends, the user quits or l.Run fails,
// and gives the terminal back. l should report refreshes
// ([discover.Config.Refreshes]), so that SEEN is the age of the last beacon
// or answer rather than of the last change.
func (sc *Screen) Run(ctx context.Context, l *discover.Listener) error {
	return run(ctx, l, sc.s, sc.st)
}

// draw puts the frame on s and shows it. s clips what does not fit.
func (m *model) draw(s tcell.Screen) {
	_, m.height = s.Size()
	s.Clear()
	for y, l := range m.frame() {
		x := 0
		for _, c := range l {
			s.PutStrStyled(x, y, c.Text, tcellStyle(c.SGR))
			x += tt.Width(c.Text)
		}
	}
	s.Show()
}

// tcellStyle maps the SGR sequences of termtext.Style to tcell's styles.
func tcellStyle(sgr string) tcell.Style {
	st := tcell.StyleDefault
	switch sgr {
	case "1":
		st = st.Bold(true)
	case "2":
		st = st.Dim(true)
	case "31":
		st = st.Foreground(tcell.ColorMaroon)
	case "32":
		st = st.Foreground(tcell.ColorGreen)
	case "33":
		st = st.Foreground(tcell.ColorOlive)
	}
	return st
}

// quitKey reports whether ev asks the live table to end: q, Esc or Ctrl-C
// (the terminal is in raw mode, so Ctrl-C is a key, not SIGINT).
func quitKey(ev *tcell.EventKey) bool {
	return ev.Key() == tcell.KeyEscape || ev.Key() == tcell.KeyCtrlC ||
		(ev.Key() == tcell.KeyRune && ev.Rune() == 'q')
}

// run shows the live table on s, which Init has set up, until ctx ends,
// the user quits or l.Run fails. It calls s.Fini.
func run(ctx context.Context, l *discover.Listener, s tcell.Screen, st tt.Style) error {
	defer s.Fini()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	events := make(chan discover.Event)
	runDone := make(chan error, 1)
	go func() {
		runDone <- l.Run(ctx, func(ev discover.Event) {
			select {
			case events <- ev:
			case <-ctx.Done():
			}
		})
	}()
	keys := make(chan tcell.Event, 16)
	stopKeys := make(chan struct{})
	go s.ChannelEvents(keys, stopKeys)
	defer func() {
		close(stopKeys)
		for range keys { // ChannelEvents closes keys when it returns
		}
	}()

	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	m := newModel(st, time.Now)
	for {
		m.draw(s)
		select {
		case ev := <-events:
			m.apply(ev)
		case <-ticker.C:
			m.prune()
		case ev := <-keys:
			switch ev := ev.(type) {
			case *tcell.EventKey:
				if quitKey(ev) {
					cancel()
					return <-runDone
				}
			case *tcell.EventResize:
				s.Sync()
			}
		case err := <-runDone:
			return err
		}
	}
}
