package main

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// releaseStartup hands back what starting up made resident and a
// long-running command (announce, watch, serve) does not use again: the heap
// that parsing flags and building the help left as garbage
// (debug.FreeOSMemory), and the pages of lanfind's own code and read-only
// data that the kernel mapped around every page start-up touched (64 KB
// of fault-around per page, which leaves nearly all of an executable of
// 12 MB resident). Those are clean pages of the executable's file:
// dropping them from this process's page tables (MADV_DONTNEED) frees
// nothing that the kernel could not reclaim anyway, and the pages the
// steady state uses come back on their first use.
func releaseStartup() {
	debug.FreeOSMemory()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-007bf000 r-xp 00000000 08:01 1234   /usr/local/bin/lanfind
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED)
	}
}
