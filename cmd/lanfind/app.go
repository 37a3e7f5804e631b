package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

// run is the whole program: main only adds signals and os.Exit.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	var err error
	if len(args) > 1 {
		var rest []string
		rest, err = arrangeArgs(app, args[1:])
		args = append(args[:1:1], rest...)
	}
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		writeError(stderr, ee)
		return ee.code
	}
	fmt.Fprintf(stderr, "lanfind: error: %s\n", err)
	return exitUsage
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name: "lanfind",
		Usage: "announce and find services on the local network, " +
			"with no server and no configuration",
		Description:               appDescription,
		Writer:                    stdout,
		ErrWriter:                 stderr,
		HideVersion:               true,
		DisableSliceFlagSeparator: true,
		ExitErrHandler:            func(*cli.Context, error) {}, // exit codes are decided by run
		OnUsageError:              usageError,
		Action:                    noCommand,
		Commands: []*cli.Command{
			announceCommand(),
			listCommand(),
			resolveCommand(),
			watchCommand(),
			serveCommand(),
			ifaceCommand(),
			keygenCommand(),
			checkConfigCommand(),
			doctorCommand(),
			versionCommand(),
			completionCommand(),
			manCommand(),
		},
	}
	for _, c := range app.Commands {
		c.OnUsageError = usageError
	}
	return app
}

// noCommand is the app's Action: "lanfind" with no command, or with an
// argument that names none.
func noCommand(c *cli.Context) error {
	if c.Args().Present() {
		return unknownCommand(c.App, c.Args().First())
	}
	// A usage error: the help goes to stderr, like any diagnostic, so that
	// nothing reaches a pipe that expected results.
	cli.HelpPrinter(c.App.ErrWriter, cli.AppHelpTemplate, c.App)
	return &exitError{code: exitUsage}
}

// usageError is the OnUsageError of the app and of every command: the flag
// package's message ("flag provided but not defined: -bogus") as a usage
// error, instead of urfave/cli's "Incorrect Usage" and the whole help.
func usageError(_ *cli.Context, err error, _ bool) error {
	return &exitError{code: exitUsage, msg: err.Error()}
}

// appDescription is the DESCRIPTION of "lanfind help" and of the man page.
const appDescription = "" +
	"lanfind announce sends a service's beacon to the subnet broadcast address and the\n" +
	"multicast group 239.255.70.70 on every usable interface; lanfind list, resolve and watch\n" +
	"find services by querying and listening on UDP port 28471. Flags work before or after a\n" +
	"command's arguments; several shared ones also come from LANFIND_* environment variables.\n" +
	"\n" +
	"Exit status: 0 success (list and resolve: found); 1 a runtime failure (list and resolve:\n" +
	"nothing matched; doctor: a problem found); 2 a bad command line or configuration.\n" +
	"\n" +
	"lanfind doctor explains why a LAN looks silent; lanfind completion bash|zsh|fish prints\n" +
	"a completion script; lanfind man prints this page."
