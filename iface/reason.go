package iface

// NotSelectedReason says why i, an interface [Select] passed over when
// given excludes, is not used, in the words of the lanfind command:
// excluded by a pattern of excludes, not usable (see [Interface.Usable]),
// or not named by the names Select was given.
func NotSelectedReason(i Interface, excludes []string) string {
	switch ok, why := i.Usable(); {
	case MatchName(excludes, i.Name):
		return "excluded by --exclude-iface"
	case !ok:
		return why
	default:
		return "not named by --iface"
	}
}
