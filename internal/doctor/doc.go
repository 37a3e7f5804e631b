// Package doctor checks a host the way a user debugs a silent LAN, and
// returns what it finds as [Finding] values for the command to print:
//
//	ok: …        this part works
//	note: …      worth knowing, not a fault
//	problem: …   this keeps lanfind from working
//	  hint: …    what to do about the problem above
//
// [Run] checks, in order: interfaces (selected and why others are not),
// the lanfind port (free, shared, or held by a process that blocks it),
// whether the IPv6 socket opens (a problem only where an interface in use
// has IPv6: IPv4 goes on working), local firewall rules for the port,
// multicast group membership (IPv4 group in /proc/net/igmp, IPv6 group
// in /proc/net/igmp6), whether this host hears its own probe on each
// interface and family, and, with
// [Config.Peer], why a named service is or is not seen. The probe is a
// query for a name nobody announces (or for the peer's name), sent once
// per destination and attempt: acceptable only because a user asked for
// the check. The probe's sockets, codec, destinations and read path are
// those of an [endpoint.Endpoint], as announce's and discover's are: what
// the endpoint drops is counted there and reported from its
// [endpoint.Drops]; only what is heard on interfaces lanfind does not use
// is kept as well, to be reported.
//
// What it reads of the system lives in _linux.go files: the socket table
// and multicast memberships in /proc, and the firewall rules from nft and
// iptables-save, the only programs lanfind runs (os/exec is used here and
// nowhere else in the command). Other systems get fallbacks that say what
// was not checked.
//
// Everything it prints of what it hears or reads is made safe for a
// terminal ([termtext.Clean]); the JSON form of a Finding is documented
// and stable.
//
// It must not import urfave/cli or anything of the command, and does not
// print: the command formats the findings.
package doctor
