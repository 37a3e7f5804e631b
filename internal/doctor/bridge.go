package doctor

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/termtext"
)

// sysClassNet is where Linux describes network interfaces; a test points
// it elsewhere.
var sysClassNet = "/sys/class/net"

// checkBridges looks at every interface in use that is a Linux bridge (a
// Proxmox vmbr0, an LXC or libvirt bridge): one that snoops multicast
// (multicast_snooping 1) while nothing on the LAN sends IGMP queries (it
// is not the querier itself, multicast_querier 0) forwards the group to a
// port only while that port's last join is fresh: a few minutes after
// lanfind joined, multicast stops reaching the hosts behind it. Broadcast
// is not snooped, so lanfind still works by broadcast unless it is turned
// off.
func checkBridges(r *report, sel []iface.Interface, noBroadcast bool) {
	for _, i := range sel {
		dir := filepath.Join(sysClassNet, i.Name, "bridge")
		snooping, err1 := readSysFlag(filepath.Join(dir, "multicast_snooping"))
		querier, err2 := readSysFlag(filepath.Join(dir, "multicast_querier"))
		if err1 != nil || err2 != nil {
			continue // not a bridge, or not readable: nothing to say
		}
		name := termtext.Clean(i.Name, 16)
		if !snooping || querier {
			r.add(LevelOK, "bridge", "", "bridge %s: multicast snooping %s, querier %s", name,
				onOff(snooping), onOff(querier))
			continue
		}
		level, still := LevelNote, "; broadcast is not snooped, so lanfind still works by broadcast"
		if noBroadcast {
			level, still = LevelProblem, "; --no-broadcast leaves lanfind nothing that still works"
		}
		r.add(level, "bridge",
			"unless a router on the LAN sends IGMP queries, make the bridge the querier "+
				"(ip link set "+name+" type bridge mcast_querier 1) or stop it snooping "+
				"(mcast_snooping 0)",
			"bridge %s snoops multicast without a querier: multicast to the group stops reaching "+
				"the hosts behind it a few minutes after their last join%s", name, still)
	}
}

// readSysFlag reads a sysfs file holding 0 or 1.
func readSysFlag(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(b)) == "1", nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
