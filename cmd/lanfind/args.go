package main

import (
	"flag"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// arrangeArgs puts a command line (without the program name) in the order
// urfave/cli parses, so that flags work wherever users type them:
//
//	lanfind -v list               → lanfind list -v
//	lanfind resolve db --timeout 3s → lanfind resolve --timeout 3s -- db
//
// The flag package stops at the first positional argument, and urfave/cli
// parses flags before the command name as the app's own. This is the one
// place that knows; everything after "--" stays as it is. Walking the
// command line anyway, it reports what it finds wrong there in users' terms
// (instead of the flag package's "flag provided but not defined: -bogus"):
// an unknown flag, a flag missing its value or with a value its type does
// not parse (tried with the flag's own parser), a command's flag given with
// no command, --version, and help for a command that does not exist.
func arrangeArgs(app *cli.App, args []string) ([]string, error) {
	args = commandFirst(app, args)
	if len(args) == 0 {
		return args, nil
	}
	if a := args[0]; strings.HasPrefix(a, "-") && a != "-" && a != "--" {
		return args, flagWithoutCommand(app, a)
	}
	if (args[0] == "help" || args[0] == "h") && len(args) > 1 && app.Command(args[1]) == nil {
		// urfave/cli would say "No help topic for 'bogus'".
		return nil, usageErrorf("no help topic for %q", args[1])
	}
	cmd := app.Command(args[0])
	if cmd == nil {
		return args, nil
	}
	takesValue := valueFlags(cmd.Flags)
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
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			takes, known := takesValue[name]
			var value string
			switch {
			case !known && name != "help" && name != "h": // -h and --help come with every command
				return nil, usageErrorf("unknown flag %s", dashed(name))
			case takes && !hasValue && i+1 == len(rest):
				// Not "--", which would otherwise become its value.
				return nil, usageErrorf("%s needs an argument", dashed(name))
			case takes && !hasValue:
				i++
				value = rest[i]
				flags = append(flags, value)
			case takes:
				_, value, _ = strings.Cut(a, "=")
			}
			if takes && !acceptsValue(cmd.Flags, name, value) {
				return nil, usageErrorf("%s %q: not a valid value", dashed(name), value)
			}
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) > 0 {
		flags = append(flags, "--")
	}
	return append(flags, pos...), nil
}

// commandFirst moves a command name that follows flags to the front, so
// that "lanfind -v list" works like "lanfind list -v". Flags are the same
// kind (boolean or taking a value) in every command that has them.
func commandFirst(app *cli.App, args []string) []string {
	var all []cli.Flag
	for _, c := range app.Commands {
		all = append(all, c.Flags...)
	}
	takesValue := valueFlags(all)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			if i == 0 || a == "--" || app.Command(a) == nil {
				return args
			}
			out := append([]string{a}, args[:i]...)
			return append(out, args[i+1:]...)
		}
		name := strings.TrimLeft(a, "-")
		if !strings.Contains(name, "=") && takesValue[name] {
			i++ // skip the flag's value
		}
	}
	return args
}

// acceptsValue reports whether the flag named name among flags parses
// value, trying it with the flag's own parser on a scratch flag set.
func acceptsValue(flags []cli.Flag, name, value string) bool {
	for _, f := range flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		fs := flag.NewFlagSet("", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return f.Apply(fs) != nil || fs.Set(name, value) == nil
	}
	return true
}

// valueFlags returns, by name, whether each of flags takes a value.
func valueFlags(flags []cli.Flag) map[string]bool {
	takesValue := map[string]bool{}
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	return takesValue
}

// flagWithoutCommand returns the usage error of a command line that starts
// with the flag arg and names no command: "lanfind -v", "lanfind
// --version", "lanfind --bogus". It returns nil for -h and --help.
func flagWithoutCommand(app *cli.App, arg string) error {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	switch name {
	case "h", "help":
		return nil
	case "version":
		return &exitError{
			code: exitUsage,
			msg:  "unknown flag --version",
			hint: `the version is a command: run "lanfind version"`,
		}
	}
	for _, cmd := range app.Commands {
		for _, f := range cmd.Flags {
			if slices.Contains(f.Names(), name) {
				return usageErrorf("%s without a command (try \"lanfind help\")", dashed(name))
			}
		}
	}
	return usageErrorf("unknown flag %s", dashed(name))
}

// dashed returns a flag name with the dashes users type: -v, --timeout.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}
