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
// bytes (one DNS label, and lanfind's longest name) of UTF-8 with no
// control character. Dots and backslashes are allowed: the label stays one
// label on the wire and is escaped in text ([EscapeLabel]).
func ValidInstanceLabel(s string) error {
	switch {
	case len(s) == 0 || len(s) > beacon.MaxNameLen:
		return fmt.Errorf("mdns: instance name %q: %d bytes, want 1 to %d (one DNS label)",
			s, len(s), beacon.MaxNameLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("mdns: instance name %q: not UTF-8", s)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("mdns: instance name %q: control character", s)
	}
	return nil
}

// ValidHostLabel checks the label of a host name "<label>.local" as
// [ValidInstanceLabel] does, and refuses a dot or backslash in it, which
// a host name has no use for.
func ValidHostLabel(s string) error {
	if strings.ContainsAny(s, `.\`) {
		return fmt.Errorf("mdns: host name %q: a dot or backslash in the label", s)
	}
	return ValidInstanceLabel(s)
}

// EscapeLabel returns a label as text, as [Parse] writes it and
// [Message.AppendPack] reads it: a dot inside the label becomes `\.` and a
// backslash `\\` (RFC 6763 §4.3), so that the label "Web.Site" is one
// label of `Web\.Site._http._tcp.local.`.
func EscapeLabel(label string) string {
	if !strings.ContainsAny(label, `.\`) {
		return label
	}
	var b strings.Builder
	writeEscaped(&b, label)
	return b.String()
}

// writeEscaped writes label to b with its dots and backslashes escaped.
func writeEscaped[T string | []byte](b *strings.Builder, label T) {
	for i := 0; i < len(label); i++ {
		if c := label[i]; c == '.' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(label[i])
	}
}

// InstanceName returns the full name of instance label of type t, the
// label escaped: "Office Printer._ipp._tcp.local.",
// `Web\.Site._http._tcp.local.`.
func InstanceName(label string, t ServiceType) string { return EscapeLabel(label) + "." + t.FQDN() }

// SplitInstance splits a full instance name, written as Parse writes it,
// into its label (unescaped) and type. The name must be exactly one label
// and "_name._proto.local.".
func SplitInstance(full string) (label string, t ServiceType, ok bool) {
	labels, err := splitName(full)
	if err != nil || len(labels) != 4 || !strings.EqualFold(labels[3], "local") ||
		!strings.HasPrefix(labels[1], "_") || len(labels[0]) > beacon.MaxNameLen {
		return "", ServiceType{}, false
	}
	proto := strings.ToLower(labels[2])
	if (proto != "_tcp" && proto != "_udp") || ValidServiceName(labels[1][1:]) != nil {
		return "", ServiceType{}, false
	}
	return labels[0], ServiceType{Name: strings.ToLower(labels[1][1:]), Proto: proto[1:]}, true
}

// splitName splits a name written as Parse writes it into its labels,
// unescaped (see [Message.AppendPack] for the rules).
func splitName(name string) ([]string, error) {
	var buf [maxName + 1]byte
	w, err := appendWireName(buf[:0], name)
	if err != nil {
		return nil, err
	}
	var labels []string
	for i := 0; w[i] != 0; i += int(w[i]) + 1 {
		labels = append(labels, string(w[i+1:i+1+int(w[i])]))
	}
	return labels, nil
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
