package doctor

import (
	"sync"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/udp"
)

// packet is one lanfind message heard, and when.
type packet struct {
	d  endpoint.Datagram
	at time.Time
}

// reader reads the probe's sockets through the endpoint's read path
// ([endpoint.Endpoint.Read]), which drops and counts what is not a
// lanfind message, and delivers the rest in arrival order.
type reader struct {
	ep    *endpoint.Endpoint
	conns []udp.Conn
	pkts  chan packet
	stop  chan struct{}
	wg    sync.WaitGroup
}

// startReading starts reading conns, sockets of ep. The caller closes the
// sockets (ep.Close) after Close.
func startReading(ep *endpoint.Endpoint, conns ...udp.Conn) *reader {
	r := &reader{ep: ep, conns: conns, pkts: make(chan packet), stop: make(chan struct{})}
	for _, c := range conns {
		r.wg.Go(func() { r.read(c) })
	}
	return r
}

func (r *reader) read(c udp.Conn) {
	buf := make([]byte, beacon.MaxSize+1)
	for {
		d, err := r.ep.Read(c, buf)
		if err != nil {
			return // the deadline Close sets, or a closed socket
		}
		select {
		case r.pkts <- packet{d: d, at: time.Now()}:
		case <-r.stop:
			return
		}
	}
}

// Close stops delivering and waits for the readers; it leaves the sockets
// open.
func (r *reader) Close() {
	close(r.stop)
	past := time.Unix(1, 0)
	for _, c := range r.conns {
		c.SetReadDeadline(past) // unblocks the reader
	}
	r.wg.Wait()
}
