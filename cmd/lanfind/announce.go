package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/internal/config"
	"github.com/lanfind/lanfind/mdns/publish"
)

func announceCommand() *cli.Command {
	return &cli.Command{
		Name:  "announce",
		Usage: "announce services until interrupted",
		UsageText: "lanfind announce --name NAME [--type TYPE] [--port N] [--meta k=v]... " +
			"[--interval D] [--ttl D] [--iface IF]...\n" +
			"lanfind announce --service NAME:PORT[:TYPE]... [flags]\n" +
			"lanfind announce --config FILE [flags]\n" +
			"lanfind announce --config-dir DIR [flags]",
		Description: "Sends each service's beacon on every selected interface, " +
			"to the subnet broadcast address and\n" +
			"the multicast group, answers queries, and says goodbye on SIGINT or SIGTERM " +
			"(and on SIGHUP,\n" +
			"a closed terminal, when there is no --config file to reload).\n" +
			"Several services: repeat --service, or list them in a --config file " +
			"(see \"lanfind check-config\");\n" +
			"flags given explicitly override the file's top-level settings. " +
			"--config-dir reads every *.toml file of DIR in name order " +
			"(after --config FILE, if given): each\n" +
			"adds its services; a top-level setting may be set by one file only. " +
			"With --config or --config-dir,\n" +
			"SIGHUP reloads the files: added services are announced at once, " +
			"removed ones say goodbye, changed\n" +
			"ones are updated.",
		Flags: commonFlags(
			&cli.StringFlag{
				Name:  "name",
				Usage: "service `NAME`, 1-63 bytes (one service; more with --service or --config)",
			},
			&cli.StringFlag{Name: "type", Usage: "service `TYPE`, e.g. postgres or http"},
			&cli.UintFlag{
				Name: "port",
				Usage: "the announced service's `PORT` (not lanfind's own); " +
					"0 for a service without one",
				DefaultText: "0, with a warning",
			},
			&cli.StringSliceFlag{Name: "meta", Usage: "metadata `KEY=VALUE` (repeatable)"},
			&cli.DurationFlag{
				Name:  "interval",
				Usage: "send a beacon every `D`, 10ms to 12h",
				Value: announce.DefaultInterval,
			},
			&cli.DurationFlag{
				Name: "ttl",
				Usage: "listeners forget the service `D` after its last beacon; " +
					"at least 2 intervals",
				DefaultText: "3 intervals",
			},
			&cli.StringFlag{
				Name:  "hostname",
				Usage: "host `NAME` to announce (default: this host's name)",
			},
			&cli.StringSliceFlag{
				Name:  "service",
				Usage: "one more service, `NAME:PORT[:TYPE]` (repeatable)",
			},
			&cli.StringFlag{
				Name:      "config",
				Usage:     "read services and settings from TOML `FILE`; SIGHUP reloads it",
				TakesFile: true,
			},
			&cli.BoolFlag{
				Name: "take-over",
				Usage: "take over services another lanfind process on this host announces " +
					"(it stops announcing them) instead of failing",
			},
			&cli.StringFlag{
				Name: "config-dir",
				Usage: "read every *.toml file of `DIR` in name order, as --config does; " +
					"SIGHUP reloads them",
				TakesFile: true,
			},
			flagMDNS,
			flagMDNSType,
		),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("announce takes no arguments, got %q", c.Args().First())
			}
			o, s, err := bindShared(c, c.App.ErrWriter, slog.LevelInfo)
			if err != nil {
				return s.exit(err)
			}
			as, err := parseAnnounce(c, &o)
			if err != nil {
				return s.exit(err)
			}
			opts := announceOptions{
				common:   o,
				settings: as,
				takeOver: c.Bool("take-over"),
			}
			return s.exit(runAnnounce(c.Context, s, opts))
		},
	}
}

// announceOptions are announce's flags, merged with its configuration file.
type announceOptions struct {
	common
	settings *announceSettings
	takeOver bool // take services over from another lanfind process on this host
}

