package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/mdns"
)

// MaxSize bounds what is read of a configuration file: a thousand
// services with metadata fit in a small fraction of it.
const MaxSize = 1 << 20

// Keys are the top-level keys a file may set, besides [[service]].
var Keys = keysOf(settings)

// setting is one top-level key: how [File.Setting] shows its value and
// how [Merge] copies it. settings lists every key once, so that Keys,
// Setting and Merge cannot disagree about which keys there are.
type setting struct {
	key  string
	show func(f *File) string
	copy func(dst, src *File)
}

var settings = []setting{
	{"interval",
		func(f *File) string { return f.Interval.String() },
		func(d, s *File) { d.Interval = s.Interval }},
	{"ttl",
		func(f *File) string { return f.TTL.String() },
		func(d, s *File) { d.TTL = s.TTL }},
	{"hostname",
		func(f *File) string { return strconv.Quote(f.Hostname) },
		func(d, s *File) { d.Hostname = s.Hostname }},
	{"interfaces",
		func(f *File) string { return fmt.Sprintf("%q", f.Interfaces) },
		func(d, s *File) { d.Interfaces = s.Interfaces }},
	{"exclude_interfaces",
		func(f *File) string { return fmt.Sprintf("%q", f.ExcludeInterfaces) },
		func(d, s *File) { d.ExcludeInterfaces = s.ExcludeInterfaces }},
	{"discovery_port",
		func(f *File) string { return strconv.Itoa(int(f.Port)) },
		func(d, s *File) { d.Port = s.Port }},
	{"group",
		func(f *File) string { return f.Group.String() },
		func(d, s *File) { d.Group = s.Group }},
	{"no_broadcast",
		func(f *File) string { return strconv.FormatBool(f.NoBroadcast) },
		func(d, s *File) { d.NoBroadcast = s.NoBroadcast }},
	{"no_multicast",
		func(f *File) string { return strconv.FormatBool(f.NoMulticast) },
		func(d, s *File) { d.NoMulticast = s.NoMulticast }},
	{"no_ipv4",
		func(f *File) string { return strconv.FormatBool(f.NoIPv4) },
		func(d, s *File) { d.NoIPv4 = s.NoIPv4 }},
	{"no_ipv6",
		func(f *File) string { return strconv.FormatBool(f.NoIPv6) },
		func(d, s *File) { d.NoIPv6 = s.NoIPv6 }},
	{"mdns",
		func(f *File) string { return strconv.FormatBool(f.MDNS) },
		func(d, s *File) { d.MDNS = s.MDNS }},
}

func keysOf(ss []setting) []string {
	keys := make([]string, len(ss))
	for i, s := range ss {
		keys[i] = s.key
	}
	return keys
}

// File is what a configuration file says. A top-level setting applies only
// when [File.Sets] reports it set.
type File struct {
	Path              string
	Interval          time.Duration
	TTL               time.Duration
	Hostname          string
	Port              uint16 // discovery_port
	Group             netip.Addr
	Interfaces        []string
	ExcludeInterfaces []string
	NoBroadcast       bool
	NoMulticast       bool
	NoIPv4            bool
	NoIPv6            bool
	// MDNS is the top-level mdns key: publish the services over mDNS too.
	MDNS     bool
	Services []announce.Service
	// ServiceMDNS holds each service's own mdns and mdns_type keys.
	ServiceMDNS []ServiceMDNS
	// Lines holds the line where each of Services is defined.
	Lines []int
	// Files holds the file where each of Services is defined, when not
	// Path (a directory, see [LoadDir]); see [File.Where].
	Files []string

	set map[string]bool // top-level keys the file sets
}

// ServiceMDNS is what a [[service]] table says about mDNS.
type ServiceMDNS struct {
	// Set reports whether the table has an mdns key; On is its value.
	Set, On bool
	// Type is the mdns_type key: the DNS-SD type, such as
	// "_postgresql._tcp"; "" when absent.
	Type string
}

// Sets reports whether the file sets the top-level key.
func (f *File) Sets(key string) bool { return f.set[key] }

