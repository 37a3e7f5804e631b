package doctor

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lanfind/lanfind/internal/termtext"
)

// checkFirewall looks for local firewall rules that drop the port: in
// "nft -j list ruleset" (following jumps, so the chains firewalld and ufw
// build are judged too), or in "iptables-save" where nft is missing, and
// in "iptables-legacy-save" where that exists (legacy rules are not in
// nft's view). Reading the rules needs root; without it the check says so.
func checkFirewall(ctx context.Context, r *report, port uint16) {
	var tools []string
	blocked := false
	read := func(tool, name string, args []string, judge func([]byte) ([]Finding, bool, error)) bool {
		path, err := exec.LookPath(name)
		if err != nil {
			return false
		}
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		var stderr strings.Builder
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			msg := stderr.String()
			if strings.TrimSpace(msg) == "" {
				msg = err.Error()
			}
			// One line: nft explains itself in several.
			r.add(LevelNote, "firewall", "run lanfind doctor as root to check the firewall",
				"could not read the %s rules (%s): %s", tool,
				strings.Join(append([]string{name}, args...), " "), termtext.OneLine(msg, 200))
			return true
		}
		fs, drops, err := judge(out)
		if err != nil {
			r.add(LevelNote, "firewall", "", "could not read the %s rules: %s", tool,
				termtext.Clean(err.Error(), 200))
			return true
		}
		tools = append(tools, tool)
		r.findings = append(r.findings, fs...)
		blocked = blocked || drops
		return true
	}
	iptables := func(out []byte) ([]Finding, bool, error) {
		var ir report
		drops := firewallFindings(&ir, parseIptablesSave(string(out), port), port)
		return ir.findings, drops, nil
	}
	found := read("nftables", "nft", []string{"-j", "list", "ruleset"},
		func(out []byte) ([]Finding, bool, error) { return judgeNft(out, port) })
	if !found {
		found = read("iptables", "iptables-save", nil, iptables)
	}
	if read("iptables-legacy", "iptables-legacy-save", nil, iptables) {
		found = true
	}
	switch {
	case !found:
		r.add(LevelNote, "firewall", "",
			"firewall not checked: neither nft nor iptables-save is installed")
	case len(tools) > 0 && !blocked:
		r.add(LevelOK, "firewall", "", "no %s rule drops UDP port %d",
			strings.Join(tools, " or "), port)
	}
}

// fwChain is one iptables chain, reduced to what matters for lanfind's
// port: its hook, its default policy and the rules that match UDP packets
// to the port.
type fwChain struct {
	Tool   string // "iptables"
	Table  string // "inet filter", "filter"
	Name   string
	Hook   string // input, prerouting, output, forward; "" for a chain other rules jump to
	Policy string // accept or drop; "" when none
	Rules  []fwRule
}

// fwRule is a rule that matches UDP packets to the port.
type fwRule struct {
	Text    string
	Verdict string // accept, drop (reject counts as drop), or "" (e.g. counter, log, jump)
}

// parseIptablesSave reads "iptables-save" output likewise.
func parseIptablesSave(text string, port uint16) []fwChain {
	var chains []fwChain
	idx := map[string]int{}
	var table string
	chain := func(name string) *fwChain {
		k := table + " " + name
		if i, ok := idx[k]; ok {
			return &chains[i]
		}
		c := fwChain{Tool: "iptables", Table: table, Name: name}
		switch name {
		case "INPUT", "OUTPUT", "PREROUTING", "FORWARD":
			c.Hook = strings.ToLower(name)
		}
		idx[k] = len(chains)
		chains = append(chains, c)
		return &chains[len(chains)-1]
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "*"):
			table = line[1:]
		case strings.HasPrefix(line, ":") && len(f) >= 2:
			c := chain(line[1:strings.IndexByte(line+" ", ' ')])
			if f[1] != "-" {
				c.Policy = strings.ToLower(f[1])
			}
		case len(f) >= 2 && f[0] == "-A":
			c := chain(f[1])
			if !iptablesUDP(f) {
				continue
			}
			for i := 0; i+1 < len(f); i++ {
				switch f[i] {
				case "--dport", "--destination-port", "--dports", "--destination-ports":
					if i > 0 && f[i-1] == "!" {
						continue
					}
					if portIn(f[i+1], port, ",", ":") {
						verdict := ""
						if j := slices.Index(f, "-j"); j >= 0 && j+1 < len(f) {
							verdict = verdictOf([]string{strings.ToLower(f[j+1])})
						}
						c.Rules = append(c.Rules, fwRule{Text: line, Verdict: verdict})
					}
				}
			}
		}
	}
	return chains
}

func iptablesUDP(f []string) bool {
	for i := 0; i+1 < len(f); i++ {
		if (f[i] == "-p" || f[i] == "--protocol") && (i == 0 || f[i-1] != "!") {
			return f[i+1] == "udp" || f[i+1] == "17"
		}
	}
	return false
}

// verdictOf returns the verdict among a rule's words.
func verdictOf(words []string) string {
	for _, w := range words {
		switch strings.TrimSuffix(w, ";") {
		case "drop", "reject":
			return "drop"
		case "accept":
			return "accept"
		}
	}
	return ""
}

// portIn reports whether port is in list, items separated by sep, each a
// number or a range lo<rng>hi. Names (e.g. "domain") never match.
func portIn(list string, port uint16, sep, rng string) bool {
	for item := range strings.SplitSeq(list, sep) {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, rng)
		if !isRange {
			hi = lo
		}
		l, err1 := strconv.ParseUint(lo, 10, 16)
		h, err2 := strconv.ParseUint(hi, 10, 16)
		if err1 == nil && err2 == nil && uint64(port) >= l && uint64(port) <= h {
			return true
		}
	}
	return false
}

// firewallFindings turns iptables chains into findings: a drop rule for
// the port that no earlier rule of its chain accepts is a problem; a
// receiving chain that drops by default without a rule accepting the port
// is a note (an earlier, broader rule may accept the traffic). It reports
// whether a rule drops the port.
func firewallFindings(r *report, chains []fwChain, port uint16) bool {
	blocked := false
	for _, c := range chains {
		if c.Hook == "forward" {
			continue
		}
		where := fmt.Sprintf("%s table %s, chain %s", c.Tool, c.Table, c.Name)
		accepted := false
		for _, rule := range c.Rules {
			switch rule.Verdict {
			case "accept":
				accepted = true
			case "drop":
				if accepted {
					continue
				}
				blocked = true
				r.add(LevelProblem, "firewall",
					"remove that rule, or accept UDP port "+strconv.Itoa(int(port))+" before it",
					"%s drops UDP port %d: %q", where, port, termtext.Clean(rule.Text, 200))
			}
		}
		if (c.Hook == "input" || c.Hook == "prerouting") && c.Policy == "drop" && !accepted {
			r.add(LevelNote, "firewall",
				fmt.Sprintf("if lanfind hears nothing, accept UDP port %d there", port),
				"%s drops by default (policy drop) and no rule there accepts UDP port %d; an "+
					"earlier rule may still let beacons in", where, port)
		}
	}
	return blocked
}
