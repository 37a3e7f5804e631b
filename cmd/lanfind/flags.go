package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/seal"
)

// Flags every network command shares.
var (
	// A string, parsed by bindShared: urfave/cli would reject a bad
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
		Name: "iface",
		Usage: "use only interface `NAME`, or those matching a glob such as 'eth*' " +
			"(repeatable; default: every usable interface)",
		EnvVars: []string{"LANFIND_IFACE"},
	}
	flagExcludeIface = &cli.StringSliceFlag{
		Name: "exclude-iface",
		Usage: "never use interface `NAME`, or those matching a glob such as 'docker*' " +
			"(repeatable)",
		EnvVars: []string{"LANFIND_EXCLUDE_IFACE"},
	}
	flagLogFormat = &cli.StringFlag{
		Name: "log-format",
		Usage: "log to stderr as `FORMAT` text or json " +
			"(one JSON object per line, for journald and collectors)",
		EnvVars: []string{"LANFIND_LOG_FORMAT"},
		Value:   "text",
	}
	flagSecretFile = &cli.StringSliceFlag{
		Name: "secret-file",
		Usage: "seal and authenticate all traffic with the shared key in `FILE` " +
			"(repeatable for rotation: the first key seals, every key opens)",
		EnvVars:   []string{"LANFIND_SECRET_FILE"},
		TakesFile: true,
	}
	flagNoBroadcast = &cli.BoolFlag{Name: "no-broadcast", Usage: "do not use subnet broadcast"}
	flagNoMulticast = &cli.BoolFlag{Name: "no-multicast", Usage: "do not use multicast"}
	flagVerbose     = &cli.BoolFlag{
		Name:    "verbose",
		Aliases: []string{"v"},
		Usage:   "log debug details to stderr",
	}
	flagJSON = &cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"}
)

func commonFlags(extra ...cli.Flag) []cli.Flag {
	return append(extra,
		flagPort,
		flagGroup,
		flagIface,
		flagExcludeIface,
		flagNoBroadcast,
		flagNoMulticast,
		flagSecretFile,
		flagVerbose,
		flagLogFormat,
	)
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
	mdns        bool      // --mdns: DNS-SD over mDNS too (see mdns.go)
}

// bindShared reads the shared flags and builds the command's streams, with
// diagnostics and logs on errOut at level (see newStreams). An error after
// the streams exist comes with them, for streams.exit.
func bindShared(c *cli.Context, errOut io.Writer, level slog.Level) (common, streams, error) {
	o, err := bindNetwork(c)
	if err != nil {
		return o, streams{}, err
	}
	s, err := newStreams(c, c.App.Writer, errOut, level)
	if err != nil {
		return o, s, err
	}
	if o.keys, err = loadKeys(c.StringSlice("secret-file"), s.Log); err != nil {
		return o, s, err
	}
	return o, s, bindMDNS(c, &o)
}

// bindNetwork reads the shared flags that say where lanfind talks.
func bindNetwork(c *cli.Context) (common, error) {
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
		return o, usageErrorf("--group %q: want an IPv4 multicast address such as %s",
			gs, beacon.DefaultGroup)
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
		return o, usageErrorf("--no-broadcast and --no-multicast together " +
			"leave nothing to send with")
	}
	return o, nil
}

// ifacePatterns returns the interface names and globs given with the flag
// named flag. Each value may hold several, separated by commas, so that
// LANFIND_EXCLUDE_IFACE='docker*,veth*' works. A variable set to the empty
// string means no pattern.
func ifacePatterns(c *cli.Context, flag, env string) ([]string, error) {
	var out []string
	for _, v := range c.StringSlice(flag) {
		if e, set := os.LookupEnv(env); v == "" && set && e == "" {
			continue
		}
		for p := range strings.SplitSeq(v, ",") {
			_, err := path.Match(p, "")
			switch {
			case err != nil:
				return nil, usageErrorf("--%s %q: not a valid glob (%v)", flag, p, err)
			case p == "", strings.ContainsAny(p, "/ \t\n"),
				!iface.IsGlob(p) && len(p) > 15, len(p) > 64:
				return nil, usageErrorf("--%s %q: not an interface name", flag, p)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// loadKeys reads the key files of --secret-file in order; a bad file is a
// usage error (exit 2), a file other users can read a warning.
func loadKeys(paths []string, log *slog.Logger) (seal.Keys, error) {
	var keys seal.Keys
	for _, p := range paths {
		if p == "" {
			// Fail closed: an empty name must not mean "no key".
			return nil, usageErrorf("--secret-file: empty file name " +
				"(is LANFIND_SECRET_FILE set but empty?)")
		}
		ks, warning, err := seal.LoadKeyFile(p)
		if err != nil {
			return nil, usageErrorf("--secret-file: %s", strings.TrimPrefix(err.Error(), "seal: "))
		}
		if warning != "" {
			log.Warn(warning)
		}
		keys = append(keys, ks...)
	}
	if len(keys) > 0 {
		log.Debug("keyed mode",
			"keys", len(keys),
			"sealing_key_id", fmt.Sprintf("%016x", keys[0].ID()))
	}
	return keys, nil
}

// Flags of the commands that print results (list, resolve, watch).
var (
	flagFormat = &cli.StringFlag{
		Name: "format",
		Usage: "print each result with the Go text/template `TEMPLATE`, " +
			"e.g. '{{.Addr}}:{{.Port}}'",
	}
	flagNoColor = &cli.BoolFlag{
		Name:  "no-color",
		Usage: "no colour even on a terminal (also: NO_COLOR=1, TERM=dumb)",
	}
)
