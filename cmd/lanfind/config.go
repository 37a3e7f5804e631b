package main

// The announce configuration file (TOML), "lanfind check-config", and the
// repeatable --service flag.

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
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
)

// maxConfigSize bounds what is read of a configuration file: a thousand
// services with metadata fit in a small fraction of it.
const maxConfigSize = 1 << 20

// fileConfig is what an announce configuration file says. Top-level
// settings apply only when set lists their key.
type fileConfig struct {
	path        string
	set         map[string]bool // top-level keys the file sets
	interval    time.Duration
	ttl         time.Duration
	hostname    string
	port        uint16
	group       netip.Addr
	ifaces      []string
	excludes    []string // exclude_interfaces
	noBroadcast bool
	noMulticast bool
	services    []announce.Service
	where       []position // where each service is defined
}

// position is a place in a configuration file, both counted from 1.
type position struct{ line, col int }

// configError is one problem in a configuration file.
type configError struct {
	pos position
	msg string
}

// configErrors is every problem found in one configuration file, in file
// order.
type configErrors struct {
	path string
	errs []configError
}

func (e *configErrors) Error() string { return strings.Join(e.lines(), "\n") }

// lines returns one "FILE:LINE:COL: problem" line per problem.
func (e *configErrors) lines() []string {
	var out []string
	for _, ce := range e.errs {
		if ce.pos.line == 0 {
			out = append(out, fmt.Sprintf("%s: %s", e.path, ce.msg))
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d:%d: %s", e.path, ce.pos.line, ce.pos.col, ce.msg))
	}
	return out
}

// Keys a configuration file may set at the top level, besides [[service]].
var topKeys = []string{"interval", "ttl", "hostname", "interfaces", "exclude_interfaces", "discovery_port", "group", "no_broadcast", "no_multicast"}

// loadConfig reads and checks the configuration file at path. Problems in
// the file come back as a *configErrors listing all of them.
func loadConfig(path string) (*fileConfig, error) {
	data, err := readConfig(path)
	if err != nil {
		return nil, err
	}
	return parseConfig(path, data)
}

func readConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err // *PathError: "read FILE: is a directory"
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxConfigSize)
	}
	return data, nil
}

// parseConfig parses and checks a configuration file's contents. The TOML
// library does the syntax; the rest is checked here so that every problem
// gets the line of the key at fault.
func parseConfig(path string, data []byte) (*fileConfig, error) {
	var raw map[string]any
	if err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			msg := strings.TrimPrefix(de.Error(), "toml: ")
			return nil, &configErrors{path: path, errs: []configError{{position{line, col}, "syntax: " + msg}}}
		}
		return nil, &configErrors{path: path, errs: []configError{{msg: "syntax: " + err.Error()}}}
	}
	c := &checker{idx: indexPositions(data), fc: &fileConfig{path: path, set: map[string]bool{}}}
	for _, k := range c.sortedKeys("", raw) {
		c.top(k, raw[k])
	}
	c.checkTiming()
	c.checkServices()
	if len(c.errs) > 0 {
		slices.SortStableFunc(c.errs, func(a, b configError) int {
			return cmp.Or(cmp.Compare(a.pos.line, b.pos.line), cmp.Compare(a.pos.col, b.pos.col))
		})
		return nil, &configErrors{path: path, errs: c.errs}
	}
	return c.fc, nil
}

// checker turns the decoded TOML into a fileConfig, collecting problems.
type checker struct {
	idx  map[string]position
	fc   *fileConfig
	errs []configError
	bad  map[int]bool // services with a problem already reported
}

func (c *checker) errorf(path, format string, args ...any) {
	c.errs = append(c.errs, configError{c.idx[path], fmt.Sprintf(format, args...)})
}

