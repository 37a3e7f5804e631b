package termtext

import "strings"

// Cell is one table cell: text already made safe, and an SGR sequence to
// show it with ("" for none).
type Cell struct {
	Text string
	SGR  string
}

// OrDashCell returns a plain cell of s, or a dim "-" for the empty string.
func OrDashCell(s string, st Style) Cell {
	if s == "" {
		return Cell{Text: "-", SGR: st.Dim}
	}
	return Cell{Text: s}
}

// Table aligns cells by their display width. (text/tabwriter would count
// the bytes of colour sequences and of wide runes as width.)
type Table struct {
	Header []string
	Rows   [][]Cell
}

// Lines returns the header and the rows as runs of text: cells, with a
// run of spaces (no SGR) padding each cell but the last to its column's
// width and two spaces between columns.
func (t Table) Lines(st Style) [][]Cell {
	widths := make([]int, len(t.Header))
	for i, h := range t.Header {
		widths[i] = Width(h)
	}
	for _, row := range t.Rows {
		for i, c := range row {
			widths[i] = max(widths[i], Width(c.Text))
		}
	}
	line := func(cells []Cell) []Cell {
		var out []Cell
		for i, c := range cells {
			out = append(out, c)
			if i < len(cells)-1 {
				pad := strings.Repeat(" ", widths[i]-Width(c.Text)+2)
				out = append(out, Cell{Text: pad})
			}
		}
		return out
	}
	hdr := make([]Cell, len(t.Header))
	for i, h := range t.Header {
		hdr[i] = Cell{Text: h, SGR: st.Header}
	}
	out := [][]Cell{line(hdr)}
	for _, row := range t.Rows {
		out = append(out, line(row))
	}
	return out
}

// Render returns lines of cells as text with the SGR sequences of st, one
// line each, with no trailing spaces.
func Render(lines [][]Cell, st Style) string {
	var b strings.Builder
	for _, l := range lines {
		for _, c := range l {
			b.WriteString(st.Paint(c.SGR, c.Text))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
