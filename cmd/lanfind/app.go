package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/seal"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1 // announce, watch, iface: a runtime failure
	exitNotFound = 1 // list, resolve: nothing matched
	exitUsage    = 2 // bad command line or configuration; list and resolve: any error
)

// exitError carries an exit code and a message for stderr.
type exitError struct {
	code int
	msg  string
	hint string
}

func (e *exitError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// errNotFound is the exit status 1 of a search that printed its empty
// result ("[]" for --json); it prints nothing else.
var errNotFound = &exitError{code: exitNotFound}

// run is the whole program: main only adds signals and os.Exit.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	if len(args) > 1 {
		args = append(args[:1:1], permute(app, args[1:])...)
	}
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if log := jsonLog(app); log != nil {
			if ee.msg != "" && ee.hint != "" {
				log.Error(ee.msg, "hint", ee.hint)
			} else if ee.msg != "" {
				log.Error(ee.msg)
			}
			return ee.code
		}
		if ee.msg != "" {
			fmt.Fprintf(stderr, "lanfind: error: %s\n", ee.msg)
		}
		if ee.hint != "" {
			fmt.Fprintf(stderr, "lanfind: hint: %s\n", ee.hint)
		}
		return ee.code
	}
	// urfave/cli's own messages ("No help topic for ...") are capitalized.
	msg := err.Error()
	if r, size := utf8.DecodeRuneInString(msg); unicode.IsUpper(r) {
		msg = string(unicode.ToLower(r)) + msg[size:]
	}
	fmt.Fprintf(stderr, "lanfind: error: %s\n", msg)
	return exitUsage
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:                      "lanfind",
		Usage:                     "announce and find services on the local network, with no server and no configuration",
		Description:               appDescription,
		Writer:                    stdout,
		ErrWriter:                 stderr,
		HideVersion:               true,
		DisableSliceFlagSeparator: true,
		ExitErrHandler:            func(*cli.Context, error) {}, // exit codes are decided by run
		OnUsageError:              onAppUsageError,
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("unknown command %q (try \"lanfind help\")", c.Args().First())
			}
			// A usage error: the help goes to stderr, like any diagnostic,
			// so that nothing reaches a pipe that expected results.
			out := c.App.Writer
			c.App.Writer = c.App.ErrWriter
			defer func() { c.App.Writer = out }()
			cli.ShowAppHelp(c)
			return &exitError{code: exitUsage}
		},
		Commands: []*cli.Command{
			announceCommand(),
			listCommand(),
			resolveCommand(),
			watchCommand(),
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
		c.OnUsageError = onUsageError
	}
	return app
}

// Messages of the flag package, reworded to name flags as users type them.
var (
	flagUndefined = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)
	flagBadValue  = regexp.MustCompile(`^invalid value (".*") for flag -+([^:]+): (.*)$`)
	flagNoValue   = regexp.MustCompile(`^flag needs an argument: -+(.+)$`)
)

func onUsageError(_ *cli.Context, err error, _ bool) error {
	msg := err.Error()
	if m := flagUndefined.FindStringSubmatch(msg); m != nil {
		return usageErrorf("unknown flag %s", dashed(m[1]))
	}
	if m := flagBadValue.FindStringSubmatch(msg); m != nil {
		return usageErrorf("%s %s: not a valid value", dashed(m[2]), m[1])
	}
	if m := flagNoValue.FindStringSubmatch(msg); m != nil {
		return usageErrorf("%s needs an argument", dashed(m[1]))
	}
	return usageErrorf("%s", msg)
}

// onAppUsageError is onUsageError for flags before any command: "lanfind
// --version", or a command's flag with no command ("lanfind -v").
func onAppUsageError(c *cli.Context, err error, sub bool) error {
	if m := flagUndefined.FindStringSubmatch(err.Error()); m != nil {
		if m[1] == "version" {
			return &exitError{code: exitUsage, msg: "unknown flag --version", hint: `the version is a command: run "lanfind version"`}
		}
		for _, cmd := range c.App.Commands {
			for _, f := range cmd.Flags {
				if slices.Contains(f.Names(), m[1]) {
					return usageErrorf("%s without a command (try \"lanfind help\")", dashed(m[1]))
				}
			}
		}
	}
	return onUsageError(c, err, sub)
}

