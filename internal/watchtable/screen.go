package watchtable

import (
	"context"
	"errors"
	"sync"
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

// Run shows the live table of the events of srcs until ctx ends, the
// user quits or a source fails, and gives the terminal back. Each source
// runs on its own goroutine: a [discover.Listener]'s Run, which should
// report refreshes ([discover.Config.Refreshes]) so that SEEN is the age of
// the last beacon or answer rather than of the last change, and any other
// feed of the same events (watch --mdns adds the mDNS browser's).
func (sc *Screen) Run(ctx context.Context, srcs ...Source) error {
	return run(ctx, merge(srcs), sc.s, sc.st)
}

// Source reports events to fn until ctx ends, and returns nil then; fn may
// be called from several sources at once.
type Source = func(ctx context.Context, fn func(discover.Event)) error

// merge runs srcs at once as one source: it ends when they all have, and
// ends them all when one fails.
func merge(srcs []Source) Source {
	if len(srcs) == 1 {
		return srcs[0]
	}
	return func(ctx context.Context, fn func(discover.Event)) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errs := make(chan error, len(srcs))
		for _, src := range srcs {
			go func() {
				err := src(ctx, fn)
				if err != nil {
					cancel()
				}
				errs <- err
			}()
		}
		var all []error
		for range srcs {
			all = append(all, <-errs)
		}
		return errors.Join(all...)
	}
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

// frameEvery is the shortest time between two frames: a flood of events
// costs at most this many redraws a second, however many events it brings.
const frameEvery = 50 * time.Millisecond

// inbox holds the events src reported that the table has not taken yet,
// the latest for each row: the Listener hands them over without waiting for
// the screen, and their number is bounded by the instances it keeps.
type inbox struct {
	mu    sync.Mutex // guards evs
	evs   map[rowKey]discover.Event
	order []rowKey      // keys of evs in the order their first event came
	ready chan struct{} // holds a token while evs is not empty
}

func newInbox() *inbox {
	return &inbox{evs: make(map[rowKey]discover.Event), ready: make(chan struct{}, 1)}
}

// put keeps ev, replacing an earlier event of its row.
func (b *inbox) put(ev discover.Event) {
	k := keyOf(ev.Service)
	b.mu.Lock()
	if _, ok := b.evs[k]; !ok {
		b.order = append(b.order, k)
	}
	b.evs[k] = ev
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// take returns the events held, oldest row first, and empties b.
func (b *inbox) take() []discover.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]discover.Event, 0, len(b.order))
	for _, k := range b.order {
		out = append(out, b.evs[k])
	}
	clear(b.evs)
	b.order = b.order[:0]
	return out
}

// run shows the live table of the events of src on s, which Init has set
// up, until ctx ends, the user quits or src fails. It calls s.Fini. Events
// are applied in batches and frames drawn at most every frameEvery.
func run(ctx context.Context, src Source, s tcell.Screen, st tt.Style) error {
	defer s.Fini()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	in := newInbox()
	runDone := make(chan error, 1)
	go func() { runDone <- src(ctx, in.put) }()
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
	var last time.Time // when the last frame was drawn
	frame := time.NewTimer(time.Hour)
	frame.Stop()
	pending := false // frame is armed
	show := func() {
		m.draw(s)
		last = time.Now()
	}
	// redraw draws now, or once frameEvery has passed since the last frame.
	redraw := func() {
		if pending {
			return
		}
		if wait := frameEvery - time.Since(last); wait > 0 {
			frame.Reset(wait)
			pending = true
			return
		}
		show()
	}
	show()
	for {
		select {
		case <-in.ready:
			for _, ev := range in.take() {
				m.apply(ev)
			}
			m.prune()
			redraw()
		case <-frame.C:
			pending = false
			show()
		case <-ticker.C:
			m.prune()
			redraw()
		case ev := <-keys:
			switch ev := ev.(type) {
			case *tcell.EventKey:
				if quitKey(ev) {
					cancel()
					return <-runDone
				}
			case *tcell.EventResize:
				s.Sync()
				show()
			}
		case err := <-runDone:
			return err
		}
	}
}
