package main

import (
	"errors"
	"io"
	"log/slog"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/internal/clilog"
)

// streams are where a command writes. A command's Action builds them once
// from -v and --log-format and passes them to its runX function.
type streams struct {
	Out io.Writer    // results
	Err io.Writer    // diagnostics
	Log *slog.Logger // built from -v/--log-format once, passed down; never in App.Metadata
}

// newStreams returns the streams of the command c runs: results on out,
// and diagnostics and the logger of --log-format on errOut, at level, or
// at debug level with -v.
func newStreams(c *cli.Context, out, errOut io.Writer, level slog.Level) (streams, error) {
	if c.Bool("verbose") {
		level = slog.LevelDebug
	}
	log, err := clilog.New(errOut, c.String("log-format"), level)
	if err != nil {
		return streams{}, usageErrorf("%s", err)
	}
	return streams{
		Out: out,
		Err: errOut,
		Log: log,
	}, nil
}

// quietStreams returns the streams of a command that has no -v or
// --log-format and logs nothing: the app's writers and a logger that
// discards.
func quietStreams(c *cli.Context) streams {
	return streams{
		Out: c.App.Writer,
		Err: c.App.ErrWriter,
		Log: slog.New(slog.DiscardHandler),
	}
}

// exit returns err for run, which prints it and turns it into the exit
// status. With --log-format json the message is written here, as JSON
// records of s.Log, so that stderr stays one JSON record per line; run then
// only takes the exit code.
func (s streams) exit(err error) error {
	var ee *exitError
	if s.Log == nil || !errors.As(err, &ee) || ee.msg == "" {
		return err
	}
	if !clilog.IsJSON(s.Log) {
		return err
	}
	logError(s.Log, ee)
	return &exitError{code: ee.code}
}