// sortedKeys returns m's keys in file order.
func (c *checker) sortedKeys(base string, m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		pa, pb := c.idx[join(base, a)], c.idx[join(base, b)]
		return cmp.Or(cmp.Compare(pa.line, pb.line), cmp.Compare(pa.col, pb.col), strings.Compare(a, b))
	})
	return keys
}

func join(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

// tomlType names the TOML type of a decoded value, for messages.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return "a date or time"
	}
}

func (c *checker) top(k string, v any) {
	fc := c.fc
	str := func() (string, bool) {
		s, ok := v.(string)
		if !ok {
			c.errorf(k, "%s: want a string, got %s", k, tomlType(v))
		}
		return s, ok
	}
	boolean := func() bool {
		b, ok := v.(bool)
		if !ok {
			c.errorf(k, "%s: want true or false, got %s", k, tomlType(v))
		}
		return b
	}
	if k != "service" && !slices.Contains(topKeys, k) {
		c.errorf(k, "unknown key %q (known: %s, [[service]])", k, strings.Join(topKeys, ", "))
		return
	}
	fc.set[k] = true
	switch k {
	case "interval", "ttl":
		s, ok := str()
		if !ok {
			return
		}
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			c.errorf(k, "%s %q: want a duration such as \"5s\"", k, s)
		case k == "interval":
			if p := intervalProblem(d); p != "" {
				c.errorf(k, "interval %q: %s", s, p)
			}
			fc.interval = d
		default:
			if d <= 0 {
				c.errorf(k, "ttl %q: want a positive duration", s)
			}
			fc.ttl = d
		}
	case "hostname":
		if s, ok := str(); ok {
			if p := hostnameProblem(s); p != "" {
				c.errorf(k, "hostname %q: %s", s, p)
			}
			fc.hostname = s
		}
	case "group":
		if s, ok := str(); ok {
			g, err := netip.ParseAddr(s)
			if err != nil || !g.Is4() || !g.IsMulticast() {
				c.errorf(k, "group %q: want an IPv4 multicast address such as %s", s, beacon.DefaultGroup)
			}
			fc.group = g
		}
	case "discovery_port":
		n, ok := v.(int64)
		if !ok || n < 1 || n > 65535 {
			c.errorf(k, "discovery_port: want an integer 1 to 65535, got %s", valueText(v))
			return
		}
		fc.port = uint16(n)
	case "no_broadcast":
		fc.noBroadcast = boolean()
	case "no_multicast":
		fc.noMulticast = boolean()
	case "interfaces":
		fc.ifaces = c.ifaceList(k, v)
	case "exclude_interfaces":
		fc.excludes = c.ifaceList(k, v)
	case "service":
		list, ok := v.([]any)
		if !ok {
			c.errorf(k, "service: want [[service]] tables, got %s", tomlType(v))
			return
		}
		for i, e := range list {
			c.service(i, e)
		}
	}
}

// valueText shows a value in a message.
func valueText(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case int64, bool:
		return fmt.Sprint(v)
	}
	return tomlType(v)
}

func (c *checker) service(i int, v any) {
	base := "service." + strconv.Itoa(i)
	c.fc.where = append(c.fc.where, c.idx[base])
	c.fc.services = append(c.fc.services, announce.Service{})
	svc := &c.fc.services[i]
	m, ok := v.(map[string]any)
	if !ok {
		c.errorf(base, "service %d: want a table, got %s", i+1, tomlType(v))
		c.markBad(i)
		return
	}
	str := func(k string, v any) (string, bool) {
		s, ok := v.(string)
		if !ok {
			c.errorf(join(base, k), "%s: want a string, got %s", k, tomlType(v))
			c.markBad(i)
		}
		return s, ok
	}
	for _, k := range c.sortedKeys(base, m) {
		v, path := m[k], join(base, k)
		switch k {
		case "name":
			if s, ok := str(k, v); ok {
				svc.Name = s
				if p := nameProblem(s, beacon.MaxNameLen, true); p != "" {
					c.errorf(path, "name %q: %s", s, p)
					c.markBad(i)
				}
			}
		case "type":
			if s, ok := str(k, v); ok {
				svc.Type = s
				if p := nameProblem(s, beacon.MaxTypeLen, false); p != "" {
					c.errorf(path, "type %q: %s", s, p)
					c.markBad(i)
				}
			}
		case "port":
			n, ok := v.(int64)
			if !ok || n < 0 || n > 65535 {
				c.errorf(path, "port: want an integer 0 to 65535, got %s", valueText(v))
				c.markBad(i)
				continue
			}
			svc.Port = uint16(n)
		case "meta":
			c.meta(i, path, v, svc)
		default:
			c.errorf(path, "unknown key %q in [[service]] (known: name, type, port, meta)", k)
			c.markBad(i)
		}
	}
	if _, ok := m["name"]; !ok {
		c.errorf(base, "service %d: name is required", i+1)
		c.markBad(i)
	}
}

