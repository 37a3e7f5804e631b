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
// # Neighbours only
//
// lanfind talks to hosts on the same link. A datagram whose source address
// lies outside every subnet of the interface it arrived on (routed here,
// or forged by someone far away) is dropped before it is parsed and
// counted in Stats.OffLink; so is one from a subnet's broadcast or
// network address, which no host owns (a service listed there would make
// its clients broadcast to the whole LAN). Datagrams this host sends
// itself arrive on the loopback interface and count as arriving on the
// interface that owns their source address.
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
// matching Config.Name once the answers to its query are in (a quiet
// window), so that an instance two announcers claim comes back marked as a
// conflict. [Listener.Run] streams
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
// # Keyed mode
//
// With Config.Keys (see package [seal]), queries are sealed and only
// datagrams that open with one of the keys and were sent within
// Config.ReplayWindow of this host's clock are used: results then have
// Verified set. Clear datagrams, datagrams under other keys, altered or
// forged ones and stale replays are dropped and counted (Stats fields
// Unsealed, Rejected, Stale); a Listener without keys drops and counts
// sealed datagrams (Stats.Sealed). Replays inside the window are copies of
// messages already seen and change nothing.
//
// # Expiry
//
// An entry that no beacon refreshes within its TTL is reported down with
// reason "expired"; a goodbye removes it at once with reason "goodbye". A
// datagram its announcer sent before the goodbye (by sequence number) but
// that is handled after it, such as a reply that took the other socket,
// does not bring it back.
//
// # Sequence numbers in clear mode
//
// Without keys anyone can forge a sender's datagrams, sequence number
// included, so a Listener believes the order they give only as far as
// reordering needs it. A record rules out older ones of its sender, and a
// goodbye the records sent before it, for a second after it was heard;
// then an older record is taken again, and marks the instance as a
// conflict (Result.Conflict) for a minute: one sender's datagrams that go
// back are forged. A sequence number more than 65536 away from the record
// held is not believed until a second datagram continues it, and a
// goodbye that far ahead never is; both are counted in
// Stats.Implausible. In keyed mode sequence numbers are sealed: the order
// holds for as long as the replay window lets a captured datagram in. A
// sealed record of a new sender of an instance, sealed before the first
// datagram of a process of that instance already heard, comes from an
// older process (a replay across a restart): it neither replaces the newer
// process nor shows a conflict, and is counted in Stats.Superseded.
//
// # Interface changes
//
// With a lister that reports changes (the default system lister does) a
// Listener follows interfaces as they come and go: it joins the group on a
// new interface and, during an operation, sends a query there at once. The
// paths through an interface that went away (removed, such as an unplugged
// USB adapter, set down, or no longer selected) are dropped; an instance
// heard through no other interface is reported down with reason
// "iface-down" ([ReasonIfaceDown]). A link that only lost its carrier (a
// cable pulled) is still there: instances heard through it expire. [New]
// still fails when no interface is usable at start.
//
// A Listener starts following changes with its first [Listener.Run], or
// once a [Listener.Collect] or [Listener.Resolve] has lasted a second
// (changes since [New] listed the interfaces count then): a one-shot
// search that ends sooner neither subscribes to changes nor lists the
// interfaces again.
//
// [announce]: https://pkg.go.dev/github.com/lanfind/lanfind/announce
// [seal]: https://pkg.go.dev/github.com/lanfind/lanfind/seal
package discover
