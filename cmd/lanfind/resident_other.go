//go:build !linux

package main

import "runtime/debug"

// releaseStartup returns the heap that starting up left as garbage; see
// the Linux version, which also drops the executable's pages.
func releaseStartup() { debug.FreeOSMemory() }
