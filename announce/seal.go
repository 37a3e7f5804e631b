package announce

import (
	"fmt"
	"slices"

	"github.com/lanfind/lanfind/internal/endpoint"
)

// newCodec returns the Codec that seals what the Sender sends and opens
// what it receives when cfg has Keys.
func newCodec(cfg Config) (endpoint.Codec, error) {
	if err := cfg.Keys.Validate(); err != nil {
		return endpoint.Codec{}, fmt.Errorf("announce: %w", err)
	}
	return endpoint.Codec{Keys: slices.Clone(cfg.Keys), Window: cfg.ReplayWindow, Now: cfg.now}, nil
}