func runAnnounce(ctx context.Context, s streams, opts announceOptions) error {
	as := opts.settings
	snd, err := announce.New(announce.Config{
		Services:          as.services,
		Interval:          as.interval,
		TTL:               as.ttl,
		Port:              opts.port,
		Group:             opts.group,
		Interfaces:        opts.ifaces,
		NoBroadcast:       opts.noBroadcast,
		NoMulticast:       opts.noMulticast,
		NoIPv4:            opts.noIPv4,
		NoIPv6:            opts.noIPv6,
		Hostname:          as.hostname,
		Logger:            s.Log,
		Keys:              opts.keys,
		ExcludeInterfaces: opts.excludes,
	})
	if err != nil {
		return runtimeError(err)
	}
	defer snd.Close()
	claims := newInstanceClaims(s.Log)
	defer claims.Close()
	if err := claims.claimAll(snd.Instances(), opts.takeOver); err != nil {
		return runtimeError(err)
	}
	if len(opts.keys) > 0 {
		s.Log.Info("keyed: every datagram is sealed; only listeners with the same "+
			"--secret-file see these services, and clear queries are ignored",
			"keys", len(opts.keys),
			"sealing_key_id", fmt.Sprintf("%016x", opts.keys[0].ID()))
	}
	for _, w := range as.warnings {
		s.Log.Warn(w)
	}
	for _, r := range snd.Instances() {
		s.Log.Info("service",
			"name", r.Name,
			"type", r.Type,
			"port", r.Port,
			"instance", fmt.Sprintf("%016x", r.Instance),
			"ttl", r.TTL)
	}
	if as.file == nil {
		// Nothing to reload: a hang-up (the terminal or SSH session
		// closed) stops the announcer as SIGTERM does, with a goodbye,
		// instead of killing it silently.
		var stop func()
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGHUP)
		defer stop()
	}
	var pub *publish.Publisher
	stopPub := func() error { return nil }
	ps, err := as.mdnsServices(as.services, as.file)
	if err == nil && len(ps) > 0 {
		pub, stopPub, err = startPublisher(ctx, s, opts.common, as.hostname, ps)
	}
	if err != nil {
		return runtimeError(err)
	}
	ctx, quit := context.WithCancel(ctx)
	defer quit()
	stopDaemon := startDaemon(ctx, snd, as, claims, quit, s.Log, func(svcs []announce.Service, fc *config.File) error {
		ps, err := as.mdnsServices(svcs, fc)
		switch {
		case err != nil:
			return err
		case pub == nil && len(ps) > 0:
			return errors.New("services to publish over mDNS, but lanfind started without any: " +
				"restart lanfind to publish them")
		case pub == nil:
			return nil
		}
		return pub.Update(ps)
	})
	release := time.AfterFunc(releaseAfter, releaseStartup)
	err = snd.Run(ctx)
	release.Stop()
	stopDaemon()
	err = errors.Join(err, stopPub())
	st := snd.Stats()
	s.Log.Debug("stats",
		"beacons", st.Beacons,
		"queries", st.Queries,
		"replies", st.Replies,
		"duplicates", st.Duplicates,
		"foreign", st.Foreign,
		"malformed", st.Malformed,
		"unsupported", st.Unsupported,
		"bad_source", st.BadSource,
		"other_iface", st.OtherIface,
		"overload", st.Overload,
		"limited", st.Limited,
		"unresolved", st.Unresolved,
		"slipped", st.Slipped,
		"send_errors", st.SendErrors,
		"sealed", st.Sealed,
		"unsealed", st.Unsealed,
		"rejected", st.Rejected,
		"stale", st.Stale)
	return runtimeError(err)
}

// checkName validates a name or type given on the command line.
func checkName(flag, v string, required bool) error {
	var err error
	switch {
	case flag == "--type":
		err = announce.CheckType(v)
	case required || v != "":
		err = announce.CheckName(v)
	}
	switch {
	case err == nil:
		return nil
	case v == "":
		return usageErrorf("%s %v", flag, err)
	default:
		return usageErrorf("%s %q: %v", flag, v, err)
	}
}
