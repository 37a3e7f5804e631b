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
		// A number, not the quoted string urfave/cli shows for a string.
		DefaultText: strconv.Itoa(beacon.DefaultPort),
	}
	flagGroup = &cli.StringFlag{
		Name:        "group",
		Usage:       "IPv4 multicast `GROUP` (239.0.0.0/8 recommended)",
		EnvVars:     []string{"LANFIND_GROUP"},
		Value:       beacon.DefaultGroup.String(),
		DefaultText: beacon.DefaultGroup.String(),
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
		EnvVars:     []string{"LANFIND_LOG_FORMAT"},
		Value:       "text",
		DefaultText: "text",
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
	flagNoIPv4      = &cli.BoolFlag{
		Name:    "no-ipv4",
		Usage:   "do not use IPv4 (no IPv4 socket; IPv4 addresses ignored)",
		EnvVars: []string{"LANFIND_NO_IPV4"},
	}
	flagNoIPv6 = &cli.BoolFlag{
		Name:    "no-ipv6",
		Usage:   "do not use IPv6 (no IPv6 socket; IPv6 addresses ignored)",
		EnvVars: []string{"LANFIND_NO_IPV6"},
	}
	// Flags of list, resolve and watch.
	flagFamily = &cli.StringFlag{
		Name: "family",
		Usage: "only IP version `V`, 4 or 6: its paths and addresses, " +
			"and an address of it to print",
	}
	flagPreferIPv6 = &cli.BoolFlag{
		Name:  "prefer-ipv6",
		Usage: "rank IPv6 addresses before IPv4 ones of the same rank",
	}
	flagVerbose = &cli.BoolFlag{
		Name:    "verbose",
		Aliases: []string{"v"},
		Usage:   "log debug details to stderr",
	}
	flagJSON = &cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"}
)

// flagWants says, by flag name, what a flag's value must be where its type
// says too little, for every message about a bad value: "--port abc: want
// 0 to 65535", "--wait 0: want …". See wantOf.
var flagWants = map[string]string{
	"port":           "0 to 65535",
	"wait":           "a number of instances, 1 or more",
	"discovery-port": "1 to 65535",
}

// wantOf says what the value of f must be: its entry in flagWants, or what
// its type parses.
func wantOf(f cli.Flag) string {
	if w, ok := flagWants[f.Names()[0]]; ok {
		return w
	}
	switch f.(type) {
	case *cli.DurationFlag:
		return "a duration with a unit, such as 2s or 500ms"
	case *cli.BoolFlag:
		return "true or false"
	case *cli.IntFlag, *cli.UintFlag, *cli.Int64Flag, *cli.Uint64Flag:
		return "a whole number"
	}
	return "a valid value" // a string flag takes any: not reached
}

func commonFlags(extra ...cli.Flag) []cli.Flag {
	return append(extra,
		flagPort,
		flagGroup,
		flagIface,
		flagExcludeIface,
		flagNoBroadcast,
		flagNoMulticast,
		flagNoIPv4,
		flagNoIPv6,
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
	noIPv4      bool
	noIPv6      bool
	family      int       // --family: 4, 6, or 0 for either
	prefer6     bool      // --prefer-ipv6
	keys        seal.Keys // from --secret-file; nil: unkeyed
	maxEntries  int       // --max-entries of list, resolve and watch
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
	o.maxEntries = c.Int("max-entries") // 0 for commands without the flag
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
		return o, usageErrorf("%s %s: want %s", src, ps, flagWants["discovery-port"])
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
	o.noIPv4, o.noIPv6, o.prefer6 = c.Bool("no-ipv4"), c.Bool("no-ipv6"), c.Bool("prefer-ipv6")
	if o.noIPv4 && o.noIPv6 {
		return o, usageErrorf("--no-ipv4 and --no-ipv6 together leave no address family")
	}
	return o, bindFamily(c, &o)
}

// bindFamily reads --family (list, resolve and watch): 4 leaves IPv6 out,
// 6 leaves IPv4 out.
func bindFamily(c *cli.Context, o *common) error {
	switch v := c.String("family"); v {
	case "":
		return nil
	case "4", "6":
		o.family = int(v[0] - '0')
	default:
		return usageErrorf("--family %q: want 4 or 6", v)
	}
	if o.family == 4 && o.noIPv4 || o.family == 6 && o.noIPv6 {
		return usageErrorf("--family %d with --no-ipv%d leaves no address family",
			o.family, o.family)
	}
	o.noIPv4, o.noIPv6 = o.noIPv4 || o.family == 6, o.noIPv6 || o.family == 4
	return nil
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
			return nil, usageErrorf("--secret-file: %s", ownText(err))
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
