// Package instlock keeps two processes on one host from announcing the
// same service instance: a process claims each instance ID it announces,
// and a second claim of the same ID fails with the holder's process ID,
// or takes the instance over when asked to.
//
// On Linux a claim is a listening unix socket in the abstract namespace
// named after the instance ID ("@lanfind-instance-<16 hex digits>"). The
// kernel releases it when the process ends, however it ends, so a crash
// leaves nothing stale behind, and it is scoped, as instance IDs are, to
// the network namespace. Elsewhere claims always succeed.
//
// It imports only the standard library and nothing of lanfind: what to do
// when an instance is taken over is the caller's.
package instlock
