// Package termtext owns how lanfind puts text on a terminal: escaping
// untrusted text from the network ([Clean]), display widths, aligned
// tables of styled cells ([Table]) and the colour rules of human output
// ([Style], [UseColor]).
//
// It knows nothing about services or commands: lanfind's result tables,
// the live watch table and the doctor's report build on it. It must not
// import urfave/cli, tcell or any lanfind package; besides the standard
// library it uses only github.com/rivo/uniseg (widths) and golang.org/x/term
// (terminal detection).
package termtext
