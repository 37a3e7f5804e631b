package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAddFigures(t *testing.T) {
	for _, tc := range []struct {
		name             string
		row              Row
		median, min, max float64
		pass             bool
	}{
		{"median under target", Row{Samples: []float64{300, 100, 200}, Target: 250, Cmp: "<="}, 200, 100, 300, true},
		{"median over target", Row{Samples: []float64{300, 280, 200}, Target: 250, Cmp: "<="}, 280, 200, 300, false},
		{"even count", Row{Samples: []float64{1, 2, 3, 4}, Target: 3, Cmp: "<="}, 2.5, 1, 4, true},
		{"worst run misses", Row{Samples: []float64{100, 100, 90}, Target: 99, Cmp: ">=", Worst: true}, 100, 90, 100, false},
		{"worst run meets", Row{Samples: []float64{100, 99, 100}, Target: 99, Cmp: ">=", Worst: true}, 100, 99, 100, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Results
			r.Add(tc.row)
			got := r.Rows[0]
			if got.Median != tc.median || got.Min != tc.min || got.Max != tc.max {
				t.Errorf("got median %v min %v max %v, want %v %v %v", got.Median, got.Min, got.Max, tc.median, tc.min, tc.max)
			}
			if got.Pass == nil || *got.Pass != tc.pass {
				t.Errorf("got pass %v, want %v", got.Pass, tc.pass)
			}
		})
	}
}

func TestWriteDrawsChart(t *testing.T) {
	r := &Results{SvcHosts: 20,
		BySvc:  []Point{{X: 20, WallMs: []float64{250, 260}, FoundPct: []float64{100, 100}}, {X: 1000, WallMs: []float64{257}, FoundPct: []float64{100}}},
		ByLoss: []Point{{X: 0, WallMs: []float64{249}, FoundPct: []float64{100}}, {X: 30, WallMs: []float64{310, 372}, FoundPct: []float64{100, 99}}},
	}
	r.Add(Row{Group: "g", Name: "n", Unit: "ms", Samples: []float64{1}, Target: 2, Cmp: "<="})
	dir := t.TempDir()
	if err := r.Write(dir, "results"); err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile(filepath.Join(dir, "chart.png"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("chart.png does not start with the PNG signature: % x", png[:min(8, len(png))])
	}
	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| g: n | 1 ms | 1 | ≤ 2 ms | 0.50 | ok |") {
		t.Errorf("results.md lacks the row:\n%s", md)
	}
}
