package serve

import (
	"context"

	"github.com/lanfind/lanfind/discover"
)

// Source is what a Server uses of a discover.Listener.
type Source interface {
	Run(ctx context.Context, fn func(discover.Event)) error
	Stats() discover.Stats
	Close() error
}

// SetSource makes a Server made from cfg take its events from src
// instead of a discover.Listener.
func SetSource(cfg *Config, src Source) { cfg.source = src }
