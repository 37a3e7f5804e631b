package main

import (
	"context"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/internal/clidoc"
)

func manCommand() *cli.Command {
	return &cli.Command{
		Name:      "man",
		Usage:     "print the manual page (roff)",
		UsageText: "lanfind man",
		Description: "Read it with: lanfind man | man -l -\n" +
			"Install it with: lanfind man >/usr/local/share/man/man1/lanfind.1",
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("man takes no arguments, got %q", c.Args().First())
			}
			s := quietStreams(c)
			return runMan(c.Context, s, manOptions{app: c.App})
		},
	}
}

// manOptions are what man describes: the app, as it runs.
type manOptions struct {
	app *cli.App
}

func runMan(_ context.Context, s streams, opts manOptions) error {
	page, err := clidoc.Man(opts.app, manPage)
	if err == nil {
		_, err = io.WriteString(s.Out, page)
	}
	return runtimeError(err)
}

// manPage is what lanfind's manual page says besides its commands and
// flags.
var manPage = clidoc.Page{
	Section: 1,
	ExitStatus: []clidoc.Item{
		{Name: "0", Text: "Success; list and resolve: found (with --wait: as many as asked for); " +
			"doctor: no problem found."},
		{Name: "1", Text: "A runtime failure; list and resolve: nothing matched, " +
			"or fewer than --wait; doctor: a problem found; " +
			"check-config: the file is invalid or unreadable."},
		{Name: "2", Text: "A bad command line or configuration; list and resolve: any error."},
	},
	Environment: []clidoc.Item{
		{Name: "NO_COLOR", Text: "when set and not empty, no colour even on a terminal " +
			"(https://no-color.org)."},
		{Name: "TERM", Text: "dumb: no colour."},
		{Name: "NOTIFY_SOCKET", Text: "announce tells the service manager there " +
			"(systemd's sd_notify protocol) that it is ready, reloading or stopping."},
	},
	Examples: []clidoc.Item{
		{Name: "lanfind announce --name db --type postgres --port 5432",
			Text: "Announce a PostgreSQL server as db until interrupted."},
		{Name: "lanfind list", Text: "List the services on the local network."},
		{Name: "psql -h \"$(lanfind resolve db --format '{{.Addr}}')\"",
			Text: "Connect to the service db, from a script."},
		{Name: "lanfind list --json --timeout 1s",
			Text: "List the services as JSON, waiting at most a second."},
		{Name: "lanfind doctor --peer db",
			Text: "Explain why the service db is not seen from this host."},
	},
}
