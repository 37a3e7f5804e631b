// Package clilog owns how lanfind logs on stderr: its own one line per
// record ("lanfind: warning: …", no timestamps, values from the network
// quoted so no byte reaches the terminal raw) or, with --log-format json,
// slog's JSON records with what a terminal would act on escaped.
//
// It builds *slog.Logger values and nothing else: no global logger, no
// flags. Besides the standard library it imports only internal/termtext;
// it must not import urfave/cli or any lanfind library package.
package clilog