// dashed returns a flag name with the dashes users type: -v, --timeout.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// permute moves a command's positional arguments after its flags, so that
// flags work wherever users type them ("lanfind resolve db --timeout 1s");
// the flag package stops at the first positional argument. Everything after
// "--" stays as it is.
func permute(app *cli.App, args []string) []string {
	args = commandFirst(app, args)
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return args
	}
	var cmd *cli.Command
	for _, c := range app.Commands {
		if c.HasName(args[0]) {
			cmd = c
		}
	}
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	flags := []string{args[0]}
	var pos []string
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			pos = append(pos, rest[i+1:]...)
			i = len(rest)
		case len(a) > 1 && strings.HasPrefix(a, "-"):
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue[name] {
				if i+1 == len(rest) {
					// No value: end with the flag so that the flag
					// package reports it, instead of taking "--" as its value.
					return flags
				}
				i++
				flags = append(flags, rest[i])
			}
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) > 0 {
		flags = append(flags, "--")
	}
	return append(flags, pos...)
}

// commandFirst moves a command name that follows flags to the front, so
// that "lanfind -v list" works like "lanfind list -v". Flags are the same
// kind (boolean or taking a value) in every command that has them.
func commandFirst(app *cli.App, args []string) []string {
	takesValue := map[string]bool{}
	for _, c := range app.Commands {
		for _, f := range c.Flags {
			_, isBool := f.(*cli.BoolFlag)
			for _, n := range f.Names() {
				takesValue[n] = !isBool
			}
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			if i == 0 || a == "--" || app.Command(a) == nil {
				return args
			}
			out := append([]string{a}, args[:i]...)
			return append(out, args[i+1:]...)
		}
		if name := strings.TrimLeft(a, "-"); !strings.Contains(name, "=") && takesValue[name] {
			i++ // skip the flag's value
		}
	}
	return args
}

// Flags every command shares.
var (
	// A string, parsed by parseCommon: urfave/cli would reject a bad
	// LANFIND_PORT even when --discovery-port overrides it.
	flagPort = &cli.StringFlag{
		Name:    "discovery-port",
		Usage:   "UDP `PORT` lanfind itself uses for discovery",
		EnvVars: []string{"LANFIND_PORT"},
		Value:   strconv.Itoa(beacon.DefaultPort),
	}
	flagGroup = &cli.StringFlag{
		Name:    "group",
		Usage:   "IPv4 multicast `GROUP` (239.0.0.0/8 recommended)",
		EnvVars: []string{"LANFIND_GROUP"},
		Value:   beacon.DefaultGroup.String(),
	}
	flagIface = &cli.StringSliceFlag{
		Name:    "iface",
		Usage:   "use only interface `NAME`, or those matching a glob such as 'eth*' (repeatable; default: every usable interface)",
		EnvVars: []string{"LANFIND_IFACE"},
	}
	flagExcludeIface = &cli.StringSliceFlag{
		Name:    "exclude-iface",
		Usage:   "never use interface `NAME`, or those matching a glob such as 'docker*' (repeatable)",
		EnvVars: []string{"LANFIND_EXCLUDE_IFACE"},
	}
	flagLogFormat = &cli.StringFlag{
		Name:    "log-format",
		Usage:   "log to stderr as `FORMAT` text or json (one JSON object per line, for journald and collectors)",
		EnvVars: []string{"LANFIND_LOG_FORMAT"},
		Value:   "text",
	}
	flagNoBroadcast = &cli.BoolFlag{Name: "no-broadcast", Usage: "do not use subnet broadcast"}
	flagNoMulticast = &cli.BoolFlag{Name: "no-multicast", Usage: "do not use multicast"}
	flagVerbose     = &cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log debug details to stderr"}
	flagJSON        = &cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"}
)

func commonFlags(extra ...cli.Flag) []cli.Flag {
	return append(extra, flagPort, flagGroup, flagIface, flagExcludeIface, flagNoBroadcast, flagNoMulticast, flagSecretFile, flagVerbose, flagLogFormat)
}

// common holds the parsed shared flags.
type common struct {
	port        uint16
	group       netip.Addr
	ifaces      []string
	excludes    []string // --exclude-iface
	noBroadcast bool
	noMulticast bool
	keys        seal.Keys // from --secret-file; nil: unkeyed
	log         *slog.Logger
}

