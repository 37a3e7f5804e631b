package main

// The settings of "lanfind announce": its flags, its configuration file
// (see package internal/config) and which of the two wins.

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/internal/config"
)

// parseServiceFlag parses a --service value, NAME:PORT[:TYPE].
func parseServiceFlag(spec string) (announce.Service, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return announce.Service{}, usageErrorf("--service %q: want NAME:PORT[:TYPE] "+
			"(a name or type with a colon goes in --name and --type, or a config file)", spec)
	}
	svc := announce.Service{Name: parts[0]}
	if len(parts) == 3 {
		svc.Type = parts[2]
	}
	if err := announce.CheckName(svc.Name); err != nil {
		return svc, usageErrorf("--service %q: name %v", spec, err)
	}
	if err := announce.CheckType(svc.Type); err != nil {
		return svc, usageErrorf("--service %q: type %v", spec, err)
	}
	port, err := strconv.ParseUint(parts[1], 10, 16)
	if err != nil {
		return svc, usageErrorf("--service %q: port %q: want %s", spec, parts[1], flagWants["port"])
	}
	svc.Port = uint16(port)
	return svc, nil
}

// configFailure returns an error that prints a configuration file's
// problems, one "lanfind: error:" line (or JSON record, see streams.exit)
// each, and exits with code.
func configFailure(err error, code int) error {
	var ce *config.Error
	if !errors.As(err, &ce) {
		return &exitError{code: code, msg: err.Error()}
	}
	return &exitError{code: code, msg: strings.Join(ce.Lines(), "\n")}
}

// announceSettings is what "lanfind announce" runs with, from its flags and
// its configuration file.
type announceSettings struct {
	flagServices []announce.Service // from --name/--type/--port/--meta and --service
	file         *config.File       // nil without --config and --config-dir
	configPath   string             // --config
	configDir    string             // --config-dir
	services     []announce.Service // flagServices, then the file's
	interval     time.Duration
	ttl          time.Duration
	hostname     string
	explicit     map[string]bool // file keys a flag overrides
	warnings     []string        // for the log, once the services are about to be announced
	mdns         bool            // --mdns (LANFIND_MDNS)
	mdnsType     string          // --mdns-type
}

// Flags that override a configuration file's top-level keys.
var overrides = map[string]string{
	"interval":           "interval",
	"ttl":                "ttl",
	"hostname":           "hostname",
	"interfaces":         "iface",
	"exclude_interfaces": "exclude-iface",
	"discovery_port":     "discovery-port",
	"group":              "group",
	"no_broadcast":       "no-broadcast",
	"no_multicast":       "no-multicast",
	"no_ipv4":            "no-ipv4",
	"no_ipv6":            "no-ipv6",
	"mdns":               "mdns",
}

// parseAnnounce reads announce's flags and its configuration file, and
// applies the file's top-level settings to o where no flag was given.
func parseAnnounce(c *cli.Context, o *common) (*announceSettings, error) {
	as := &announceSettings{explicit: map[string]bool{}}
	svc, err := nameFlags(c)
	if err != nil {
		return nil, err
	}
	if svc != nil {
		as.flagServices = append(as.flagServices, *svc)
		if !c.IsSet("port") {
			// Scripts would get ADDR:0. "--port 0" says the service has
			// no port, and is not warned about.
			as.warnings = append(as.warnings, fmt.Sprintf("service %q has no --port: "+
				"listeners get port 0 (give --port N, or --port 0 if it has none)",
				svc.Name))
		}
	}
	for _, spec := range c.StringSlice("service") {
		svc, err := parseServiceFlag(spec)
		if err != nil {
			return nil, err
		}
		as.flagServices = append(as.flagServices, svc)
	}
	as.interval = c.Duration("interval")
	as.ttl = c.Duration("ttl")
	as.hostname = c.String("hostname")
	for key, flag := range overrides {
		as.explicit[key] = c.IsSet(flag)
	}
	as.configPath, as.configDir = c.String("config"), c.String("config-dir")
	if as.configPath != "" || as.configDir != "" {
		fc, err := as.loadConfig()
		if err != nil {
			return nil, configFailure(err, exitUsage)
		}
		as.file = fc
		as.applyFile(o)
	}
	if len(as.flagServices) == 0 && as.file == nil {
		return nil, usageErrorf("no service to announce: " +
			"give --name NAME, --service NAME:PORT[:TYPE] or --config FILE")
	}
	if as.services, err = combineServices(as.flagServices, as.file); err != nil {
		return nil, err
	}
	if len(as.services) == 0 {
		return nil, usageErrorf("no service to announce: %s has no [[service]] table "+
			"and no --service or --name was given", as.configName())
	}
	if err := announce.CheckInterval(as.interval); err != nil {
		return nil, usageErrorf("%s %v: %v", as.source("interval"), as.interval, err)
	}
	if as.ttl != 0 {
		if err := announce.CheckTTL(as.ttl, as.interval); err != nil {
			return nil, usageErrorf("%s %v: %v", as.source("ttl"), as.ttl, err)
		}
	}
	if err := announce.CheckHostname(as.hostname); err != nil {
		return nil, usageErrorf("%s %q: %v", as.source("hostname"), as.hostname, err)
	}
	if o.noBroadcast && o.noMulticast {
		return nil, usageErrorf("%s and %s together leave nothing to send with",
			as.source("no_broadcast"), as.source("no_multicast"))
	}
	if o.noIPv4 && o.noIPv6 {
		return nil, usageErrorf("%s and %s together leave no address family",
			as.source("no_ipv4"), as.source("no_ipv6"))
	}
	as.mdns, as.mdnsType = o.mdns, c.String("mdns-type")
	if as.mdnsType != "" && !as.mdns {
		return nil, usageErrorf("--mdns-type needs --mdns")
	}
	// Refuse what DNS-SD cannot carry, and mDNS with a key, before
	// anything starts.
	ps, err := as.mdnsServices(as.services, as.file)
	if err != nil {
		return nil, err
	}
	if len(ps) > 0 && len(o.keys) > 0 {
		return nil, usageErrorf("%s with --secret-file: mDNS cannot be authenticated; use one or the other",
			as.source("mdns"))
	}
	return as, nil
}

