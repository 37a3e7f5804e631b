package announce

import (
	"slices"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
)

// send sends recs as announcements or goodbyes to every target.
func (s *Sender) send(kind beacon.Kind, recs []beacon.Service) {
	s.sendTo(kind, recs, s.ep.Plan().Targets)
}

// sendTo sends recs as announcements or goodbyes to targets.
func (s *Sender) sendTo(kind beacon.Kind, recs []beacon.Service, targets []iface.Target) {
	if len(targets) == 0 {
		return
	}
	if kind == beacon.KindGoodbye {
		s.write(s.packGoodbye(recs), targets)
		return
	}
	s.write(s.pack(kind, 0, recs), targets)
}

// packGoodbye packs goodbyes (announcements with TTL 0) for recs.
func (s *Sender) packGoodbye(recs []beacon.Service) [][]byte {
	recs = slices.Clone(recs)
	for i := range recs {
		recs[i].TTL = 0
	}
	return s.pack(beacon.KindGoodbye, 0, recs)
}

// write sends each datagram to each target.
func (s *Sender) write(pkts [][]byte, targets []iface.Target) {
	for _, p := range pkts {
		for _, t := range targets {
			_, err := s.conn.WriteTo(p, t.Dst, t.IfIndex)
			s.noteSend(t, err)
		}
	}
}

// pack marshals records into as few datagrams as fit under beacon.MaxSize
// (less seal.Overhead when keyed).
// Each datagram gets its own sequence number: (sender, seq) names one
// message for receivers' duplicate suppression.
func (s *Sender) pack(kind beacon.Kind, request uint64, recs []beacon.Service) [][]byte {
	var out [][]byte
	for len(recs) > 0 {
		// A datagram's size is its header and record count plus its
		// records' sizes (beacon.Beacon.Size), summed as records are
		// added rather than recounted for each.
		n, size := 1, beacon.HeaderSize+1+recs[0].Size()
		for n < len(recs) && n < beacon.MaxServices {
			size += recs[n].Size()
			if size > s.ep.Codec.Budget() {
				break
			}
			n++
		}
		b := beacon.Beacon{
			Kind:      kind,
			Sender:    s.id,
			Seq:       s.seq.Add(1),
			RequestID: request,
			Services:  recs[:n],
		}
		p, err := s.ep.Codec.Encode(&b)
		if err != nil { // New validated every record alone, so this is a bug
			s.log.Error("marshal failed", "name", recs[0].Name, "err", err)
		} else {
			out = append(out, p)
		}
		recs = recs[n:]
	}
	return out
}
