package zone

// MaxLabel is the longest DNS label (RFC 1035 §2.3.4).
const MaxLabel = 63

// Label returns the DNS label for a service name or type (see [Names]), or
// "" when name has no ASCII letter or digit.
//
// [Names]: https://pkg.go.dev/github.com/lanfind/lanfind/internal/zone#hdr-Names
func Label(name string) string {
	b := make([]byte, 0, min(len(name), MaxLabel))
	dash := false // a run of other bytes since the last letter or digit
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		default:
			dash = true
			continue
		}
		if dash && len(b) > 0 {
			b = append(b, '-')
		}
		dash = false
		if len(b) >= MaxLabel {
			break
		}
		b = append(b, c)
	}
	for len(b) > 0 && b[len(b)-1] == '-' {
		b = b[:len(b)-1]
	}
	return string(b)
}