// loadConfig reads --config FILE, then every *.toml of --config-dir DIR
// in name order, as one configuration.
func (as *announceSettings) loadConfig() (*config.File, error) {
	switch {
	case as.configDir == "":
		return config.Load(as.configPath)
	case as.configPath == "":
		return config.LoadDir(as.configDir)
	}
	f, err := config.Load(as.configPath)
	if err != nil {
		return nil, err
	}
	d, err := config.LoadDir(as.configDir)
	if err != nil {
		return nil, err
	}
	return config.Merge(as.configPath, f, d)
}

// configName names the configuration in messages: its file, directory,
// or both.
func (as *announceSettings) configName() string {
	switch {
	case as.configDir == "":
		return as.configPath
	case as.configPath == "":
		return as.configDir
	}
	return as.configPath + " and " + as.configDir
}

// source names where a setting comes from, for messages: its flag, or its
// key in the configuration file.
func (as *announceSettings) source(key string) string {
	if as.file != nil && as.file.Sets(key) && !as.explicit[key] {
		return fmt.Sprintf("%s (in %s)", key, as.configName())
	}
	return "--" + overrides[key]
}

// applyFile applies the file's top-level settings that no flag overrides.
func (as *announceSettings) applyFile(o *common) {
	fc := as.file
	use := func(key string) bool { return fc.Sets(key) && !as.explicit[key] }
	if use("interval") {
		as.interval = fc.Interval
	}
	if use("ttl") {
		as.ttl = fc.TTL
	}
	if use("hostname") {
		as.hostname = fc.Hostname
	}
	if use("interfaces") {
		o.ifaces = fc.Interfaces
	}
	if use("exclude_interfaces") {
		o.excludes = fc.ExcludeInterfaces
	}
	if use("discovery_port") {
		o.port = fc.Port
	}
	if use("group") {
		o.group = fc.Group
	}
	if use("no_broadcast") {
		o.noBroadcast = fc.NoBroadcast
	}
	if use("no_multicast") {
		o.noMulticast = fc.NoMulticast
	}
	if use("no_ipv4") {
		o.noIPv4 = fc.NoIPv4
	}
	if use("no_ipv6") {
		o.noIPv6 = fc.NoIPv6
	}
}

// nameFlags returns the service --name, --type, --port and --meta describe,
// or nil if none of them is given.
func nameFlags(c *cli.Context) (*announce.Service, error) {
	if !c.IsSet("name") && !c.IsSet("type") && !c.IsSet("port") && !c.IsSet("meta") {
		return nil, nil
	}
	svc := announce.Service{Name: c.String("name"), Type: c.String("type")}
	if !c.IsSet("name") {
		return nil, usageErrorf("--type, --port and --meta describe the service of --name, " +
			"which is missing (--service takes NAME:PORT[:TYPE])")
	}
	if err := checkName("--name", svc.Name, true); err != nil {
		return nil, err
	}
	if err := checkName("--type", svc.Type, false); err != nil {
		return nil, err
	}
	p := c.Uint("port")
	if p > 65535 {
		return nil, usageErrorf("--port %d: want %s", p, flagWants["port"])
	}
	svc.Port = uint16(p)
	for _, kv := range c.StringSlice("meta") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErrorf("--meta %q: want KEY=VALUE", kv)
		}
		if svc.Meta == nil {
			svc.Meta = map[string]string{}
		}
		// Lengths are the library's to check (announce.New); the text
		// rule is the one --name and --hostname follow.
		if err := announce.CheckText(k); err != nil {
			return nil, usageErrorf("--meta %q: key: %v", kv, err)
		}
		if err := announce.CheckText(v); err != nil {
			return nil, usageErrorf("--meta %q: value: %v", kv, err)
		}
		if _, dup := svc.Meta[k]; dup {
			return nil, usageErrorf("--meta %q: key %q given twice", kv, k)
		}
		svc.Meta[k] = v
	}
	return &svc, nil
}

// combineServices returns the services from flags followed by those of the
// file (if not nil), and fails if two share a name and type.
func combineServices(flags []announce.Service, fc *config.File) ([]announce.Service, error) {
	all := slices.Clone(flags)
	if fc != nil {
		all = append(all, fc.Services...)
	}
	for i, first := range announce.Duplicates(all) {
		s := all[i]
		switch {
		case i < len(flags):
			return nil, usageErrorf("service %q of type %q is given twice on the command line",
				s.Name, s.Type)
		case first < len(flags):
			return nil, usageErrorf("service %q of type %q is given both on the command line and "+
				"at %s",
				s.Name, s.Type, fc.Where(i-len(flags)))
		}
		// Two in the file: config.Load refused them.
	}
	return all, nil
}
