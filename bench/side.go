package main

import (
	"fmt"
	"image/color"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The side-by-side tables set lanfind's figures beside the same
// measurement of each anchor (another mDNS implementation run in the same
// lab, see anchor.go). A measure is one row; lanfind is the first column.

// sideMeasure is one row of the side-by-side table.
type sideMeasure struct {
	ID     string
	Name   string
	Unit   string
	Higher bool // a higher figure is better (found counts)
}

// Side measure IDs.
const (
	sideListWall    = "list_wall"
	sideFound       = "list_found"
	sideFound30     = "list_found_30"
	sideFound50     = "list_found_50"
	sideResolve     = "resolve_wall"
	sideResolve30   = "resolve_wall_30"
	sideBytes       = "list_bytes"
	sideBytes30     = "list_bytes_30"
	sideFrames      = "list_frames"
	sideFrames30    = "list_frames_30"
	sideIdleRSS     = "idle_rss"
	sideWatchRSS    = "watch_rss"
	lanfindTool     = "lanfind"
	sideChartSuffix = "sidebyside.png"
)

var sideMeasures = []sideMeasure{
	{ID: sideListWall, Name: "list 100 services on 10 hosts, quiet: wall", Unit: "ms"},
	{ID: sideFound, Name: "list, quiet: found of 100", Higher: true},
	{ID: sideFound30, Name: "list at 30% querier loss: found of 100", Higher: true},
	{ID: sideFound50, Name: "list at 50% querier loss: found of 100", Higher: true},
	{ID: sideResolve, Name: "resolve one name, quiet: wall", Unit: "ms"},
	{ID: sideResolve30, Name: "resolve one name at 30% querier loss: wall", Unit: "ms"},
	{ID: sideBytes, Name: "bytes on the wire for one list, quiet", Unit: "B"},
	{ID: sideBytes30, Name: "bytes on the wire for one list at 30% querier loss", Unit: "B"},
	{ID: sideFrames, Name: "datagrams for one list, quiet"},
	{ID: sideFrames30, Name: "datagrams for one list at 30% querier loss"},
	{ID: sideIdleRSS, Name: "idle announcer (1 service): RSS", Unit: "MB"},
	{ID: sideWatchRSS, Name: "watch, idle (1 service on the LAN): RSS", Unit: "MB"},
}

// SideRow is one measure of the side-by-side table: each tool's samples.
type SideRow struct {
	ID     string          `json:"id"`
	Name   string          `json:"name"`
	Unit   string          `json:"unit"`
	Higher bool            `json:"higher_is_better,omitempty"`
	Cells  map[string]*Row `json:"cells"` // tool → its samples (Note: how it was measured)
}

// Tool is one column of the side-by-side table.
type Tool struct {
	Key  string `json:"key"`
	Name string `json:"name"` // with its version
	How  string `json:"how"`  // what list, resolve and watch run
}

// AddSide records tool's samples for measure id; note says how they were
// taken when that differs from the measure's name.
func (r *Results) AddSide(tool, id string, samples []float64, note string) {
	i := slices.IndexFunc(sideMeasures, func(m sideMeasure) bool { return m.ID == id })
	if i < 0 {
		panic("bench: unknown side measure " + id)
	}
	j := slices.IndexFunc(r.Side, func(s SideRow) bool { return s.ID == id })
	if j < 0 {
		m := sideMeasures[i]
		r.Side = append(r.Side, SideRow{ID: id, Name: m.Name, Unit: m.Unit, Higher: m.Higher, Cells: map[string]*Row{}})
		slices.SortFunc(r.Side, func(a, b SideRow) int { return sideIndex(a.ID) - sideIndex(b.ID) })
		j = slices.IndexFunc(r.Side, func(s SideRow) bool { return s.ID == id })
	}
	row := &Row{Unit: sideMeasures[i].Unit, Samples: samples, Note: note}
	r.quietAdd(row)
	r.Side[j].Cells[tool] = row
	logf("   side %s, %s: %s", tool, id, row.figure())
}

func sideIndex(id string) int {
	return slices.IndexFunc(sideMeasures, func(m sideMeasure) bool { return m.ID == id })
}

// AddTool records a column of the side-by-side table (once per key).
func (r *Results) AddTool(t Tool) {
	if !slices.ContainsFunc(r.Tools, func(x Tool) bool { return x.Key == t.Key }) {
		r.Tools = append(r.Tools, t)
	}
}

// sideCell is a tool's figure with its ratio to lanfind: lanfind's median
// divided by the tool's.
func (s SideRow) sideCell(tool string) string {
	c := s.Cells[tool]
	if c == nil || len(c.Samples) == 0 {
		return "–"
	}
	fig := c.figure()
	if tool == lanfindTool {
		return fig
	}
	if l := s.Cells[lanfindTool]; l != nil && len(l.Samples) > 0 && c.Median != 0 {
		fig += fmt.Sprintf(" (%.2f)", l.Median/c.Median)
	}
	return fig
}

// sideColumns returns the tools that have at least one figure, lanfind
// first.
func (r *Results) sideColumns() []Tool {
	cols := []Tool{{Key: lanfindTool, Name: "lanfind",
		How: r.Mode + "; list: lanfind list --json (at loss --timeout 2s); resolve: lanfind resolve NAME; watch: lanfind watch --json"}}
	for _, t := range r.Tools {
		if t.Key != lanfindTool {
			cols = append(cols, t)
		}
	}
	return cols
}

// SideMarkdown is the side-by-side table in Markdown, empty without
// anchors.
func (r *Results) SideMarkdown(chart string) string {
	if len(r.Tools) == 0 || len(r.Side) == 0 {
		return ""
	}
	cols := r.sideColumns()
	var b strings.Builder
	b.WriteString("\n## Side by side\n\n")
	b.WriteString("The same measurement for lanfind and for other mDNS implementations in the same lab, ")
	b.WriteString("with the same clock (from just before the process forks to its exit) and the same loss rules. ")
	b.WriteString("Medians with min–max; in parentheses lanfind's median divided by the anchor's ")
	b.WriteString("(below 1: lanfind's figure is lower).\n\n| measure |")
	for _, c := range cols {
		fmt.Fprintf(&b, " %s |", c.Name)
	}
	b.WriteString("\n| --- |" + strings.Repeat(" --- |", len(cols)) + "\n")
	for _, s := range r.Side {
		fmt.Fprintf(&b, "| %s |", s.Name)
		for _, c := range cols {
			fmt.Fprintf(&b, " %s |", s.sideCell(c.Key))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nHow each tool was run:\n\n")
	for _, c := range cols {
		fmt.Fprintf(&b, "- %s: %s\n", c.Name, c.How)
	}
	for _, s := range r.Side {
		for _, c := range cols {
			if n := s.Cells[c.Key]; n != nil && n.Note != "" {
				fmt.Fprintf(&b, "- %s, %s: %s\n", c.Name, s.Name, n.Note)
			}
		}
	}
	if chart != "" {
		fmt.Fprintf(&b, "\n![lanfind beside the anchors](%s)\n", chart)
	}
	return b.String()
}

// SideTable is the side-by-side table as plain text.
func (r *Results) SideTable() string {
	md := r.SideMarkdown("")
	if md == "" {
		return ""
	}
	// The Markdown table reads well enough in a terminal without its
	// separator row.
	var out []string
	for line := range strings.Lines(md) {
		if !strings.HasPrefix(line, "| --- |") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

// drawSide draws one bar panel per side measure: each tool's median, with
// lanfind's bar first.
func drawSide(r *Results, path string) error {
	cols := r.sideColumns()
	var plots []*plot.Plot
	for _, s := range r.Side {
		var vals plotter.Values
		var names []string
		for _, c := range cols {
			if cell := s.Cells[c.Key]; cell != nil && len(cell.Samples) > 0 {
				vals = append(vals, cell.Median)
				names = append(names, c.Key) // short: the names would overlap
			}
		}
		if len(vals) == 0 {
			continue
		}
		p := plot.New()
		p.Title.Text = s.Name
		p.Title.TextStyle.Font.Size = vg.Points(9)
		p.Y.Label.Text = s.Unit
		if s.Higher {
			p.Y.Label.Text = "higher is better"
		}
		p.Add(plotter.NewGrid())
		bars, err := plotter.NewBarChart(vals, vg.Points(18))
		if err != nil {
			return err
		}
		bars.Color = color.RGBA{B: 180, A: 255}
		p.Add(bars)
		if names[0] == lanfindTool {
			first := slices.Clone(vals)
			for i := range first[1:] {
				first[i+1] = 0
			}
			lb, err := plotter.NewBarChart(first, vg.Points(18))
			if err != nil {
				return err
			}
			lb.Color = color.RGBA{G: 140, A: 255}
			p.Add(lb)
		}
		p.NominalX(names...)
		p.X.Tick.Label.Font.Size = vg.Points(7)
		p.Y.Min = 0
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		return nil
	}
	const ncol = 4
	nrow := (len(plots) + ncol - 1) / ncol
	grid := make([][]*plot.Plot, nrow)
	for i := range grid {
		grid[i] = make([]*plot.Plot, ncol)
		for j := range ncol {
			if k := i*ncol + j; k < len(plots) {
				grid[i][j] = plots[k]
			}
		}
	}
	img := vgimg.New(14*vg.Inch, vg.Length(nrow)*3*vg.Inch)
	dc := draw.Crop(draw.New(img), vg.Points(5), -vg.Points(5), vg.Points(5), -vg.Points(5))
	canvases := plot.Align(grid, draw.Tiles{Rows: nrow, Cols: ncol, PadX: vg.Millimeter * 5, PadY: vg.Millimeter * 5}, dc)
	for i := range grid {
		for j := range grid[i] {
			if grid[i][j] != nil {
				grid[i][j].Draw(canvases[i][j])
			}
		}
	}
	return writePNG(img, path)
}
