package doctor

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
)

// TestNSFirewallNft loads real rulesets with nft into a lab host and runs
// the firewall check there, which reads them back with "nft -j list
// ruleset": rules of the input chain, chains reached by jump and goto as
// firewalld and ufw build them, and the port opened.
func TestNSFirewallNft(t *testing.T) {
	t.Parallel()
	requiretest.Need(t, "nft")
	lab := netnstest.New(t, 1)
	h := lab.Hosts[0]
	for _, tc := range []struct {
		name    string
		ruleset string
		want    []string // "level: message" regexps, in order
	}{
		{"input chain", `table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		tcp dport 28471 drop
		udp dport != 28471 drop
		udp dport { 53, 28000-29000 } counter reject
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		udp dport 28471 drop
	}
}
table inet lanfind {
	chain input {
		type filter hook input priority -10; policy drop;
		udp dport 28471 accept
		udp dport 28471 drop
	}
}`, []string{
			`^problem: nftables table inet filter, chain input drops UDP port 28471: "udp dport \{ 53, 28000-29000 \} counter reject"$`,
		}},
		{"policy drop", `table ip filter {
	chain INPUT {
		type filter hook input priority filter; policy drop;
		iifname "eth0" tcp dport 22 accept
	}
}`, []string{
			`^problem: nftables table ip filter, chain INPUT drops by default \(policy drop\) and no rule there accepts UDP port 28471$`,
		}},
		{"maybe accepted", `table ip filter {
	chain INPUT {
		type filter hook input priority filter; policy drop;
		ip saddr 10.0.0.0/8 accept
	}
}`, []string{
			`^note: nftables table ip filter, chain INPUT drops by default \(policy drop\) and no rule there accepts UDP port 28471; an earlier rule may still let it in: "ip saddr 10.0.0.0/8 accept"$`,
			`^ok: no nftables rule drops UDP port 28471$`,
		}},
		// firewalld: the zone's chains end in a reject that no rule
		// for the port comes before.
		{"firewalld", firewalld(""), []string{
			`^problem: nftables table inet firewalld, chain filter_IN_public \(reached from filter_INPUT -> filter_INPUT_ZONES\) drops UDP port 28471: no earlier rule accepts it before "reject"$`,
		}},
		{"firewalld, port added", firewalld("udp dport 28471 accept"), []string{
			`^ok: no nftables rule drops UDP port 28471$`,
		}},
		// ufw: a deny rule in the user chain, three jumps from the hook.
		{"ufw", `table ip filter {
	chain ufw-user-input {
		udp dport 28471 counter drop
	}
	chain ufw-before-input {
		iifname "lo" accept
		ct state related,established accept
		jump ufw-user-input
	}
	chain INPUT {
		type filter hook input priority filter; policy drop;
		jump ufw-before-input
	}
}`, []string{
			`^problem: nftables table ip filter, chain ufw-user-input \(reached from INPUT -> ufw-before-input\) drops UDP port 28471: "udp dport 28471 counter drop"$`,
		}},
		{"empty", ``, []string{`^ok: no nftables rule drops UDP port 28471$`}},
	} {
		file := filepath.Join(t.TempDir(), "rules.nft")
		if err := os.WriteFile(file, []byte("flush ruleset\n"+tc.ruleset+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := h.Run(t, "nft", "-f", file); err != nil {
			t.Fatalf("%s: nft -f: %v\n%s", tc.name, err, out)
		}
		var r report
		h.Do(t, func() { checkFirewall(t.Context(), &r, 28471) })
		t.Run(tc.name, func(t *testing.T) { checkFindings(t, r.findings, tc.want) })
	}
}

// firewalld returns the chains firewalld builds for the public zone (cut
// down), with allow as the zone's allow rule for the port, if any.
func firewalld(allow string) string {
	return `table inet firewalld {
	chain filter_INPUT {
		type filter hook input priority filter + 10; policy accept;
		ct state established,related accept
		iifname "lo" accept
		jump filter_INPUT_ZONES
		ct state invalid drop
		reject with icmpx admin-prohibited
	}
	chain filter_INPUT_ZONES {
		iifname "eth0" goto filter_IN_public
		goto filter_IN_public
	}
	chain filter_IN_public {
		jump filter_IN_public_allow
		meta l4proto { icmp, ipv6-icmp } accept
		reject with icmpx admin-prohibited
	}
	chain filter_IN_public_allow {
		tcp dport 22 accept
		` + allow + `
	}
}`
}
