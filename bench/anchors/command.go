package anchors

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Type is the DNS-SD service type every anchor announces and browses.
const Type = "_bench._udp"

// Service is one service to announce.
type Service struct {
	Name string
	Port uint16
}

// Command is a parsed anchor command line.
type Command struct {
	Name     string // announce, list, resolve or watch
	Host     string // announce: host name, without .local
	Addr     net.IP // announce: the host's IPv4 address
	Services []Service
	Timeout  time.Duration // list: browse time; resolve: give up after
	Interval time.Duration // watch: time between queries, where the anchor polls
	Target   string        // resolve: the instance name
}

// Parse parses os.Args of the anchor prog; it exits with status 2 on a
// usage error, as the flag package does.
func Parse(prog string) Command {
	if len(os.Args) < 2 {
		fmt.Fprintf(os.Stderr, "usage: %s announce|list|resolve|watch [flags]\n", prog)
		os.Exit(2)
	}
	c := Command{Name: os.Args[1]}
	fs := flag.NewFlagSet(prog+" "+c.Name, flag.ExitOnError)
	fs.StringVar(&c.Host, "host", "", "host name (announce)")
	addr := fs.String("addr", "", "IPv4 address (announce)")
	services := fs.String("services", "", "NAME:PORT,... (announce)")
	fs.DurationVar(&c.Timeout, "timeout", time.Second, "browse time (list); give up after (resolve)")
	fs.DurationVar(&c.Interval, "interval", 5*time.Second, "time between queries (watch, where the anchor polls)")
	fs.Parse(os.Args[2:])
	usage := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s: "+format+"\n", append([]any{prog}, args...)...)
		os.Exit(2)
	}
	switch c.Name {
	case "announce":
		if c.Addr = net.ParseIP(*addr).To4(); c.Addr == nil || c.Host == "" {
			usage("announce needs -host and an IPv4 -addr")
		}
		for s := range strings.SplitSeq(*services, ",") {
			name, port, _ := strings.Cut(s, ":")
			p, err := strconv.ParseUint(port, 10, 16)
			if name == "" || err != nil {
				usage("bad service %q: want NAME:PORT", s)
			}
			c.Services = append(c.Services, Service{Name: name, Port: uint16(p)})
		}
	case "resolve":
		if c.Target = fs.Arg(0); c.Target == "" {
			usage("resolve needs a NAME")
		}
	case "list", "watch":
	default:
		usage("unknown command %q", c.Name)
	}
	return c
}
