package main

import "testing"

func TestReadyState(t *testing.T) {
	if got := readyState(3); got != "READY=1\nSTATUS=announcing 3 services" {
		t.Fatalf("readyState(3): got %q", got)
	}
}
