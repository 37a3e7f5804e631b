// Package link is a forwarding shim, kept only while the doctor probe
// moves out of cmd/lanfind: it names what now lives in
// [github.com/lanfind/lanfind/internal/endpoint]. Delete it as soon as
// nothing imports it; new code imports internal/endpoint. It must import
// nothing but internal/endpoint.
package link

import "github.com/lanfind/lanfind/internal/endpoint"

// Codec is [endpoint.Codec].
type Codec = endpoint.Codec

// Drop reasons; see [endpoint.Drop].
const (
	Foreign     = endpoint.Foreign
	Malformed   = endpoint.Malformed
	Unsupported = endpoint.Unsupported
	Sealed      = endpoint.Sealed
	Unsealed    = endpoint.Unsealed
	Rejected    = endpoint.Rejected
	Stale       = endpoint.Stale
)

// RandomID is [endpoint.RandomID].
func RandomID() uint64 { return endpoint.RandomID() }
