// Package seal protects lanfind datagrams with a shared key: it owns the
// key type ([Key], [Keys]), key files ([LoadKeyFile], [WriteKeyFile]), and
// the sealed datagram format ([Keys.Seal], [Keys.Open]). It does no I/O
// on the network and starts no goroutines; announce and discover seal what
// they send and open what they receive when their Config has Keys.
//
// This comment is the specification of the sealed format. The clear
// format it wraps is specified in package beacon.
//
// # Sealed datagram
//
// A sealed datagram carries one whole clear lanfind message (a beacon,
// query, reply or goodbye, magic "LNFD" included) encrypted and
// authenticated with AES-256-GCM (NIST SP 800-38D). All integers are
// big-endian.
//
//	off  len  field
//	  0    4  magic "LNFS" (4c 4e 46 53)
//	  4    1  version: 1
//	  5    3  reserved: senders write 0 (authenticated, so never changed
//	          in transit)
//	  8    8  key ID: the first 8 bytes of HKDF(key material, "key id")
//	 16   12  nonce: random per datagram
//	 28    -  ciphertext of the plaintext below, then the 16-byte GCM tag
//
// The 28-byte clear header (offsets 0 to 27, nonce included) is the AEAD's
// additional data, so a change to any byte of the datagram makes it fail
// to open. The plaintext is
//
//	len  field
//	  8  sent: the sender's clock in Unix milliseconds (signed)
//	  -  the clear lanfind message, as specified in package beacon
//
// [Overhead] is 52 bytes (header 28, timestamp 8, tag 16). A sealed
// datagram obeys the same [beacon.MaxSize] (1200 bytes) as a clear one, so
// the clear message inside is at most [MaxPayload] (1148) bytes; senders
// pack fewer records per datagram and queries carry fewer known answers.
//
// Outsiders see only the header: that this is lanfind, the key ID (which
// datagrams share a key), the size and the time of sending. Service
// names, types, ports, hosts, addresses, metadata, sender IDs, sequence
// numbers and request IDs are inside the ciphertext.
//
// # Keys
//
// Key material is at least [MinKeySize] (32) bytes, written in a key file
// as hex or standard base64 (see [ParseKey]). The AES-256 key and the key
// ID are derived from it with HKDF-SHA256 (RFC 5869), salt
// "lanfind seal v1", info "aead key" (32 bytes) and "key id" (8 bytes).
// The key ID tells a receiver which of its keys to try; it reveals
// nothing about the key.
//
// # Nonces
//
// Each datagram gets a fresh random 96-bit nonce. Random nonces stay safe
// (a repeated nonce has probability below 2⁻³²) for up to 2³² datagrams
// under one key across all its holders (NIST SP 800-38D, 8.3). A LAN of
// 100 announcers sending 2 beacons every 5 seconds, plus replies, stays
// under 100 datagrams a second: more than a year. Rotate keys at least
// that often on such a network.
//
// # Replay
//
// The timestamp lets receivers drop a datagram sent more than a window
// ([DefaultWindow], 30 seconds) before or after their own clock: a
// captured datagram cannot be played back later. Inside the window,
// receivers drop copies by the (sender ID, seq) and (sender ID, request
// ID, attempt) they already use against duplicates, remembering them for
// at least twice the window, and listeners ignore a record whose seq is
// older than that of the record they hold from the same sender. Hosts that share a key must therefore keep
// their clocks within the window of each other (NTP).
//
// # Compatibility
//
//   - The version byte is the major version of the sealed format;
//     receivers drop any other version (counted as unsupported).
//   - Reserved header bytes may gain a meaning in a minor revision; being
//     authenticated, they cannot be used by an attacker to strip it.
//   - Receivers without a key drop sealed datagrams (counted), and
//     receivers with keys drop clear ones (counted): the two modes never
//     mix. Older lanfind releases see the magic "LNFS" as foreign traffic.
//   - The clear message inside follows beacon's compatibility rules.
package seal
