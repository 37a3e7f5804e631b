package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/announce"
)

func TestReadyStatus(t *testing.T) {
	if got := readyStatus(3); got != "announcing 3 services" {
		t.Fatalf("readyStatus(3): got %q", got)
	}
}

func TestDiffServices(t *testing.T) {
	before := []announce.Service{
		{Name: "db", Type: "postgres", Port: 5432, Meta: map[string]string{"a": "1", "b": "2"}},
		{Name: "web", Port: 80},
		{Name: "same", Port: 1},
	}
	after := []announce.Service{
		{Name: "same", Port: 1},
		{Name: "db", Type: "postgres", Port: 5433, Meta: map[string]string{"a": "9", "c": "3"}},
		{Name: "web", Type: "http", Port: 80}, // another type: another service
	}
	d := diffServices(before, after)
	var got []string
	for _, s := range d.added {
		got = append(got, "added "+s.Name+"/"+s.Type)
	}
	for _, s := range d.removed {
		got = append(got, "removed "+s.Name+"/"+s.Type)
	}
	for _, c := range d.changed {
		got = append(got, "changed "+c.svc.Name+": "+strings.Join(c.what, ", "))
	}
	want := []string{
		"added web/http",
		"removed web/",
		"changed db: port 5432 -> 5433, meta a changed, meta c added, meta b removed",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