func (c *checker) meta(i int, path string, v any, svc *announce.Service) {
	m, ok := v.(map[string]any)
	if !ok {
		c.errorf(path, "meta: want a table of strings, got %s", tomlType(v))
		c.markBad(i)
		return
	}
	if len(m) > beacon.MaxMeta {
		c.errorf(path, "meta: %d pairs, want at most %d", len(m), beacon.MaxMeta)
		c.markBad(i)
	}
	svc.Meta = map[string]string{}
	for _, k := range c.sortedKeys(path, m) {
		kp := join(path, k)
		s, ok := m[k].(string)
		switch {
		case !ok:
			c.errorf(kp, "meta %q: want a string, got %s", k, tomlType(m[k]))
		case k == "" || len(k) > beacon.MaxKeyLen:
			c.errorf(kp, "meta key %q: %d bytes, want 1 to %d", k, len(k), beacon.MaxKeyLen)
		case hasControl(k):
			c.errorf(kp, "meta key %q: control characters are not allowed", k)
		case len(s) > beacon.MaxValueLen:
			c.errorf(kp, "meta %q: value is %d bytes, want at most %d", k, len(s), beacon.MaxValueLen)
		default:
			svc.Meta[k] = s
			continue
		}
		c.markBad(i)
	}
}

func (c *checker) markBad(i int) {
	if c.bad == nil {
		c.bad = map[int]bool{}
	}
	c.bad[i] = true
}

// checkTiming checks interval and ttl together, as --interval and --ttl.
func (c *checker) checkTiming() {
	fc := c.fc
	if !fc.set["ttl"] || fc.ttl <= 0 {
		return
	}
	interval := announce.DefaultInterval
	if fc.set["interval"] {
		interval = fc.interval
	}
	if p := ttlProblem(fc.ttl, interval); p != "" {
		c.errorf("ttl", "ttl %v: %s", fc.ttl, p)
	}
}

// checkServices runs what announce checks on each service not already
// found faulty, and finds services given twice.
func (c *checker) checkServices() {
	fc := c.fc
	first := map[[2]string]int{}
	for i, svc := range fc.services {
		base := "service." + strconv.Itoa(i)
		k := [2]string{svc.Name, svc.Type}
		if j, dup := first[k]; dup && svc.Name != "" {
			c.errorf(join(base, "name"), "service %q of type %q is already defined at line %d", svc.Name, svc.Type, fc.where[j].line)
			continue
		}
		first[k] = i
		if c.bad[i] {
			continue
		}
		if err := announce.CheckServices(announce.Config{Hostname: fc.hostname, Services: []announce.Service{svc}}); err != nil {
			c.errorf(base, "%s", strings.TrimPrefix(err.Error(), "announce: "))
		}
	}
}

