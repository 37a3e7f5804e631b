package config

import (
	"strconv"

	"github.com/pelletier/go-toml/v2/unstable"
)

// position is a place in a configuration file, both counted from 1.
type position struct{ line, col int }

// maxDepth is the most key parts a path of the index has: the schema's
// deepest key is service.N.meta.KEY. Deeper keys are not indexed, so a
// file of deeply dotted keys costs memory in proportion to its size, not
// to the square of its depth.
const maxDepth = 4

// indexPositions maps every key of a valid TOML document, up to maxDepth
// parts deep, to where it is defined. Paths join keys with dots and number
// the tables of an array from 0: "interval", "service.1.meta.version".
func indexPositions(data []byte) map[string]position {
	ix := &indexer{idx: map[string]position{}, arrays: map[string]int{}}
	ix.p.Reset(data)
	ctx, ctxDepth := "", 0
	for ix.p.NextExpression() {
		e := ix.p.Expression()
		switch e.Kind {
		case unstable.Table:
			ctx, ctxDepth, _ = ix.walk("", 0, e.Key(), false)
		case unstable.ArrayTable:
			path, depth, at := ix.walk("", 0, e.Key(), true)
			n := ix.arrays[path]
			ix.arrays[path] = n + 1
			ctx, ctxDepth = join(path, strconv.Itoa(n)), depth+1
			ix.note(ctx, ctxDepth, at)
		case unstable.KeyValue:
			path, depth, at := ix.walk(ctx, ctxDepth, e.Key(), false)
			ix.value(path, depth, at, e.Value())
		}
	}
	return ix.idx
}

type indexer struct {
	p      unstable.Parser
	idx    map[string]position
	arrays map[string]int // arrays of tables: path → tables so far
}

func (ix *indexer) pos(n *unstable.Node) position {
	s := ix.p.Shape(n.Raw).Start
	return position{s.Line, s.Column}
}

func (ix *indexer) note(path string, depth int, at position) {
	if depth > maxDepth {
		return
	}
	if _, ok := ix.idx[path]; !ok {
		ix.idx[path] = at
	}
}

// walk resolves the key parts of it under base (depth parts deep),
// descending into the latest table of arrays of tables on the way, and
// returns the path, its depth and where the key starts. Past maxDepth the
// path stops growing: nothing that deep is looked up.
func (ix *indexer) walk(base string, depth int, it unstable.Iterator,
	newElem bool) (string, int, position) {
	path, at := base, position{}
	first := true
	for it.Next() {
		k := it.Node()
		if first {
			at, first = ix.pos(k), false
		}
		if depth >= maxDepth {
			depth++
			continue
		}
		path, depth = join(path, string(k.Data)), depth+1
		ix.note(path, depth, at)
		if n, ok := ix.arrays[path]; ok && !(newElem && !ix.more(it)) {
			path, depth = join(path, strconv.Itoa(n-1)), depth+1
		}
	}
	return path, depth, at
}

// more reports whether it has another key part, without consuming it.
func (ix *indexer) more(it unstable.Iterator) bool { return it.Next() }

func (ix *indexer) value(path string, depth int, at position, v *unstable.Node) {
	switch v.Kind {
	case unstable.InlineTable:
		ix.keyValues(path, depth, v)
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); i++ {
			e := it.Node()
			if e.Kind != unstable.InlineTable {
				continue
			}
			ep := join(path, strconv.Itoa(i))
			if first := e.Child(); first != nil {
				if k := first.Key(); k.Next() {
					at = ix.pos(k.Node())
				}
			}
			ix.note(ep, depth+1, at)
			ix.keyValues(ep, depth+1, e)
		}
	}
}

func (ix *indexer) keyValues(base string, depth int, n *unstable.Node) {
	it := n.Children()
	for it.Next() {
		kv := it.Node()
		path, d, at := ix.walk(base, depth, kv.Key(), false)
		ix.value(path, d, at, kv.Value())
	}
}

func join(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}
