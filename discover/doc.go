// Package discover finds services that [announce] senders make known on the
// local network.
//
// A [Listener] binds the lanfind port on the empty address (every
// interface), joins the multicast group on each selected interface, and
// learns each datagram's arrival interface and destination from IPv4
// control messages. It sends queries from a second socket of its own, on an
// ephemeral port, so that unicast replies reach this process and no other
// lanfind process on the host can swallow them. A query carries a random
// 64-bit request ID that replies must echo; replies with any other ID are
// dropped and counted.
//
// # One-shot and streaming forms
//
// [Listener.Collect] queries and returns every instance once the answers
// have settled: queries repeat, each repeat listing the instances already
// heard (known answers) so their owners stay quiet. Once answers have been
// heard, repeats go every quiet window (60 ms) and Collect returns once
// three in a row bring nothing new: a single quiet repeat proves little on
// a lossy LAN, where the answer to the repeat may be lost as well. Repeats
// that go unanswered back off exponentially (0, 100, 300, 700 ms, …).
// [Listener.Resolve] returns the first instance
// matching Config.Name the moment it arrives. [Listener.Run] streams
// [Event]s (up, update, down) until its context ends.
//
// # Duplicates, restarts and conflicts
//
// One beacon arrives by broadcast and by multicast, and possibly on several
// interfaces; copies are recognised by the (sender ID, sequence number) the
// beacon carries, and each instance appears once with every interface and
// source address it was seen through. An instance that comes back from the
// same address under a new sender ID (a restarted announcer) replaces its
// old entry at once. One instance ID heard from two different source
// addresses at the same time (cloned machines) is listed twice, marked
// Conflict, and logged as a warning.
//
// # Expiry
//
// An entry that no beacon refreshes within its TTL is reported down with
// reason "expired"; a goodbye removes it at once with reason "goodbye".
//
// [announce]: https://pkg.go.dev/github.com/lanfind/lanfind/announce
package discover