// indexPositions maps every key of a valid TOML document to where it is
// defined. Paths join keys with dots and number the tables of an array
// from 0: "interval", "service.1.meta.version".
func indexPositions(data []byte) map[string]position {
	idx := map[string]position{}
	arrays := map[string]int{} // arrays of tables: path → tables so far
	var p unstable.Parser
	p.Reset(data)
	pos := func(n *unstable.Node) position {
		s := p.Shape(n.Raw).Start
		return position{s.Line, s.Column}
	}
	note := func(path string, at position) {
		if _, ok := idx[path]; !ok {
			idx[path] = at
		}
	}
	// walk resolves the key parts of it under base, descending into the
	// latest table of arrays of tables on the way, and returns the path and
	// where the key starts.
	walk := func(base string, it unstable.Iterator, newElem bool) (string, position) {
		var parts []*unstable.Node
		for it.Next() {
			parts = append(parts, it.Node())
		}
		path, at := base, position{}
		for j, k := range parts {
			path = join(path, string(k.Data))
			if j == 0 {
				at = pos(k)
			}
			note(path, at)
			last := j == len(parts)-1
			if n, ok := arrays[path]; ok && !(last && newElem) {
				path = join(path, strconv.Itoa(n-1))
			}
		}
		return path, at
	}
	var keyValues func(base string, n *unstable.Node)
	value := func(path string, at position, v *unstable.Node) {
		switch v.Kind {
		case unstable.InlineTable:
			keyValues(path, v)
		case unstable.Array:
			it := v.Children()
			for i := 0; it.Next(); i++ {
				e := it.Node()
				ep := join(path, strconv.Itoa(i))
				if e.Kind == unstable.InlineTable {
					if first := e.Child(); first != nil {
						k := first.Key()
						if k.Next() {
							at = pos(k.Node())
						}
					}
					note(ep, at)
					keyValues(ep, e)
				}
			}
		}
	}
	keyValues = func(base string, n *unstable.Node) {
		it := n.Children()
		for it.Next() {
			kv := it.Node()
			path, at := walk(base, kv.Key(), false)
			value(path, at, kv.Value())
		}
	}
	ctx := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			ctx, _ = walk("", e.Key(), false)
		case unstable.ArrayTable:
			path, at := walk("", e.Key(), true)
			n := arrays[path]
			arrays[path] = n + 1
			ctx = join(path, strconv.Itoa(n))
			note(ctx, at)
		case unstable.KeyValue:
			path, at := walk(ctx, e.Key(), false)
			value(path, at, e.Value())
		}
	}
	return idx
}

// Checks shared by flags and the configuration file. Each returns what is
// wrong, or "".

func nameProblem(v string, max int, required bool) string {
	switch {
	case v == "" && required:
		return "is required"
	case len(v) > max:
		return fmt.Sprintf("%d bytes, want at most %d", len(v), max)
	case hasControl(v):
		return "control characters are not allowed"
	}
	return ""
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

func hostnameProblem(h string) string {
	if len(h) > beacon.MaxHostLen || hasControl(h) {
		return fmt.Sprintf("want at most %d bytes and no control characters", beacon.MaxHostLen)
	}
	return ""
}

func intervalProblem(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return "want at least 10ms"
	case d > beacon.MaxTTL/2:
		return fmt.Sprintf("want at most %v", beacon.MaxTTL/2)
	}
	return ""
}

func ttlProblem(ttl, interval time.Duration) string {
	switch {
	case ttl < 2*interval:
		return fmt.Sprintf("want at least two intervals (%v), so one late beacon does not make the service flap", 2*interval)
	case ttl > beacon.MaxTTL:
		return fmt.Sprintf("want at most %v", beacon.MaxTTL)
	}
	return ""
}

// ifaceList reads an array of interface names or globs under key k.
func (c *checker) ifaceList(k string, v any) []string {
	list, ok := v.([]any)
	if !ok {
		c.errorf(k, "%s: want an array of interface names, got %s", k, tomlType(v))
		return nil
	}
	var out []string
	for _, e := range list {
		s, ok := e.(string)
		if !ok || ifaceNameProblem(s) {
			c.errorf(k, "%s: %s is not an interface name", k, valueText(e))
			continue
		}
		out = append(out, s)
	}
	return out
}

