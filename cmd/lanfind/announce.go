package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
)

func announceCommand() *cli.Command {
	return &cli.Command{
		Name:      "announce",
		Usage:     "announce a service until interrupted",
		UsageText: "lanfind announce --name NAME [--type TYPE] [--port N] [--meta k=v]... [--interval D] [--ttl D] [--iface IF]...",
		Description: "Sends the service's beacon on every selected interface, to the subnet broadcast address and\n" +
			"the multicast group, answers queries, and says goodbye on SIGINT or SIGTERM.",
		Flags: commonFlags(
			&cli.StringFlag{Name: "name", Usage: "service `NAME` (required, 1-63 bytes)"},
			&cli.StringFlag{Name: "type", Usage: "service `TYPE`, e.g. postgres or http"},
			&cli.UintFlag{Name: "port", Usage: "the announced service's `PORT` (not lanfind's own)"},
			&cli.StringSliceFlag{Name: "meta", Usage: "metadata `KEY=VALUE` (repeatable)"},
			&cli.DurationFlag{Name: "interval", Usage: "time between beacons, 10ms to 12h", Value: announce.DefaultInterval},
			&cli.DurationFlag{Name: "ttl", Usage: "how long listeners keep the service without a beacon, at least 2 intervals (default 3 intervals)"},
			&cli.StringFlag{Name: "hostname", Usage: "host `NAME` to announce (default: this host's name)"},
		),
		Action: runAnnounce,
	}
}

func runAnnounce(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf("announce takes no arguments, got %q", c.Args().First())
	}
	o, err := parseCommon(c, slog.LevelInfo)
	if err != nil {
		return err
	}
	svc := announce.Service{Name: c.String("name"), Type: c.String("type")}
	if err := checkName("--name", svc.Name, true); err != nil {
		return err
	}
	if err := checkName("--type", svc.Type, false); err != nil {
		return err
	}
	p := c.Uint("port")
	if p > 65535 {
		return usageErrorf("--port %d: want 0 to 65535", p)
	}
	svc.Port = uint16(p)
	for _, kv := range c.StringSlice("meta") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageErrorf("--meta %q: want KEY=VALUE", kv)
		}
		if svc.Meta == nil {
			svc.Meta = map[string]string{}
		}
		if _, dup := svc.Meta[k]; dup {
			return usageErrorf("--meta %q: key %q given twice", kv, k)
		}
		svc.Meta[k] = v
	}
	interval, ttl := c.Duration("interval"), c.Duration("ttl")
	if interval < 10*time.Millisecond {
		return usageErrorf("--interval %v: want at least 10ms", interval)
	}
	if interval > beacon.MaxTTL/2 {
		return usageErrorf("--interval %v: want at most %v", interval, beacon.MaxTTL/2)
	}
	if ttl != 0 && ttl < 2*interval {
		return usageErrorf("--ttl %v: want at least two intervals (%v), so one late beacon does not make the service flap", ttl, 2*interval)
	}
	if ttl > beacon.MaxTTL {
		return usageErrorf("--ttl %v: want at most %v", ttl, beacon.MaxTTL)
	}
	if h := c.String("hostname"); len(h) > beacon.MaxHostLen || strings.ContainsFunc(h, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return usageErrorf("--hostname %q: want at most %d bytes and no control characters", h, beacon.MaxHostLen)
	}
	cfg := announce.Config{
		Services:    []announce.Service{svc},
		Interval:    interval,
		TTL:         ttl,
		Port:        o.port,
		Group:       o.group,
		Interfaces:  o.ifaces,
		NoBroadcast: o.noBroadcast,
		NoMulticast: o.noMulticast,
		Hostname:    c.String("hostname"),
		Logger:      o.log,
	}
	cfg.ExcludeInterfaces = o.excludes
	s, err := announce.New(cfg)
	if err != nil {
		return runtimeError(err)
	}
	defer s.Close()
	for _, r := range s.Instances() {
		o.log.Info("service", "name", r.Name, "type", r.Type, "port", r.Port, "instance", fmt.Sprintf("%016x", r.Instance), "ttl", r.TTL)
	}
	err = s.Run(c.Context)
	st := s.Stats()
	o.log.Debug("stats", "beacons", st.Beacons, "queries", st.Queries, "replies", st.Replies, "duplicates", st.Duplicates,
		"foreign", st.Foreign, "malformed", st.Malformed, "unsupported", st.Unsupported, "bad_source", st.BadSource,
		"other_iface", st.OtherIface, "overload", st.Overload, "send_errors", st.SendErrors)
	return runtimeError(err)
}

// checkName validates a name or type given on the command line.
func checkName(flag, v string, required bool) error {
	max := beacon.MaxNameLen
	if flag == "--type" {
		max = beacon.MaxTypeLen
	}
	switch {
	case v == "" && required:
		return usageErrorf("%s is required", flag)
	case len(v) > max:
		return usageErrorf("%s %q: %d bytes, want at most %d", flag, v, len(v), max)
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return usageErrorf("%s %q: control characters are not allowed", flag, v)
	}
	return nil
}
