package browse

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/internal/mdnsnet"
	"github.com/lanfind/lanfind/mdns"
)

// TestDirectDottedName checks a Browser asked for an instance whose name
// holds a dot ("resolve --mdns web.site"): it asks for the SRV and TXT
// records of the escaped instance name, the question packs, and an SRV
// answer alone is an entry named web.site of the browsed type.
func TestDirectDottedName(t *testing.T) {
	http := mdns.ServiceType{Name: "http", Proto: "tcp"}
	b := &Browser{
		types: []mdns.ServiceType{http},
		name:  "web.site",
		cache: map[string]*cached{},
		bySrc: map[netip.Addr]int{},
		found: map[string]bool{},
		asked: map[string]bool{},
	}
	inst := `web\.site._http._tcp.local.`
	now := time.Now()
	qs, _ := b.questions(now)
	if !slices.Contains(qs, mdns.Question{Name: inst, Type: dnsmessage.TypeSRV}) {
		t.Fatalf("questions %+v lack SRV %s", qs, inst)
	}
	m := mdns.Message{Questions: qs}
	if _, err := m.AppendPack(nil); err != nil {
		t.Fatalf("questions do not pack: %v", err)
	}
	p := mdnsnet.Packet{Src: netip.MustParseAddrPort("10.0.0.9:5353")}
	b.add(mdns.Record{Name: inst, Type: dnsmessage.TypeSRV, TTL: 120, Port: 8080, Target: "h.local."}, now, p)
	view := b.assemble()
	e, ok := view[mdns.InstanceID(inst)]
	if len(view) != 1 || !ok || e.Name != "web.site" || e.Type != http || e.Port != 8080 || e.Instance != inst[:len(inst)-1] {
		t.Errorf("assemble = %+v, want one entry web.site of _http._tcp, port 8080", view)
	}
}

// TestKnownDottedAnswer: a PTR to an instance whose label holds a dot is
// listed as a known answer like any other, and the query packs, so that
// its responder does not answer it again on every repeat.
func TestKnownDottedAnswer(t *testing.T) {
	http := mdns.ServiceType{Name: "http", Proto: "tcp"}
	b := &Browser{
		types: []mdns.ServiceType{http},
		cache: map[string]*cached{},
		bySrc: map[netip.Addr]int{},
		found: map[string]bool{},
		asked: map[string]bool{},
	}
	now := time.Now()
	p := mdnsnet.Packet{Src: netip.MustParseAddrPort("10.0.0.9:5353")}
	ptr := mdns.Record{Name: http.FQDN(), Type: dnsmessage.TypePTR, TTL: 120, Target: `web\.site._http._tcp.local.`}
	b.add(ptr, now, p)
	qs := []mdns.Question{{Name: http.FQDN(), Type: dnsmessage.TypePTR}}
	known := b.knownAnswers(now, qs)
	if len(known) != 1 || known[0].Target != ptr.Target {
		t.Fatalf("known answers %+v, want the PTR to %s", known, ptr.Target)
	}
	m := mdns.Message{Questions: qs, Answers: known}
	if _, err := m.AppendPack(nil); err != nil {
		t.Errorf("the query does not pack: %v", err)
	}
}
