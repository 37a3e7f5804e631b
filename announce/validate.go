package announce

import (
	"errors"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/endpoint"
)

// checkServices checks each service's fields on their own, before New
// lists interfaces or opens a socket, so that a bad name, type or metadata
// pair is reported as such whatever the interfaces (and by a command line
// that names no usable one). The size of the beacon depends on the
// addresses, so buildRecords checks it, and everything again, once they
// are in the records.
func checkServices(cfg Config) error {
	for _, svc := range cfg.Services {
		rec := beacon.Service{Name: svc.Name, Type: svc.Type, Port: svc.Port, TTL: cfg.TTL, Host: cfg.Hostname, Meta: svc.Meta}
		if err := checkRecord(rec, beacon.MaxSize); err != nil && !errors.Is(err, beacon.ErrTooBig) {
			return err
		}
	}
	return nil
}

// checkRecord validates one service record as the only one in a beacon
// of at most limit bytes (beacon.MaxSize, less seal.Overhead when keyed).
// Errors match beacon.ErrMalformed or beacon.ErrTooBig.
func checkRecord(rec beacon.Service, limit int) error {
	b := beacon.Beacon{Kind: beacon.KindAnnounce, Services: []beacon.Service{rec}}
	if err := b.Validate(); err != nil {
		if errors.Is(err, beacon.ErrTooBig) {
			return tooBig(rec, b.Size(), limit, err)
		}
		return endpoint.Wrap("announce", err)
	}
	if size := b.Size(); size > limit {
		return tooBig(rec, size, limit, beacon.ErrTooBig)
	}
	return nil
}