func parseCommon(c *cli.Context, defaultLevel slog.Level) (common, error) {
	var o common
	ps := c.String("discovery-port")
	if ps == "" { // an empty LANFIND_PORT means the default, as for the other variables
		ps = strconv.Itoa(beacon.DefaultPort)
	}
	p, err := strconv.ParseUint(ps, 10, 16)
	if err != nil || p == 0 {
		src := "--discovery-port"
		if v, ok := os.LookupEnv("LANFIND_PORT"); ok && v == ps { // most likely from there
			src = "LANFIND_PORT"
		}
		if _, numErr := strconv.ParseInt(ps, 10, 64); numErr != nil {
			ps = strconv.Quote(ps)
		}
		return o, usageErrorf("%s %s: want 1 to 65535", src, ps)
	}
	o.port = uint16(p)
	gs := c.String("group")
	if gs == "" { // an empty LANFIND_GROUP means the default
		gs = beacon.DefaultGroup.String()
	}
	g, err := netip.ParseAddr(gs)
	if err != nil || !g.Is4() || !g.IsMulticast() {
		return o, usageErrorf("--group %q: want an IPv4 multicast address such as %s", gs, beacon.DefaultGroup)
	}
	o.group = g
	if o.ifaces, err = ifacePatterns(c, "iface", "LANFIND_IFACE"); err != nil {
		return o, err
	}
	if o.excludes, err = ifacePatterns(c, "exclude-iface", "LANFIND_EXCLUDE_IFACE"); err != nil {
		return o, err
	}
	o.noBroadcast, o.noMulticast = c.Bool("no-broadcast"), c.Bool("no-multicast")
	if o.noBroadcast && o.noMulticast {
		return o, usageErrorf("--no-broadcast and --no-multicast together leave nothing to send with")
	}
	level := defaultLevel
	if c.Bool("verbose") {
		level = slog.LevelDebug
	}
	if o.log, err = newLogger(c.App.ErrWriter, c.String("log-format"), level); err != nil {
		return o, err
	}
	if c.String("log-format") == "json" {
		// From here on, errors are JSON records too (see run).
		c.App.Metadata = map[string]any{jsonLogKey: o.log}
	}
	o.keys, err = loadKeys(c.StringSlice("secret-file"), o.log)
	return o, err
}

// jsonLogKey is the cli.App.Metadata key of the logger of --log-format json,
// set once the flag has been read.
const jsonLogKey = "json-log"

// jsonLog returns the logger that writes errors as JSON records, or nil
// when errors are "lanfind: error: …" lines.
func jsonLog(app *cli.App) *slog.Logger {
	log, _ := app.Metadata[jsonLogKey].(*slog.Logger)
	return log
}

// searchError is runtimeError for list and resolve, where exit code 1
// means only "nothing found": every error exits 2.
func searchError(err error) error {
	var ee *exitError
	if errors.As(runtimeError(err), &ee) {
		e := *ee
		e.code = exitUsage
		return &e
	}
	return nil
}

// runtimeError wraps a library error for stderr with exit code 1, or 2 when
// it is about configuration (interfaces that do not exist, and the like).
func runtimeError(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee
	}
	code := exitFailure
	msg := err.Error()
	var hint string
	var selErr *iface.SelectError
	switch {
	case errors.As(err, &selErr):
		// An interface that is down or has no address yet is the host's
		// state, not a bad command line: exit 1, which a service manager
		// retries (the unit prevents a restart only on exit 2).
		code = exitUsage
		if selErr.Temporary() {
			code = exitFailure
		}
		hint = "run \"lanfind iface\" to see the interfaces and why each is or is not used"
	case errors.Is(err, beacon.ErrTooBig), errors.Is(err, beacon.ErrMalformed):
		code = exitUsage
	case errors.Is(err, syscall.EADDRINUSE):
		hint = "another program holds lanfind's UDP port without sharing it; \"lanfind doctor\" names it"
	case errors.Is(err, os.ErrPermission):
		hint = "is a firewall or a sandbox refusing broadcast or multicast here?"
	}
	return &exitError{code: code, msg: msg, hint: hint}
}
