package doctor

// nftables rules as "nft -j list ruleset" gives them (JSON), judged by
// following every chain a datagram to lanfind's port can reach from an
// input hook: through jumps and gotos into the chains firewalld and ufw
// build, to the verdict that decides it.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// nftRuleset is the part of nft's JSON schema (libnftables-json(5)) the
// check reads.
type nftRuleset struct {
	Nftables []struct {
		Chain *nftChain `json:"chain"`
		Rule  *nftRule  `json:"rule"`
	} `json:"nftables"`
}

type nftChain struct {
	Family, Table, Name string
	Type, Hook, Policy  string
	rules               []*nftRule
}

type nftRule struct {
	Family, Table, Chain string
	Expr                 []map[string]json.RawMessage
}

func (c *nftChain) where() string {
	return fmt.Sprintf("nftables table %s %s, chain %s", c.Family, c.Table, c.Name)
}

// tri is what a rule's condition says about a datagram to the port: it
// matches (yes), cannot (no), or depends on what doctor cannot know, such
// as the interface or source address (maybe).
type tri int

const (
	no tri = iota
	maybe
	yes
)

// maxNftDepth bounds the jumps followed (nft allows 16).
const maxNftDepth = 16

// nftJudge follows the chains of one ruleset for a UDP datagram to port.
type nftJudge struct {
	port   uint16
	chains map[string]*nftChain // by family, table and name
	order  []*nftChain
	// per base chain: rules passed that might accept the datagram
	maybeAccept []string
	findings    []Finding
	blocked     bool
}

// judgeNft reads nft's JSON output and returns its findings about port,
// and whether a rule or policy drops it.
func judgeNft(data []byte, port uint16) ([]Finding, bool, error) {
	var rs nftRuleset
	if err := json.Unmarshal(data, &rs); err != nil {
		return nil, false, fmt.Errorf("nft -j: %w", err)
	}
	j := &nftJudge{port: port, chains: map[string]*nftChain{}}
	key := func(family, table, name string) string { return family + " " + table + " " + name }
	for _, o := range rs.Nftables {
		if c := o.Chain; c != nil {
			j.chains[key(c.Family, c.Table, c.Name)] = c
			j.order = append(j.order, c)
		}
	}
	for _, o := range rs.Nftables {
		if r := o.Rule; r != nil {
			if c := j.chains[key(r.Family, r.Table, r.Chain)]; c != nil {
				c.rules = append(c.rules, r)
			}
		}
	}
	for _, c := range j.order {
		if !receives(c) {
			continue
		}
		j.maybeAccept = nil
		if j.walk(c, nil, 0) == "" && c.Policy == "drop" {
			j.dropped(c, nil, "", false, "drops by default (policy drop) and no rule there accepts "+
				"UDP port "+strconv.Itoa(int(port)))
		}
	}
	return j.findings, j.blocked, nil
}

// receives reports whether c is a base chain that filters datagrams this
// host receives (IPv4).
func receives(c *nftChain) bool {
	switch {
	case c.Type != "" && c.Type != "filter":
		return false
	case c.Family != "inet" && c.Family != "ip" && c.Family != "netdev":
		return false
	}
	return c.Hook == "input" || c.Hook == "prerouting" || c.Hook == "ingress"
}

// walk runs the datagram through c and returns the verdict that ends it,
// "accept" or "drop", or "" when it falls through to the caller (or the
// base chain's policy). path is the chains that led here.
func (j *nftJudge) walk(c *nftChain, path []string, depth int) string {
	for _, r := range c.rules {
		cond, portHit := j.match(r)
		if cond == no {
			continue
		}
		verdict, target := nftVerdict(r)
		switch verdict {
		case "accept":
			if cond == yes {
				return "accept"
			}
			j.maybeAccept = append(j.maybeAccept, describe(r))
		case "drop":
			if cond == yes || portHit {
				j.dropped(c, path, describe(r), portHit, "")
			}
			if cond == yes {
				return "drop"
			}
		case "jump", "goto":
			t := j.chains[r.Family+" "+r.Table+" "+target]
			if t == nil || depth >= maxNftDepth || slices.Contains(path, t.Name) || t.Name == c.Name {
				continue
			}
			v := j.walk(t, append(slices.Clone(path), c.Name), depth+1)
			if cond == yes && (v != "" || verdict == "goto") {
				return v // a goto that falls through ends c too
			}
		case "return":
			if cond == yes {
				return ""
			}
		}
	}
	return ""
}