// Setting shows the value of a top-level key, or "(default)" when the file
// does not set it, for comparing two versions of a file and for messages.
func (f *File) Setting(key string) string {
	if !f.set[key] {
		return "(default)"
	}
	for _, st := range settings {
		if st.key == key {
			return st.show(f)
		}
	}
	return ""
}

// Problem is one problem in a configuration file. Line and Col count from
// 1; both are 0 for a problem of the whole file. File names the file when
// it is not the Error's Path (a file of a directory); "-" when Msg names
// it already.
type Problem struct {
	Line, Col int
	Msg       string
	File      string
}

// Error is every problem found in one configuration file, in file order.
type Error struct {
	Path     string
	Problems []Problem
}

func (e *Error) Error() string { return strings.Join(e.Lines(), "\n") }

// Lines returns one "FILE:LINE:COL: problem" line per problem.
func (e *Error) Lines() []string {
	var out []string
	for _, p := range e.Problems {
		path := cmp.Or(p.File, e.Path)
		switch {
		case p.File == "-":
			out = append(out, p.Msg)
		case p.Line == 0:
			out = append(out, fmt.Sprintf("%s: %s", path, p.Msg))
		default:
			out = append(out, fmt.Sprintf("%s:%d:%d: %s", path, p.Line, p.Col, p.Msg))
		}
	}
	return out
}

// Load reads and checks the configuration file at path. Problems in the
// file come back as an [*Error] listing all of them; a file that is not a
// regular file is refused before it is opened.
func Load(path string) (*File, error) {
	data, err := read(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

func read(path string) ([]byte, error) {
	// Opening a FIFO for reading blocks until a writer comes, which would
	// hang a reload: open without blocking and refuse what is not a
	// regular file (or a directory, whose read fails below) before reading.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err // *PathError: "read FILE: is a directory"
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxSize)
	}
	return data, nil
}

// The file's schema, as the TOML library decodes it. Pointers tell a key
// the file sets from one it leaves out.
type (
	schema struct {
		Interval          *string   `toml:"interval"`
		TTL               *string   `toml:"ttl"`
		Hostname          *string   `toml:"hostname"`
		Interfaces        *[]string `toml:"interfaces"`
		ExcludeInterfaces *[]string `toml:"exclude_interfaces"`
		DiscoveryPort     *int64    `toml:"discovery_port"`
		Group             *string   `toml:"group"`
		NoBroadcast       *bool     `toml:"no_broadcast"`
		NoMulticast       *bool     `toml:"no_multicast"`
		NoIPv4            *bool     `toml:"no_ipv4"`
		NoIPv6            *bool     `toml:"no_ipv6"`
		MDNS              *bool     `toml:"mdns"`
		Service           []service `toml:"service"`
	}
	service struct {
		Name     *string           `toml:"name"`
		Type     string            `toml:"type"`
		Port     int64             `toml:"port"`
		Meta     map[string]string `toml:"meta"`
		MDNS     *bool             `toml:"mdns"`
		MDNSType string            `toml:"mdns_type"`
	}
)

// Parse checks a configuration file's contents; path names the file in
// problems. The TOML library reports syntax errors, values of the wrong
// type and unknown keys; the rest is checked here, each problem at the
// place of the key at fault.
func Parse(path string, data []byte) (*File, error) {
	var s schema
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var problems []Problem
	if err := dec.Decode(&s); err != nil {
		problems = decodeProblems(err)
		var strict *toml.StrictMissingError
		if !errors.As(err, &strict) {
			return nil, &Error{Path: path, Problems: problems}
		}
		// Only unknown keys: the rest of the file is decoded and checked.
	}
	c := &checker{
		idx:      indexPositions(data),
		f:        &File{Path: path, set: map[string]bool{}},
		problems: problems,
	}
	c.top(&s)
	for i := range s.Service {
		c.service(i, &s.Service[i])
	}
	c.duplicates()
	if len(c.problems) > 0 {
		slices.SortStableFunc(c.problems, func(a, b Problem) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
		})
		return nil, &Error{Path: path, Problems: c.problems}
	}
	return c.f, nil
}