func ifaceNameProblem(n string) bool {
	return n == "" || len(n) > 15 || strings.ContainsAny(n, "/ \t\n")
}

// parseServiceFlag parses a --service value, NAME:PORT[:TYPE].
func parseServiceFlag(spec string) (announce.Service, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return announce.Service{}, usageErrorf("--service %q: want NAME:PORT[:TYPE] (a name or type with a colon goes in --name and --type, or a config file)", spec)
	}
	svc := announce.Service{Name: parts[0]}
	if len(parts) == 3 {
		svc.Type = parts[2]
	}
	if p := nameProblem(svc.Name, beacon.MaxNameLen, true); p != "" {
		return svc, usageErrorf("--service %q: name %s", spec, p)
	}
	if p := nameProblem(svc.Type, beacon.MaxTypeLen, false); p != "" {
		return svc, usageErrorf("--service %q: type %s", spec, p)
	}
	port, err := strconv.ParseUint(parts[1], 10, 16)
	if err != nil {
		return svc, usageErrorf("--service %q: port %q: want 0 to 65535", spec, parts[1])
	}
	svc.Port = uint16(port)
	return svc, nil
}

func checkConfigCommand() *cli.Command {
	return &cli.Command{
		Name:      "check-config",
		Usage:     "check an announce configuration file",
		UsageText: "lanfind check-config FILE",
		Description: "Parses FILE as \"lanfind announce --config FILE\" would and runs the checks announce runs on\n" +
			"its services, without touching the network. Prints every problem as FILE:LINE:COLUMN: problem.\n" +
			"Exit status: 0 valid, 1 invalid or unreadable, 2 usage error.",
		Action: runCheckConfig,
	}
}

func runCheckConfig(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("check-config takes one FILE argument, got %d", c.NArg())
	}
	path := c.Args().First()
	fc, err := loadConfig(path)
	if err == nil && len(fc.services) == 0 {
		err = &configErrors{path: path, errs: []configError{{msg: "no [[service]] table: nothing to announce"}}}
	}
	if err != nil {
		return configFailure(c.App, err, exitFailure)
	}
	noun := "services"
	if len(fc.services) == 1 {
		noun = "service"
	}
	fmt.Fprintf(c.App.Writer, "%s: ok, %d %s\n", path, len(fc.services), noun)
	return nil
}

// configFailure returns an error that prints a configuration file's
// problems, one "lanfind: error:" line (or JSON record) each, and exits
// with code.
func configFailure(_ *cli.App, err error, code int) error {
	var ce *configErrors
	if !errors.As(err, &ce) {
		return &exitError{code: code, msg: err.Error()}
	}
	return &exitError{code: code, msg: strings.Join(ce.lines(), "\n")}
}

