package announce

import "github.com/lanfind/lanfind/internal/link"

// newCodec returns the Codec that seals what the Sender sends and opens
// what it receives when cfg has Keys.
func newCodec(cfg Config) link.Codec {
	return link.Codec{Keys: cfg.Keys, Window: cfg.ReplayWindow, Now: cfg.now}
}
