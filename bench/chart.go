package main

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// drawChart draws a 2×2 chart: list wall time and completeness against the
// number of services (left) and against the querier's loss (right).
func drawChart(r *Results, path string) error {
	type panel struct {
		title, xlabel, ylabel string
		pts                   []Point
		y                     func(Point) []float64
		target                float64
	}
	svcLabel := fmt.Sprintf("services (on %d hosts)", r.SvcHosts)
	wall := func(p Point) []float64 { return p.WallMs }
	found := func(p Point) []float64 { return p.FoundPct }
	panels := [2][2]panel{
		{
			{"list wall time by number of services", svcLabel, "wall time, ms", r.BySvc, wall, 1000},
			{"list wall time by loss (100 services, --timeout 2s)", "querier's incoming UDP dropped, %", "wall time, ms", r.ByLoss, wall, 0},
		},
		{
			{"services found by number of services", svcLabel, "found, % of announced", r.BySvc, found, 100},
			{"services found by loss", "querier's incoming UDP dropped, %", "found, % of announced", r.ByLoss, found, 99},
		},
	}
	plots := make([][]*plot.Plot, 2)
	for i := range panels {
		plots[i] = make([]*plot.Plot, 2)
		for j, pn := range panels[i] {
			p := plot.New()
			p.Title.Text = pn.title
			p.X.Label.Text = pn.xlabel
			p.Y.Label.Text = pn.ylabel
			p.Add(plotter.NewGrid())
			if len(pn.pts) > 0 {
				if err := addSeries(p, pn.pts, pn.y); err != nil {
					return err
				}
				if pn.target > 0 {
					xs := plotter.XYs{{X: pn.pts[0].X, Y: pn.target}, {X: pn.pts[len(pn.pts)-1].X, Y: pn.target}}
					l, err := plotter.NewLine(xs)
					if err != nil {
						return err
					}
					l.Color = color.RGBA{R: 200, A: 255}
					l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
					p.Add(l)
					p.Legend.Add("target", l)
				}
			}
			if pn.ylabel == "found, % of announced" {
				p.Y.Min, p.Y.Max = min(p.Y.Min, 90), 101
			} else {
				p.Y.Min = 0
			}
			p.Legend.Left = pn.ylabel == "found, % of announced"
			var ticks []plot.Tick
			for _, pt := range pn.pts {
				ticks = append(ticks, plot.Tick{Value: pt.X, Label: fmtNum(pt.X)})
			}
			p.X.Tick.Marker = plot.ConstantTicks(ticks)
			if j == 0 && len(pn.pts) > 0 && pn.pts[0].X > 0 {
				p.X.Scale = plot.LogScale{} // 50 to 5000 services
				p.X.Label.Text += ", log scale"
			}
			plots[i][j] = p
		}
	}
	img := vgimg.New(11*vg.Inch, 8*vg.Inch)
	dc := draw.New(img)
	dc = draw.Crop(dc, vg.Points(5), -vg.Points(5), vg.Points(5), -vg.Points(5))
	t := draw.Tiles{Rows: 2, Cols: 2, PadX: vg.Millimeter * 6, PadY: vg.Millimeter * 6}
	canvases := plot.Align(plots, t, dc)
	for i := range plots {
		for j := range plots[i] {
			plots[i][j].Draw(canvases[i][j])
		}
	}
	return writePNG(img, path)
}

// writePNG writes img to path as PNG.
func writePNG(img *vgimg.Canvas, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// errPoints are medians with min–max error bars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

func addSeries(p *plot.Plot, pts []Point, y func(Point) []float64) error {
	var ep errPoints
	for _, pt := range pts {
		row := Row{Samples: y(pt)}
		(&Results{}).quietAdd(&row)
		ep.XYs = append(ep.XYs, plotter.XY{X: pt.X, Y: row.Median})
		ep.YErrors = append(ep.YErrors, struct{ Low, High float64 }{row.Median - row.Min, row.Max - row.Median})
	}
	l, s, err := plotter.NewLinePoints(ep.XYs)
	if err != nil {
		return err
	}
	l.Color = color.RGBA{B: 180, A: 255}
	s.Color = l.Color
	s.Shape = draw.CircleGlyph{}
	eb, err := plotter.NewYErrorBars(ep)
	if err != nil {
		return err
	}
	eb.Color = l.Color
	p.Add(l, s, eb)
	p.Legend.Add("median (bars: min–max)", l, s)
	return nil
}