// announceSettings is what "lanfind announce" runs with, from its flags and
// its configuration file.
type announceSettings struct {
	flagServices []announce.Service // from --name/--type/--port/--meta and --service
	file         *fileConfig        // nil without --config
	services     []announce.Service // flagServices, then the file's
	interval     time.Duration
	ttl          time.Duration
	hostname     string
	explicit     map[string]bool // file keys a flag overrides
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
	}
	for _, spec := range c.StringSlice("service") {
		svc, err := parseServiceFlag(spec)
		if err != nil {
			return nil, err
		}
		as.flagServices = append(as.flagServices, svc)
	}
	as.interval, as.ttl, as.hostname = c.Duration("interval"), c.Duration("ttl"), c.String("hostname")
	for key, flag := range overrides {
		as.explicit[key] = c.IsSet(flag)
	}
	if path := c.String("config"); path != "" {
		fc, err := loadConfig(path)
		if err != nil {
			return nil, configFailure(c.App, err, exitUsage)
		}
		as.file = fc
		as.applyFile(o)
	}
	if len(as.flagServices) == 0 && as.file == nil {
		return nil, usageErrorf("no service to announce: give --name NAME, --service NAME:PORT[:TYPE] or --config FILE")
	}
	if as.services, err = combineServices(as.flagServices, as.file); err != nil {
		return nil, err
	}
	if len(as.services) == 0 {
		return nil, usageErrorf("no service to announce: %s has no [[service]] table and no --service or --name was given", as.file.path)
	}
	if p := intervalProblem(as.interval); p != "" {
		return nil, usageErrorf("%s %v: %s", as.source("interval"), as.interval, p)
	}
	if as.ttl != 0 {
		if p := ttlProblem(as.ttl, as.interval); p != "" {
			return nil, usageErrorf("%s %v: %s", as.source("ttl"), as.ttl, p)
		}
	}
	if p := hostnameProblem(as.hostname); p != "" {
		return nil, usageErrorf("%s %q: %s", as.source("hostname"), as.hostname, p)
	}
	if o.noBroadcast && o.noMulticast {
		return nil, usageErrorf("%s and %s together leave nothing to send with", as.source("no_broadcast"), as.source("no_multicast"))
	}
	return as, nil
}

// source names where a setting comes from, for messages: its flag, or its
// key in the configuration file.
func (as *announceSettings) source(key string) string {
	if as.file != nil && as.file.set[key] && !as.explicit[key] {
		return fmt.Sprintf("%s (in %s)", key, as.file.path)
	}
	return "--" + overrides[key]
}

// applyFile applies the file's top-level settings that no flag overrides.
func (as *announceSettings) applyFile(o *common) {
	fc := as.file
	use := func(key string) bool { return fc.set[key] && !as.explicit[key] }
	if use("interval") {
		as.interval = fc.interval
	}
	if use("ttl") {
		as.ttl = fc.ttl
	}
	if use("hostname") {
		as.hostname = fc.hostname
	}
	if use("interfaces") {
		o.ifaces = fc.ifaces
	}
	if use("exclude_interfaces") {
		o.excludes = fc.excludes
	}
	if use("discovery_port") {
		o.port = fc.port
	}
	if use("group") {
		o.group = fc.group
	}
	if use("no_broadcast") {
		o.noBroadcast = fc.noBroadcast
	}
	if use("no_multicast") {
		o.noMulticast = fc.noMulticast
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
		return nil, usageErrorf("--type, --port and --meta describe the service of --name, which is missing (--service takes NAME:PORT[:TYPE])")
	}
	if err := checkName("--name", svc.Name, true); err != nil {
		return nil, err
	}
	if err := checkName("--type", svc.Type, false); err != nil {
		return nil, err
	}
	p := c.Uint("port")
	if p > 65535 {
		return nil, usageErrorf("--port %d: want 0 to 65535", p)
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
		if _, dup := svc.Meta[k]; dup {
			return nil, usageErrorf("--meta %q: key %q given twice", kv, k)
		}
		svc.Meta[k] = v
	}
	return &svc, nil
}

// combineServices returns the services from flags followed by those of the
// file (if not nil), and fails if two share a name and type.
func combineServices(flags []announce.Service, fc *fileConfig) ([]announce.Service, error) {
	all := slices.Clone(flags)
	type nameType struct{ name, typ string }
	seen := map[nameType]bool{}
	for _, s := range flags {
		k := nameType{s.Name, s.Type}
		if seen[k] {
			return nil, usageErrorf("service %q of type %q is given twice on the command line", s.Name, s.Type)
		}
		seen[k] = true
	}
	if fc != nil {
		for i, s := range fc.services {
			if seen[nameType{s.Name, s.Type}] {
				return nil, usageErrorf("service %q of type %q is given both on the command line and at %s:%d", s.Name, s.Type, fc.path, fc.where[i].line)
			}
		}
		all = append(all, fc.services...)
	}
	return all, nil
}
