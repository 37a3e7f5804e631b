package announce

import (
	"fmt"
	"slices"

	"github.com/lanfind/lanfind/internal/link"
)

// newCodec returns the Codec that seals what the Sender sends and opens
// what it receives when cfg has Keys.
func newCodec(cfg Config) (link.Codec, error) {
	if err := cfg.Keys.Validate(); err != nil {
		return link.Codec{}, fmt.Errorf("announce: %w", err)
	}
	return link.Codec{Keys: slices.Clone(cfg.Keys), Window: cfg.ReplayWindow, Now: cfg.now}, nil
}
