package mdns

import (
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/lanfind/lanfind/beacon"
)

// Domain is the mDNS domain, with its trailing dot.
const Domain = "local."

// ServicesName is the DNS-SD service type enumeration name (RFC 6763 §9).
const ServicesName = "_services._dns-sd._udp." + Domain

// MaxServiceName is the longest service name of a DNS-SD type (RFC 6335).
const MaxServiceName = 15

// ServiceType is a DNS-SD service type such as _ipp._tcp: Name "ipp",
// Proto "tcp" or "udp".
type ServiceType struct {
	Name  string
	Proto string
}

// String returns the type as "_ipp._tcp".
func (t ServiceType) String() string { return "_" + t.Name + "._" + t.Proto }

// FQDN returns the name browsed for the type: "_ipp._tcp.local.".
func (t ServiceType) FQDN() string { return t.String() + "." + Domain }

// ValidServiceName checks a service name against RFC 6335 §5.1: 1 to 15
// letters, digits and hyphens, at least one letter, no hyphen at either end
// and no two hyphens in a row.
func ValidServiceName(s string) error {
	if len(s) == 0 || len(s) > MaxServiceName {
		return fmt.Errorf("mdns: service name %q: want 1 to %d characters", s, MaxServiceName)
	}
	letter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(s)-1 || s[i-1] == '-' {
				return fmt.Errorf("mdns: service name %q: a hyphen at an end or after another", s)
			}
		default:
			return fmt.Errorf("mdns: service name %q: only letters, digits and hyphens", s)
		}
	}
	if !letter {
		return fmt.Errorf("mdns: service name %q: needs a letter", s)
	}
	return nil
}

// ParseServiceType parses "_ipp._tcp" (a trailing ".local." or "." is
// allowed). A bare "ipp" means "_ipp._tcp".
func ParseServiceType(s string) (ServiceType, error) {
	s = strings.TrimSuffix(strings.TrimSuffix(s, "."), ".local")
	name, proto, found := strings.Cut(s, ".")
	if !found {
		proto = "_tcp"
	}
	if !strings.HasPrefix(name, "_") && found {
		return ServiceType{}, fmt.Errorf("mdns: service type %q: want _name._tcp or _name._udp", s)
	}
	name = strings.TrimPrefix(name, "_")
	proto = strings.ToLower(proto)
	if proto != "_tcp" && proto != "_udp" {
		return ServiceType{}, fmt.Errorf("mdns: service type %q: protocol must be _tcp or _udp", s)
	}
	if err := ValidServiceName(name); err != nil {
		return ServiceType{}, err
	}
	return ServiceType{Name: strings.ToLower(name), Proto: proto[1:]}, nil
}

// ValidInstanceLabel checks an instance label for publishing: 1 to 63
// bytes of UTF-8 with no dot (see the package comment) and no control
// character.
func ValidInstanceLabel(s string) error {
	switch {
	case len(s) == 0 || len(s) > beacon.MaxNameLen:
		return fmt.Errorf("mdns: instance name %q: want 1 to %d bytes", s, beacon.MaxNameLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("mdns: instance name %q: not UTF-8", s)
	case strings.Contains(s, "."):
		return fmt.Errorf("mdns: instance name %q: a dot cannot be published", s)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("mdns: instance name %q: control character", s)
	}
	return nil
}

// InstanceName returns the full name of instance label of type t:
// "Office Printer._ipp._tcp.local.".
func InstanceName(label string, t ServiceType) string { return label + "." + t.FQDN() }

// SplitInstance splits a full instance name into its label and type. The
// label is what precedes "._name._proto.local." and may contain dots.
func SplitInstance(full string) (label string, t ServiceType, ok bool) {
	s := strings.TrimSuffix(full, ".")
	rest, ok := cutSuffixFold(s, ".local")
	if !ok {
		return "", ServiceType{}, false
	}
	i := strings.LastIndexByte(rest, '.')
	if i < 0 {
		return "", ServiceType{}, false
	}
	proto := rest[i+1:]
	rest = rest[:i]
	j := strings.LastIndexByte(rest, '.')
	if j < 1 {
		return "", ServiceType{}, false
	}
	t, err := ParseServiceType(rest[j+1:] + "." + proto)
	if err != nil {
		return "", ServiceType{}, false
	}
	label = unescape(rest[:j])
	if len(label) > beacon.MaxNameLen {
		return "", ServiceType{}, false
	}
	return label, t, true
}

// unescape undoes Parse's escaping of dots and backslashes in a label.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func cutSuffixFold(s, suffix string) (string, bool) {
	if len(s) < len(suffix) || !strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return s, false
	}
	return s[:len(s)-len(suffix)], true
}

// InstanceID returns a stable 64-bit ID for a full instance name: FNV-1a
// of the name in lower case without its trailing dot. The same instance
// gets the same ID on every host and in every run.
func InstanceID(full string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(strings.TrimSuffix(full, "."))))
	return h.Sum64()
}

// HostName returns an SRV target as lanfind shows a host: without the
// trailing dot, or "" if it is longer than a lanfind host name may be.
func HostName(target string) string {
	h := strings.TrimSuffix(target, ".")
	if len(h) > beacon.MaxHostLen {
		return ""
	}
	return h
}

// ErrBadText is returned by Text for metadata that cannot be a TXT record.
var ErrBadText = errors.New("mdns: metadata cannot be a TXT record")

// Meta maps TXT strings to lanfind metadata (RFC 6763 §6): "key=value"
// gives value, a bare "key" gives "", and a string that is empty or starts
// with "=" is ignored. Keys compare case-insensitively and the first one
// wins (§6.4). Pairs beyond lanfind's limits (key 1 to beacon.MaxKeyLen
// bytes, value up to beacon.MaxValueLen bytes, beacon.MaxMeta pairs) are
// dropped; dropped counts them. It returns nil for no pairs.
func Meta(txt []string) (meta map[string]string, dropped int) {
	seen := map[string]bool{}
	for _, s := range txt {
		k, v, _ := strings.Cut(s, "=")
		if k == "" {
			continue
		}
		lk := strings.ToLower(k)
		if seen[lk] {
			continue
		}
		seen[lk] = true
		if len(k) > beacon.MaxKeyLen || len(v) > beacon.MaxValueLen || len(meta) >= beacon.MaxMeta {
			dropped++
			continue
		}
		if meta == nil {
			meta = map[string]string{}
		}
		meta[k] = v
	}
	return meta, dropped
}

// Text returns metadata as TXT strings "key=value", in key order. A key
// containing "=" or longer than 255 bytes with its value is refused.
func Text(meta map[string]string) ([]string, error) {
	txt := make([]string, 0, len(meta))
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		s := k + "=" + meta[k]
		if k == "" || strings.Contains(k, "=") || len(s) > 255 {
			return nil, fmt.Errorf("%w: key %q", ErrBadText, k)
		}
		txt = append(txt, s)
	}
	return txt, nil
}