// dropped records a drop of the datagram in c: by rule (its description)
// or, with rule "", by what says.
func (j *nftJudge) dropped(c *nftChain, path []string, rule string, portHit bool, what string) {
	where := c.where()
	if len(path) > 0 {
		where += " (reached from " + strings.Join(path, " -> ") + ")"
	}
	port := strconv.Itoa(int(j.port))
	f := Finding{Level: LevelProblem, Check: "firewall",
		Hint: "accept UDP port " + port + " before it (firewalld: firewall-cmd --add-port=" + port +
			"/udp; ufw: ufw allow " + port + "/udp)"}
	switch {
	case rule != "" && portHit:
		f.Message = fmt.Sprintf("%s drops UDP port %d: %q", where, j.port, rule)
		f.Hint = "remove that rule, or accept UDP port " + port + " before it"
	case rule != "":
		f.Message = fmt.Sprintf("%s drops UDP port %d: no earlier rule accepts it before %q",
			where, j.port, rule)
	default:
		f.Message = where + " " + what
	}
	if !portHit && len(j.maybeAccept) > 0 {
		// An earlier rule with a condition doctor cannot judge (an
		// interface, a source address) may accept lanfind's traffic.
		f.Level = LevelNote
		f.Message += fmt.Sprintf("; an earlier rule may still let it in: %q", j.maybeAccept[0])
		f.Hint = "if lanfind hears nothing, accept UDP port " + port + " there"
	}
	if f.Level == LevelProblem {
		j.blocked = true
	}
	if !slices.ContainsFunc(j.findings, func(o Finding) bool { return o.Message == f.Message }) {
		j.findings = append(j.findings, f)
	}
}

// match judges the conditions of r for a UDP datagram to the port, and
// says whether one of them named the port.
func (j *nftJudge) match(r *nftRule) (tri, bool) {
	cond, portHit := yes, false
	for _, e := range r.Expr {
		raw, ok := e["match"]
		if !ok {
			if _, xt := e["xt"]; xt {
				cond = min(cond, maybe) // an iptables-nft match nft cannot show
			}
			continue
		}
		var m nftMatch
		if json.Unmarshal(raw, &m) != nil {
			cond = min(cond, maybe)
			continue
		}
		c, hit := j.judgeMatch(m)
		cond = min(cond, c)
		portHit = portHit || hit
	}
	return cond, portHit && cond != no
}

type nftMatch struct {
	Op    string          `json:"op"`
	Left  json.RawMessage `json:"left"`
	Right json.RawMessage `json:"right"`
}

type nftLeft struct {
	Payload *struct{ Protocol, Field string } `json:"payload"`
	Meta    *struct{ Key string }             `json:"meta"`
	Ct      *struct{ Key string }             `json:"ct"`
}

func (j *nftJudge) judgeMatch(m nftMatch) (tri, bool) {
	var left nftLeft
	if json.Unmarshal(m.Left, &left) != nil {
		return maybe, false
	}
	negate := m.Op == "!="
	in := func(match func(string) tri) tri {
		t := rightValues(m.Right, match)
		if negate {
			t = yes + no - t // maybe stays maybe
		}
		return t
	}
	switch {
	case left.Payload != nil:
		p := left.Payload
		switch {
		case p.Protocol == "udp" && p.Field == "dport", p.Protocol == "th" && p.Field == "dport":
			t := in(func(v string) tri { return portInValue(v, j.port) })
			return t, t == yes && !negate
		case slices.Contains([]string{"tcp", "sctp", "dccp", "icmp", "icmpv6", "udplite"}, p.Protocol):
			return no, false // another protocol's header: not a UDP datagram
		}
	case left.Meta != nil && left.Meta.Key == "l4proto":
		return in(func(v string) tri { return boolTri(v == "udp" || v == "17") }), false
	case left.Meta != nil && (left.Meta.Key == "iif" || left.Meta.Key == "iifname"):
		if m.Op == "==" || m.Op == "in" {
			if t := in(func(v string) tri { return boolTri(v != "lo") }); t == no {
				return no, false // loopback only: lanfind's traffic comes on the LAN
			}
		}
	case left.Ct != nil && left.Ct.Key == "state":
		// Beacons and queries start no connection: they are new.
		return in(func(v string) tri { return boolTri(v == "new" || v == "untracked") }), false
	}
	return maybe, false
}