// decodeProblems turns the TOML library's error into problems at the
// places it reports.
func decodeProblems(err error) []Problem {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var out []Problem
		for _, e := range strict.Errors {
			line, col := e.Position()
			out = append(out, Problem{Line: line, Col: col, Msg: unknownKey(e.Key())})
		}
		return out
	}
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return []Problem{{Msg: err.Error()}}
	}
	line, col := de.Position()
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	if len(de.Key()) == 0 {
		msg = "syntax: " + msg
	} else {
		msg = strings.Join(de.Key(), ".") + ": " + msg
	}
	return []Problem{{Line: line, Col: col, Msg: msg}}
}

// unknownKey describes a key the schema does not have.
func unknownKey(k toml.Key) string {
	if len(k) > 1 && k[0] == "service" {
		return fmt.Sprintf("unknown key %q in [[service]] (known: name, type, port, meta, mdns, mdns_type)",
			strings.Join(k[1:], "."))
	}
	return fmt.Sprintf("unknown key %q (known: %s, [[service]])",
		strings.Join(k, "."), strings.Join(Keys, ", "))
}

// checker turns the decoded schema into a File, collecting problems.
type checker struct {
	idx      map[string]position
	f        *File
	problems []Problem
	bad      map[int]bool // services with a problem already reported
}

