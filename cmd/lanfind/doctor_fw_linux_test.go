package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCheckFirewallTools runs checkFirewall against stand-in nft and
// iptables-save commands: the findings for a ruleset, for a tool that fails
// (no root), and for no tool at all.
func TestCheckFirewallTools(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tools map[string]string // command name to shell script body
		want  []string
	}{
		{"nft drops the port", map[string]string{
			"nft": `printf 'table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tudp dport 28471 drop\n\t}\n}\n'`,
		}, []string{`^problem: nftables table inet filter, chain input drops UDP port 28471: "udp dport 28471 drop"$`}},
		{"not root", map[string]string{
			"nft": `echo 'netlink: Error: cache initialization failed: Operation not permitted' >&2; exit 1`,
		}, []string{`^note: could not read the nftables rules \(nft list ruleset\): netlink: Error: cache initialization failed: Operation not permitted$`}},
		{"iptables only", map[string]string{
			"iptables-save": `printf '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp -m udp --dport 28471 -j REJECT\nCOMMIT\n'`,
		}, []string{`^problem: iptables table filter, chain INPUT drops UDP port 28471: "-A INPUT -p udp -m udp --dport 28471 -j REJECT"$`}},
		{"nft and legacy iptables", map[string]string{
			"nft":                  `true`,
			"iptables-legacy-save": `printf '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n'`,
		}, []string{`^ok: no nftables or iptables-legacy rule drops UDP port 28471$`}},
		{"no tool", nil, []string{`^note: firewall not checked: neither nft nor iptables-save is installed$`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.tools {
				if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("PATH", dir) // only the stand-ins; the scripts use shell builtins
			var r report
			checkFirewall(t.Context(), &r, 28471)
			checkFindings(t, r.findings, tc.want)
		})
	}
}