// rightValues applies match to every value of a match's right side (a
// number, a string, a set, a range) and returns yes if one matches, no
// if none does, maybe for what cannot be read (a named set).
func rightValues(raw json.RawMessage, match func(string) tri) tri {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return maybe
	}
	var each func(v any) tri
	each = func(v any) tri {
		switch x := v.(type) {
		case float64:
			return match(strconv.FormatFloat(x, 'f', -1, 64))
		case string:
			if strings.HasPrefix(x, "@") {
				return maybe // a named set
			}
			return match(x)
		case []any:
			best := no
			for _, e := range x {
				best = max(best, each(e))
			}
			return best
		case map[string]any:
			if s, ok := x["set"]; ok {
				return each(s)
			}
			if r, ok := x["range"].([]any); ok && len(r) == 2 {
				lo, ok1 := r[0].(float64)
				hi, ok2 := r[1].(float64)
				if ok1 && ok2 {
					return match(fmt.Sprintf("%d-%d", int(lo), int(hi)))
				}
			}
		}
		return maybe
	}
	return each(v)
}

func portInValue(v string, port uint16) tri {
	if _, err := strconv.Atoi(strings.ReplaceAll(v, "-", "")); err != nil {
		return maybe // a service name
	}
	return boolTri(portIn(v, port, ",", "-"))
}

func boolTri(b bool) tri {
	if b {
		return yes
	}
	return no
}

// nftVerdict returns the verdict of r (accept, drop, jump, goto, return;
// reject counts as drop) and a jump's target, or "".
func nftVerdict(r *nftRule) (string, string) {
	for _, e := range r.Expr {
		for k, raw := range e {
			switch k {
			case "accept", "drop", "return":
				return k, ""
			case "reject":
				return "drop", ""
			case "jump", "goto":
				var t struct{ Target string }
				json.Unmarshal(raw, &t)
				return k, t.Target
			}
		}
	}
	return "", ""
}

// describe renders r much as nft lists it, for messages.
func describe(r *nftRule) string {
	var parts []string
	for _, e := range r.Expr {
		for k, raw := range e {
			switch k {
			case "match":
				var m nftMatch
				if json.Unmarshal(raw, &m) == nil {
					parts = append(parts, describeMatch(m))
				}
			case "jump", "goto":
				var t struct{ Target string }
				json.Unmarshal(raw, &t)
				parts = append(parts, k+" "+t.Target)
			default:
				parts = append(parts, k)
			}
		}
	}
	return strings.Join(parts, " ")
}

func describeMatch(m nftMatch) string {
	var left nftLeft
	json.Unmarshal(m.Left, &left)
	l := "…"
	switch {
	case left.Payload != nil:
		l = left.Payload.Protocol + " " + left.Payload.Field
	case left.Meta != nil:
		l = "meta " + left.Meta.Key
	case left.Ct != nil:
		l = "ct " + left.Ct.Key
	}
	op := ""
	if m.Op != "==" && m.Op != "in" {
		op = m.Op + " "
	}
	return l + " " + op + describeValue(m.Right)
}

func describeValue(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "…"
	}
	var show func(v any) string
	show = func(v any) string {
		switch x := v.(type) {
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case string:
			return x
		case []any:
			var s []string
			for _, e := range x {
				s = append(s, show(e))
			}
			return strings.Join(s, ",")
		case map[string]any:
			if s, ok := x["set"]; ok {
				return "{ " + strings.ReplaceAll(show(s), ",", ", ") + " }"
			}
			if r, ok := x["range"].([]any); ok && len(r) == 2 {
				return show(r[0]) + "-" + show(r[1])
			}
			if p, ok := x["prefix"].(map[string]any); ok {
				return fmt.Sprintf("%v/%v", p["addr"], p["len"])
			}
		}
		return "…"
	}
	return show(v)
}
