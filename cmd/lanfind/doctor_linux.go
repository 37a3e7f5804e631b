package main

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// udpSocketsOn lists the UDP sockets bound to port in this network
// namespace (/proc/net/udp) and the processes holding them, found by their
// socket inodes in /proc/*/fd. Without root, other users' processes stay
// unknown.
func udpSocketsOn(port uint16) ([]udpSocket, error) {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return nil, err
	}
	socks := parseProcNetUDP(string(b), port)
	if len(socks) == 0 {
		return nil, nil
	}
	byInode := map[string]*udpSocket{}
	for i := range socks {
		byInode["socket:["+strconv.FormatUint(socks[i].Inode, 10)+"]"] = &socks[i]
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*") // the pattern is valid
	for _, fd := range fds {
		target, err := os.Readlink(fd)
		if err != nil {
			continue // gone, or not ours to read
		}
		s := byInode[target]
		if s == nil {
			continue
		}
		dir := filepath.Dir(filepath.Dir(fd))
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		s.Procs = append(s.Procs, sockProc{PID: pid, Command: processCommand(dir)})
	}
	return socks, nil
}

// processCommand returns the command line of the process whose /proc
// directory is dir, or its comm name.
func processCommand(dir string) string {
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil && len(b) > 0 {
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		args[0] = filepath.Base(args[0])
		return strings.Join(args, " ")
	}
	b, _ := os.ReadFile(filepath.Join(dir, "comm")) // "" when gone
	return strings.TrimSpace(string(b))
}

// checkFirewall looks for local firewall rules that drop the port: in
// "nft list ruleset", or in "iptables-save" where nft is missing, and in
// "iptables-legacy-save" where that exists (legacy rules are not in nft's
// view). Reading the rules needs root; without it the check says so.
func checkFirewall(ctx context.Context, r *report, port uint16) {
	var tools []string
	var chains []fwChain
	read := func(tool, name string, args []string, parse func(string, uint16) []fwChain) bool {
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
			msg := strings.TrimSpace(stderr.String())
			if msg == "" {
				msg = err.Error()
			}
			r.add(levelNote, "firewall", "run lanfind doctor as root to check the firewall",
				"could not read the %s rules (%s): %s", tool, strings.Join(append([]string{name}, args...), " "), clean(msg, 200))
			return true
		}
		tools = append(tools, tool)
		chains = append(chains, parse(string(out), port)...)
		return true
	}
	found := read("nftables", "nft", []string{"list", "ruleset"}, parseNft)
	if !found {
		found = read("iptables", "iptables-save", nil, parseIptablesSave)
	}
	if read("iptables-legacy", "iptables-legacy-save", nil, parseIptablesSave) {
		found = true
	}
	switch {
	case !found:
		r.add(levelNote, "firewall", "", "firewall not checked: neither nft nor iptables-save is installed")
	case len(tools) > 0:
		firewallFindings(r, strings.Join(tools, " or "), chains, port)
	}
}

// igmpGroups returns the IPv4 groups the kernel lists as joined, by device
// (/proc/net/igmp of this network namespace).
func igmpGroups() (map[string][]netip.Addr, error) {
	b, err := os.ReadFile("/proc/net/igmp")
	if err != nil {
		return nil, err
	}
	return parseIGMP(string(b)), nil
}
