package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/beacon"
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

func TestSideMarkdown(t *testing.T) {
	var r Results
	r.AddTool(Tool{Key: "x", Name: "X 1.0", How: "x list"})
	r.AddSide(lanfindTool, sideListWall, []float64{250, 260, 240}, "")
	r.AddSide("x", sideListWall, []float64{1000}, "")
	r.AddSide("x", sideFound30, []float64{70}, "one query")
	md := r.SideMarkdown("side.png")
	for _, want := range []string{
		"| measure | lanfind | X 1.0 |",
		"| list 100 services on 10 hosts, quiet: wall | 250 (240–260) ms | 1000 ms (0.25) |",
		"| list at 30% querier loss: found of 100 | – | 70  |",
		"- X 1.0: x list",
		"- X 1.0, list at 30% querier loss: found of 100: one query",
		"![lanfind beside the anchors](side.png)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("side-by-side table lacks %q:\n%s", want, md)
		}
	}
	// Rows follow sideMeasures, whatever order they were added in.
	if r.Side[0].ID != sideListWall || r.Side[1].ID != sideFound30 {
		t.Errorf("got rows %s, %s, want %s, %s", r.Side[0].ID, r.Side[1].ID, sideListWall, sideFound30)
	}
	if err := drawSide(&r, filepath.Join(t.TempDir(), "side.png")); err != nil {
		t.Fatal(err)
	}
}

func TestIsLanfind(t *testing.T) {
	head := func(kind beacon.Kind) []byte { return []byte{'L', 'N', 'F', 'D', 1, byte(kind), 0, 0} }
	for _, tc := range []struct {
		name string
		pk   tapPkt
		want bool
	}{
		{"query sent", tapPkt{Out: true, Sport: 40000, Dport: lanPort, Head: head(beacon.KindQuery)}, true},
		{"reply received", tapPkt{Sport: lanPort, Dport: 40000, Head: head(beacon.KindReply)}, true},
		{"periodic beacon received", tapPkt{Sport: lanPort, Dport: lanPort, Head: head(beacon.KindAnnounce)}, false},
		{"other port", tapPkt{Out: true, Sport: mdnsPort, Dport: mdnsPort}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isLanfind(tc.pk); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
