package announce_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/lanfind/lanfind/announce"
)

// Announce a PostgreSQL server until SIGINT or SIGTERM, then say goodbye.
// (Needs a network, so it compiles but does not run as a test; a lab test
// runs it between network namespaces.)
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

// Change the announced services while running: here a metrics endpoint
// joins the web server on SIGHUP. Listeners see the new service at once,
// without the announcer restarting. (Needs a network; a lab test runs it.)
func ExampleSender_Update() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	web := announce.Service{Name: "web", Type: "http", Port: 8080}
	s, err := announce.New(announce.Config{Services: []announce.Service{web}})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				metrics := announce.Service{Name: "web-metrics", Type: "prometheus", Port: 9100}
				if err := s.Update([]announce.Service{web, metrics}); err != nil {
					log.Print(err) // the old services stay announced
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := s.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// Check services before announcing them, for example when a configuration
// file is edited.
func ExampleCheckServices() {
	err := announce.CheckServices(announce.Config{Services: []announce.Service{
		{Name: "db", Type: "postgres", Port: 5432},
		{Name: "db", Type: "postgres", Port: 5433},
	}})
	fmt.Println(err)
	// Output: announce: service "db" of type "postgres" is listed twice
}
