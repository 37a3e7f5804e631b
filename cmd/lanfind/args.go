package main

import (
	"flag"
	"io"
	"slices"
	"strconv"
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
// an unknown command or flag (with the near ones: "did you mean"), a flag
// missing its value or with a value its type does not parse (tried with the
// flag's own parser; the error says what the flag wants), a flag that takes
// one value given twice, a command's flag given with no command, --version,
// and help for a command that does not exist.
func arrangeArgs(app *cli.App, args []string) ([]string, error) {
	args = commandFirst(app, args)
	if len(args) == 0 {
		return args, nil
	}
	if a := args[0]; strings.HasPrefix(a, "-") && a != "-" && a != "--" {
		return args, flagWithoutCommand(app, a)
	}
	if isHelp(args[0]) && len(args) > 1 && app.Command(args[1]) == nil {
		// urfave/cli would say "No help topic for 'bogus'".
		return nil, withSuggestion(usageErrorf("no help topic for %q", args[1]),
			args[1], commandNames(app), quoted)
	}
	cmd := app.Command(args[0])
	if cmd == nil {
		if isHelp(args[0]) {
			return args, nil
		}
		return nil, unknownCommand(app, args[0])
	}
	takesValue := valueFlags(cmd.Flags)
	given := map[string]string{} // the value of each single-value flag given so far
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
			case !known && isHelp(name): // -h and --help come with every command
			case !known:
				return nil, withSuggestion(usageErrorf("unknown flag %s", dashed(name)),
					name, flagNames(cmd.Flags), dashed)
			case takes && !hasValue && i+1 == len(rest):
				// Not "--", which would otherwise become its value.
				return nil, usageErrorf("%s needs an argument", dashed(name))
			case takes && !hasValue:
				i++
				value = rest[i]
				flags = append(flags, value)
			case hasValue:
				_, value, _ = strings.Cut(a, "=")
			}
			if !known || !takes && !hasValue {
				continue
			}
			f := lookupFlag(cmd.Flags, name)
			if !acceptsValue(f, name, value) {
				return nil, usageErrorf("%s %q: want %s", dashed(name), value, wantOf(f))
			}
			if err := givenOnce(given, f, value); err != nil {
				return nil, err
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

// isHelp reports whether name is one of the names of urfave/cli's help
// command and flag, which every command has without listing them.
func isHelp(name string) bool { return name == "help" || name == "h" }

// lookupFlag returns the flag of flags one of whose names is name, or nil.
func lookupFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// acceptsValue reports whether f, given as name, parses value, trying it
// with the flag's own parser on a scratch flag set.
func acceptsValue(f cli.Flag, name, value string) bool {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return f.Apply(fs) != nil || fs.Set(name, value) == nil
}

// givenOnce records in given the value of f, and fails if f takes one
// value and was given before: urfave/cli would silently keep the last.
func givenOnce(given map[string]string, f cli.Flag, value string) error {
	if sf, ok := f.(cli.DocGenerationSliceFlag); ok && sf.IsSliceFlag() {
		return nil
	}
	if isBool(f) {
		return nil // "-v -v" asks for the same thing twice
	}
	name := f.Names()[0]
	if first, ok := given[name]; ok {
		return usageErrorf("%s given twice (%q and %q): it takes one value",
			dashed(name), first, value)
	}
	given[name] = value
	return nil
}

// unknownCommand is the usage error of a first argument that names no
// command.
func unknownCommand(app *cli.App, name string) error {
	return withSuggestion(usageErrorf("unknown command %q (try \"lanfind help\")", name),
		name, commandNames(app), quoted)
}

// commandNames returns the names and aliases of app's commands, with help.
func commandNames(app *cli.App) []string {
	out := []string{"help"}
	for _, c := range app.Commands {
		out = append(out, c.Names()...)
	}
	return out
}

// flagNames returns the names of flags, with those of the help flag.
func flagNames(flags []cli.Flag) []string {
	out := []string{"help"}
	for _, f := range flags {
		out = append(out, f.Names()...)
	}
	return out
}

// withSuggestion adds to err a hint naming the candidates nearest to word
// (see nearest), each written by show, if any is near enough.
func withSuggestion(err error, word string, candidates []string, show func(string) string) error {
	near := nearest(word, candidates)
	if len(near) == 0 {
		return err
	}
	for i, n := range near {
		near[i] = show(n)
	}
	e := *err.(*exitError)
	e.hint = "did you mean " + strings.Join(near, " or ") + "?"
	return &e
}

func quoted(s string) string { return strconv.Quote(s) }

// maxSuggestDistance is how many edits (a letter added, removed, changed,
// or two neighbours swapped) a typo may be from what was meant: "lsit",
// "resolv" and "nmae" are one or two away.
const maxSuggestDistance = 2

// nearest returns what word was most likely meant to be among candidates:
// the one candidate word begins ("li" for list, "--time" for --timeout) if
// word has two letters or more, else the candidates (sorted, without
// repeats) at the smallest edit distance from word, if that distance is at
// most maxSuggestDistance and less than the length of word ("ab" is two
// edits from every two-letter name, which says nothing).
func nearest(word string, candidates []string) []string {
	var prefixed []string
	for _, c := range candidates {
		if len(word) >= 2 && strings.HasPrefix(c, word) && !slices.Contains(prefixed, c) {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) == 1 {
		return prefixed
	}
	best := maxSuggestDistance
	var near []string
	for _, c := range candidates {
		d := editDistance(word, c)
		switch {
		case d >= len(word) || d > best:
		case d < best || len(near) == 0:
			best, near = d, []string{c}
		case !slices.Contains(near, c):
			near = append(near, c)
		}
	}
	slices.Sort(near)
	return near
}

// editDistance returns the optimal string alignment distance between a and
// b: the number of letters added, removed or changed and of neighbouring
// letters swapped that turns one into the other (Damerau-Levenshtein,
// each substring edited at most once).
func editDistance(a, b string) int {
	r, s := []rune(a), []rune(b)
	// d[i][j] is the distance between r[:i] and s[:j].
	d := make([][]int, len(r)+1)
	for i := range d {
		d[i] = make([]int, len(s)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(r); i++ {
		for j := 1; j <= len(s); j++ {
			cost := 1
			if r[i-1] == s[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && r[i-1] == s[j-2] && r[i-2] == s[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(r)][len(s)]
}

// valueFlags returns, by name, whether each of flags takes a value.
func valueFlags(flags []cli.Flag) map[string]bool {
	takesValue := map[string]bool{}
	for _, f := range flags {
		for _, n := range f.Names() {
			takesValue[n] = !isBool(f)
		}
	}
	return takesValue
}

func isBool(f cli.Flag) bool {
	_, ok := f.(*cli.BoolFlag)
	return ok
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
	var all []cli.Flag
	for _, cmd := range app.Commands {
		if lookupFlag(cmd.Flags, name) != nil {
			return usageErrorf("%s without a command (try \"lanfind help\")", dashed(name))
		}
		all = append(all, cmd.Flags...)
	}
	return withSuggestion(usageErrorf("unknown flag %s", dashed(name)),
		name, flagNames(all), dashed)
}

// dashed returns a flag name with the dashes users type: -v, --timeout.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}
