package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Results is everything one run measured.
type Results struct {
	Date     string    `json:"date"`
	Machine  string    `json:"machine"`
	Lanfind  string    `json:"lanfind"` // git describe of the measured tree
	Mode     string    `json:"announce_mode"`
	Quick    bool      `json:"quick"`
	Rows     []Row     `json:"rows"`
	BySvc    []Point   `json:"list_by_services,omitempty"`
	SvcHosts int       `json:"list_by_services_hosts,omitempty"` // hosts the services are spread over
	ByLoss   []Point   `json:"list_by_loss,omitempty"`
	Side     []SideRow `json:"side_by_side,omitempty"`
	Tools    []Tool    `json:"anchors,omitempty"`
	Notes    []string  `json:"notes,omitempty"`
	Errors   []string  `json:"errors,omitempty"`
}

// Row is one figure: the samples of one measurement and its target.
type Row struct {
	Group   string    `json:"group"`
	Name    string    `json:"name"`
	Unit    string    `json:"unit"`
	Samples []float64 `json:"samples"`
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	// Target is the bound from issue 3; Cmp is "<=" or ">=" or "" (none).
	Target float64 `json:"target,omitempty"`
	Cmp    string  `json:"cmp,omitempty"`
	// Worst says the target applies to every sample (min or max), not
	// the median.
	Worst bool   `json:"worst,omitempty"`
	Pass  *bool  `json:"pass,omitempty"`
	Note  string `json:"note,omitempty"`
	// Show replaces "median (min–max)" for rows whose samples are
	// different things (before / peak / after).
	Show string `json:"show,omitempty"`
}

// Point is one x value of a chart series.
type Point struct {
	X            float64   `json:"x"`
	WallMs       []float64 `json:"wall_ms"`
	FoundPct     []float64 `json:"found_pct"`
	Expected     int       `json:"expected"`
	RcvbufErrors int64     `json:"rcvbuf_errors,omitempty"`
}

func newResults(o Options, bin string, mode string) *Results {
	r := &Results{Date: time.Now().UTC().Format(time.RFC3339), Machine: machine(), Quick: o.Quick}
	if out, err := exec.Command("git", "-C", "..", "describe", "--always").Output(); err == nil && o.Lanfind == "" {
		r.Lanfind = strings.TrimSpace(string(out))
		// Changes under bench/ do not change what is measured.
		if st, err := exec.Command("git", "-C", "..", "status", "--porcelain", "--", ".", ":!bench").Output(); err == nil && len(st) > 0 {
			r.Lanfind += "-dirty"
		}
	} else {
		r.Lanfind = bin
	}
	switch mode {
	case modeService:
		r.Mode = "one lanfind announce process per host, --service repeated"
	case modeLib:
		r.Mode = "one process per host announcing all its services through the announce package (bench's stand-in for lanfind announce --service, which this lanfind lacks); single-service announcers are lanfind announce"
	default:
		r.Mode = "one lanfind announce process per service"
	}
	return r
}

// machine describes the CPU, memory and kernel.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(string(b), "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %.0f GB RAM", float64(kb)/(1<<20))
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%s, %d cores%s%s, %s", cpu, runtime.NumCPU(), mem, kernel, runtime.Version())
}

// Add records a row; target 0 and cmp "" mean no target.
func (r *Results) Add(row Row) {
	r.quietAdd(&row)
	if row.Cmp != "" && len(row.Samples) > 0 {
		v := row.Median
		if row.Worst {
			v = row.Max
			if row.Cmp == ">=" {
				v = row.Min
			}
		}
		ok := v <= row.Target
		if row.Cmp == ">=" {
			ok = v >= row.Target
		}
		row.Pass = &ok
	}
	r.Rows = append(r.Rows, row)
	logf("   %s: %s", row.Name, row.figure())
}

