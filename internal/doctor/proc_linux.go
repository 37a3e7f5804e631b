package doctor

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// udpSocketsOn lists the UDP sockets bound to port in this network
// namespace (/proc/net/udp) and the processes holding them, found by their
// socket inodes in /proc/*/fd. Without root, other users' processes stay
// unknown.
func udpSocketsOn(port uint16) ([]udpSocket, error) {
	b, err := os.ReadFile("/proc/thread-self/net/udp")
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

// igmpGroups returns the IPv4 groups the kernel lists as joined, by device
// (/proc/net/igmp of this network namespace).
func igmpGroups() (map[string][]netip.Addr, error) {
	b, err := os.ReadFile("/proc/thread-self/net/igmp")
	if err != nil {
		return nil, err
	}
	return parseIGMP(string(b)), nil
}

// igmp6Groups returns the IPv6 groups the kernel lists as joined, by
// device (/proc/thread-self/net/igmp6: the calling thread's network
// namespace, which /proc/net, the process's, may not be).
func igmp6Groups() (map[string][]netip.Addr, error) {
	b, err := os.ReadFile("/proc/thread-self/net/igmp6")
	if err != nil {
		return nil, err
	}
	return parseIGMP6(string(b)), nil
}

// parseIGMP6 parses /proc/net/igmp6: one membership a line, "index
// device group(32 hex digits) users flags timer". Lines it cannot parse
// are skipped.
func parseIGMP6(text string) map[string][]netip.Addr {
	out := map[string][]netip.Addr{}
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) < 3 || len(f[2]) != 32 {
			continue
		}
		b, err := hex.DecodeString(f[2])
		if err != nil {
			continue
		}
		out[f[1]] = append(out[f[1]], netip.AddrFrom16([16]byte(b)))
	}
	return out
}

// parseProcNetUDP returns the sockets of /proc/net/udp (text) bound to
// port. Lines it cannot parse are skipped.
func parseProcNetUDP(text string, port uint16) []udpSocket {
	var out []udpSocket
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
		if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
			continue
		}
		local, ok := parseHexAddrPort(f[1])
		if !ok || local.Port() != port {
			continue
		}
		uid, err1 := strconv.Atoi(f[7])
		inode, err2 := strconv.ParseUint(f[9], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		s := udpSocket{Local: local, UID: uid, Inode: inode}
		if len(f) >= 13 {
			s.Drops, _ = strconv.ParseUint(f[12], 10, 64) // 0 when absent or odd
		}
		out = append(out, s)
	}
	return out
}

// parseHexAddrPort parses /proc/net/udp's "0100007F:6EB7": the IPv4
// address as the kernel's 32-bit value in host byte order, printed in hex,
// then the port in hex.
func parseHexAddrPort(s string) (netip.AddrPort, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || len(a) != 8 {
		return netip.AddrPort{}, false
	}
	v, err := strconv.ParseUint(a, 16, 32)
	if err != nil {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	var ip [4]byte
	binary.NativeEndian.PutUint32(ip[:], uint32(v))
	return netip.AddrPortFrom(netip.AddrFrom4(ip), uint16(port)), true
}

// parseIGMP reads /proc/net/igmp: the groups joined on each device.
func parseIGMP(text string) map[string][]netip.Addr {
	out := map[string][]netip.Addr{}
	dev := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "Idx") {
			continue
		}
		if line[0] != '\t' && line[0] != ' ' {
			// "2\teth0      :     2      V3"
			left, _, _ := strings.Cut(line, ":")
			if f := strings.Fields(left); len(f) == 2 {
				dev = f[1]
			}
			continue
		}
		// "\t\t\t\t464617EF     1 0:00000000\t\t0"
		f := strings.Fields(line)
		if len(f) == 0 || dev == "" {
			continue
		}
		v, err := strconv.ParseUint(f[0], 16, 32)
		if err != nil || len(f[0]) != 8 {
			continue
		}
		var ip [4]byte
		binary.NativeEndian.PutUint32(ip[:], uint32(v))
		out[dev] = append(out[dev], netip.AddrFrom4(ip))
	}
	return out
}
