package doctor

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestParseProcNetUDP(t *testing.T) {
	// From a Linux host (little-endian): lanfind on 0.0.0.0:28471, a
	// socket on 10.77.0.10:28471 and one on another port.
	text := `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  273: 00000000:6F37 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81234 2 0000000000000000 0
  274: 0A004D0A:6F37 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 81235 2 0000000000000000 17
  512: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 1234 2 0000000000000000 0
garbage line
`
	got := parseProcNetUDP(text, 28471)
	want := []udpSocket{
		{Local: netip.MustParseAddrPort("0.0.0.0:28471"), UID: 0, Inode: 81234},
		{Local: netip.MustParseAddrPort("10.77.0.10:28471"), UID: 1000, Inode: 81235, Drops: 17},
	}
	if isBigEndian() {
		t.Skip("the sample is from a little-endian host")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := parseProcNetUDP(text, 53); len(got) != 1 || got[0].Local != netip.MustParseAddrPort("127.0.0.53:53") {
		t.Errorf("port 53: got %+v, want 127.0.0.53:53", got)
	}
}

func isBigEndian() bool {
	a, _ := parseHexAddrPort("0100007F:0001")
	return a.Addr() != netip.MustParseAddr("127.0.0.1")
}

func TestParseIGMP(t *testing.T) {
	if isBigEndian() {
		t.Skip("the sample is from a little-endian host")
	}
	text := "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n" +
		"1\tlo        :     1      V3\n" +
		"\t\t\t\t010000E0     1 0:00000000\t\t0\n" +
		"2\teth0      :     2      V3\n" +
		"\t\t\t\t4646FFEF     1 0:00000000\t\t0\n" +
		"\t\t\t\t010000E0     1 0:00000000\t\t0\n" +
		"7\tvethabcdef123:     1      V3\n" +
		"\t\t\t\t010000E0     1 0:00000000\t\t0\n"
	got := parseIGMP(text)
	a := netip.MustParseAddr
	want := map[string][]netip.Addr{
		"lo":            {a("224.0.0.1")},
		"eth0":          {a("239.255.70.70"), a("224.0.0.1")},
		"vethabcdef123": {a("224.0.0.1")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseIGMP6(t *testing.T) {
	text := "1    lo              ff020000000000000000000000000001     1 0000000C 0\n" +
		"2    eth0            ff0200000000000000000000efff4646     1 00000004 0\n" +
		"2    eth0            ff020000000000000000000000000001     1 0000000C 0\n" +
		"2    eth0            zz                                   1 0 0\n"
	got := parseIGMP6(text)
	want := map[string][]netip.Addr{
		"lo":   {netip.MustParseAddr("ff02::1")},
		"eth0": {netip.MustParseAddr("ff02::efff:4646"), netip.MustParseAddr("ff02::1")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
