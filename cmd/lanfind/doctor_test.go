package main

import (
	"fmt"
	"net"
	"os"
)

// holdPort is the "holdport" command of the test binary (see TestMain): it
// binds UDP port os.Args[1] on every address without SO_REUSEADDR, as a
// program that does not share the port would, says "ready" and waits until
// killed.
func holdPort() {
	c, err := net.ListenPacket("udp4", ":"+os.Args[1]) // no SO_REUSEADDR for unicast UDP
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready")
	buf := make([]byte, 1)
	for {
		if _, _, err := c.ReadFrom(buf); err != nil {
			os.Exit(1)
		}
	}
}
