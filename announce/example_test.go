package announce_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"

	"github.com/lanfind/lanfind/announce"
)

// Announce a PostgreSQL server until SIGINT or SIGTERM, then say goodbye.
// (Needs a network, so it compiles but does not run as a test.)
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := announce.New(announce.Config{
		Services: []announce.Service{{
			Name: "db",
			Type: "postgres",
			Port: 5432,
			Meta: map[string]string{"version": "16"},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