func (c *checker) errorf(path, format string, args ...any) {
	at := c.idx[path]
	c.problems = append(c.problems, Problem{Line: at.line, Col: at.col, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) top(s *schema) {
	f := c.f
	for k, set := range map[string]bool{
		"interval": s.Interval != nil, "ttl": s.TTL != nil, "hostname": s.Hostname != nil,
		"interfaces": s.Interfaces != nil, "exclude_interfaces": s.ExcludeInterfaces != nil,
		"discovery_port": s.DiscoveryPort != nil, "group": s.Group != nil,
		"no_broadcast": s.NoBroadcast != nil, "no_multicast": s.NoMulticast != nil,
		"no_ipv4": s.NoIPv4 != nil, "no_ipv6": s.NoIPv6 != nil,
		"mdns": s.MDNS != nil,
	} {
		f.set[k] = set
	}
	// duration parses the value of key k; ok is false when it is not a
	// duration (reported here) or outside announce's limits (reported by
	// the caller), so that the ttl is not checked against a bad interval.
	duration := func(k string, v string) (time.Duration, bool) {
		d, err := time.ParseDuration(v)
		if err != nil {
			c.errorf(k, "%s %q: want a duration such as \"5s\"", k, v)
		}
		return d, err == nil
	}
	interval, intervalOK := announce.DefaultInterval, true
	if s.Interval != nil {
		f.Interval, intervalOK = duration("interval", *s.Interval)
		if err := announce.CheckInterval(f.Interval); intervalOK && err != nil {
			c.errorf("interval", "interval %q: %v", *s.Interval, err)
			intervalOK = false
		}
		interval = f.Interval
	}
	if s.TTL != nil {
		var ok bool
		f.TTL, ok = duration("ttl", *s.TTL)
		if err := announce.CheckTTL(f.TTL, interval); ok && intervalOK && err != nil {
			c.errorf("ttl", "ttl %v: %v", f.TTL, err)
		}
	}
	if s.MDNS != nil {
		f.MDNS = *s.MDNS
	}
	if s.Hostname != nil {
		f.Hostname = *s.Hostname
		if err := announce.CheckHostname(f.Hostname); err != nil {
			c.errorf("hostname", "hostname %q: %v", f.Hostname, err)
		}
	}
	if s.Group != nil {
		g, err := netip.ParseAddr(*s.Group)
		if err != nil || !g.Is4() || !g.IsMulticast() {
			c.errorf("group", "group %q: want an IPv4 multicast address such as %s",
				*s.Group, beacon.DefaultGroup)
		}
		f.Group = g
	}
	if s.DiscoveryPort != nil {
		n := *s.DiscoveryPort
		if n < 1 || n > 65535 {
			c.errorf("discovery_port", "discovery_port: want an integer 1 to 65535, got %d", n)
		}
		f.Port = uint16(n)
	}
	if s.NoBroadcast != nil {
		f.NoBroadcast = *s.NoBroadcast
	}
	if s.NoMulticast != nil {
		f.NoMulticast = *s.NoMulticast
	}
	if s.NoIPv4 != nil {
		f.NoIPv4 = *s.NoIPv4
	}
	if s.NoIPv6 != nil {
		f.NoIPv6 = *s.NoIPv6
	}
	if s.Interfaces != nil {
		f.Interfaces = c.ifaceList("interfaces", *s.Interfaces)
	}
	if s.ExcludeInterfaces != nil {
		f.ExcludeInterfaces = c.ifaceList("exclude_interfaces", *s.ExcludeInterfaces)
	}
}

// ifaceList checks an array of interface names or globs under key k.
func (c *checker) ifaceList(k string, list []string) []string {
	var out []string
	for _, s := range list {
		if s == "" || len(s) > 15 || strings.ContainsAny(s, "/ \t\n") {
			c.errorf(k, "%s: %q is not an interface name", k, s)
			continue
		}
		out = append(out, s)
	}
	return out
}

func (c *checker) service(i int, s *service) {
	base := "service." + strconv.Itoa(i)
	c.f.Lines = append(c.f.Lines, c.idx[base].line)
	svc := announce.Service{Type: s.Type, Port: uint16(s.Port)}
	bad := func(path, format string, args ...any) {
		c.errorf(path, format, args...)
		if c.bad == nil {
			c.bad = map[int]bool{}
		}
		c.bad[i] = true
	}
	if s.Port < 0 || s.Port > 65535 {
		bad(base+".port", "port: want an integer 0 to 65535, got %d", s.Port)
	}
	if s.Name == nil {
		bad(base, "service %d: name is required", i+1)
	} else {
		svc.Name = *s.Name
		if err := announce.CheckName(svc.Name); err != nil {
			bad(base+".name", "name %q: %v", svc.Name, err)
		}
	}
	if err := announce.CheckType(svc.Type); err != nil {
		bad(base+".type", "type %q: %v", svc.Type, err)
	}
	if s.Meta != nil {
		mp := base + ".meta"
		if len(s.Meta) > beacon.MaxMeta {
			bad(mp, "meta: %d pairs, want at most %d", len(s.Meta), beacon.MaxMeta)
		}
		svc.Meta = map[string]string{}
		for k, v := range s.Meta {
			kp := mp + "." + k
			if err := announce.CheckMetaKey(k); err != nil {
				bad(kp, "meta key %q: %v", k, err)
				continue
			}
			if err := announce.CheckMetaValue(v); err != nil {
				bad(kp, "meta %q: %v", k, err)
				continue
			}
			svc.Meta[k] = v
		}
	}
	m := ServiceMDNS{Type: s.MDNSType}
	if s.MDNS != nil {
		m.Set, m.On = true, *s.MDNS
	}
	if s.MDNSType != "" {
		if _, err := mdns.ParseServiceType(s.MDNSType); err != nil || !strings.HasPrefix(s.MDNSType, "_") {
			bad(base+".mdns_type", "mdns_type %q: want a DNS-SD type such as \"_postgresql._tcp\" "+
				"(1-15 letters, digits and hyphens, then _tcp or _udp)", s.MDNSType)
		}
	}
	c.f.ServiceMDNS = append(c.f.ServiceMDNS, m)
	c.f.Services = append(c.f.Services, svc)
}

// duplicates finds services given twice, and runs what announce checks on
// each other service not already found faulty.
func (c *checker) duplicates() {
	dup := map[int]bool{}
	for i, first := range announce.Duplicates(c.f.Services) {
		svc := c.f.Services[i]
		if svc.Name == "" {
			continue // a missing name is reported
		}
		dup[i] = true
		c.errorf("service."+strconv.Itoa(i)+".name",
			"service %q of type %q is already defined at line %d",
			svc.Name, svc.Type, c.f.Lines[first])
	}
	for i, svc := range c.f.Services {
		if dup[i] || c.bad[i] {
			continue
		}
		cfg := announce.Config{Hostname: c.f.Hostname, Services: []announce.Service{svc}}
		if err := announce.CheckServices(cfg); err != nil {
			c.errorf("service."+strconv.Itoa(i), "%s",
				strings.TrimPrefix(err.Error(), "announce: "))
		}
	}
}
