package serve

import (
	"context"

	"github.com/lanfind/lanfind/discover"
)

// ListenerSource is what a Server uses of a discover.Listener.
type ListenerSource interface {
	Run(ctx context.Context, fn func(discover.Event)) error
	Stats() discover.Stats
	Close() error
}

// SetSource makes a Server made from cfg take its events from src
// instead of a discover.Listener.
func SetSource(cfg *Config, src ListenerSource) { cfg.source = src }
