// Package watchtable owns the live table "lanfind watch" shows on a
// terminal: one row per instance, updated in place, with departures kept
// a few seconds with their reason. Its SEEN column is the age of the last
// beacon or answer heard from each instance, which moves only if the
// Listener reports refreshes ([discover.Config.Refreshes]).
//
// The model (apply an event, prune, lay out a frame) is plain data and
// code, testable without a terminal; draw puts a frame on any
// tcell.Screen, so tests use tcell's simulation screen; [Screen.Run] is the
// loop. The loop never holds up the Listener: events wait in an inbox that
// keeps the latest per row, are applied in batches, and a frame is drawn
// at most every 50 ms, so a flood of events costs a few frames, not one
// each. While the table owns the terminal, a [HeldLog] keeps what would
// be logged there until the table is gone.
//
// It is the only package that imports github.com/gdamore/tcell/v2. It
// must not import urfave/cli: the command decides whether there is a
// terminal and whether logs are held.
package watchtable