func fmtNum(v float64) string {
	switch {
	case v == float64(int64(v)) && v < 1e9 && v > -1e9:
		return fmt.Sprintf("%d", int64(v))
	case v >= 100 || v <= -100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10 || v <= -10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// figure is "median (min–max) unit".
func (row Row) figure() string {
	if row.Show != "" {
		return row.Show
	}
	if len(row.Samples) == 0 {
		return "n/a"
	}
	if len(row.Samples) == 1 || row.Min == row.Max {
		return fmt.Sprintf("%s %s", fmtNum(row.Median), row.Unit)
	}
	return fmt.Sprintf("%s (%s–%s) %s", fmtNum(row.Median), fmtNum(row.Min), fmtNum(row.Max), row.Unit)
}

func (row Row) target() string {
	if row.Cmp == "" {
		return "–"
	}
	cmp := map[string]string{"<=": "≤", ">=": "≥"}[row.Cmp]
	s := strings.TrimSpace(fmt.Sprintf("%s %s %s", cmp, fmtNum(row.Target), row.Unit))
	if row.Worst {
		s += " every run"
	}
	return s
}

// ratio is the figure the target applies to, over the target.
func (row Row) ratio() string {
	if row.Cmp == "" || row.Target == 0 || len(row.Samples) == 0 {
		return "–"
	}
	v := row.Median
	if row.Worst {
		v = row.Max
		if row.Cmp == ">=" {
			v = row.Min
		}
	}
	return fmt.Sprintf("%.2f", v/row.Target)
}

func (row Row) verdict() string {
	if row.Pass == nil {
		return ""
	}
	if *row.Pass {
		return "ok"
	}
	return "MISSED"
}

// Table is the plain-text table printed at the end.
func (r *Results) Table() string {
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "\nmeasurement\tmedian (min–max)\truns\ttarget\tratio\t\n")
	for _, row := range r.Rows {
		name := row.Name
		if row.Note != "" {
			name += " (" + row.Note + ")"
		}
		fmt.Fprintf(w, "%s: %s\t%s\t%d\t%s\t%s\t%s\n", row.Group, name, row.figure(), len(row.Samples), row.target(), row.ratio(), row.verdict())
	}
	w.Flush()
	buf.WriteString(r.SideTable())
	fmt.Fprintf(&buf, "\nmachine: %s\nannounce mode: %s\n", r.Machine, r.Mode)
	for _, n := range r.Notes {
		fmt.Fprintf(&buf, "note: %s\n", n)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&buf, "error: %s\n", e)
	}
	return buf.String()
}

// Markdown is results.md.
func (r *Results) Markdown(chart, sideChart string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# lanfind benchmark results\n\n")
	fmt.Fprintf(&b, "Measured %s on %s; lanfind %s. Announce mode: %s.", r.Date, r.Machine, r.Lanfind, r.Mode)
	if r.Quick {
		b.WriteString(" **Quick run (small sizes, few runs): not the published figures.**")
	}
	b.WriteString("\n\nMedians with min–max over the runs; the ratio is the figure the target applies to (the median, or the worst run) divided by the target.\n\n")
	b.WriteString("| measurement | median (min–max) | runs | target | ratio | |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, row := range r.Rows {
		name := row.Group + ": " + row.Name
		if row.Note != "" {
			name += " (" + row.Note + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s |\n", name, row.figure(), len(row.Samples), row.target(), row.ratio(), row.verdict())
	}
	if len(r.BySvc) > 0 || len(r.ByLoss) > 0 {
		b.WriteString("\n## Sweeps\n\n| series | x | list wall ms, median (min–max) | found %, median (min–max) | runs |\n| --- | --- | --- | --- | --- |\n")
		for _, s := range []struct {
			name string
			pts  []Point
		}{{"services", r.BySvc}, {"querier loss %", r.ByLoss}} {
			for _, p := range s.pts {
				w := Row{Samples: p.WallMs}
				f := Row{Samples: p.FoundPct}
				(&Results{}).quietAdd(&w)
				(&Results{}).quietAdd(&f)
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %d |\n", s.name, fmtNum(p.X), w.figure(), f.figure(), len(p.WallMs))
			}
		}
	}
	if chart != "" {
		fmt.Fprintf(&b, "\n![list wall time and completeness](%s)\n", chart)
	}
	b.WriteString(r.SideMarkdown(sideChart))
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n- %s", n)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "\n- error: %s", e)
	}
	b.WriteString("\n")
	return b.String()
}

// quietAdd fills median, min and max without logging.
func (*Results) quietAdd(row *Row) {
	if len(row.Samples) == 0 {
		return
	}
	s := slices.Clone(row.Samples)
	slices.Sort(s)
	row.Min, row.Max = s[0], s[len(s)-1]
	if len(s)%2 == 1 {
		row.Median = s[len(s)/2]
	} else {
		row.Median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
}

// Write writes base.md, base.json and, with sweep data, base-chart.png (or
// chart.png for the full run) into dir.
func (r *Results) Write(dir, base string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	chart := ""
	if len(r.BySvc) > 0 || len(r.ByLoss) > 0 {
		chart = "chart.png"
		if base != "results" {
			chart = base + "-chart.png"
		}
		if err := drawChart(r, filepath.Join(dir, chart)); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
	}
	sideChart := ""
	if len(r.Side) > 0 && len(r.Tools) > 0 {
		sideChart = sideChartSuffix
		if base != "results" {
			sideChart = base + "-" + sideChartSuffix
		}
		if err := drawSide(r, filepath.Join(dir, sideChart)); err != nil {
			return fmt.Errorf("side-by-side chart: %w", err)
		}
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, base+".json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, base+".md"), []byte(r.Markdown(chart, sideChart)), 0o644); err != nil {
		return err
	}
	logf("wrote %s", filepath.Join(dir, base+".md"))
	return nil
}

// redrawResults rewrites results.md and chart.png from results.json.
func redrawResults(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	return r.Write(dir, "results")
}
