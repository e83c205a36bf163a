package main

import (
	"io"
	"strings"

	"github.com/pooltasks/pooltasks/trunc"
)

// termWidth is the width of the terminal tables are made to fit.
const termWidth = 80

// minCut is the narrowest a column is cut to.
const minCut = 8

// table is rows of cells (the first row the header), written in columns
// two spaces apart. Unless wide, it fits termWidth: the widest column is
// cut, with an ellipsis, until the table fits or every column is minCut;
// a column in keep is never cut (an id to copy into the next command).
type table struct {
	rows [][]string
	wide bool
	keep map[int]bool
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

// drop removes column i, before write; keep is by index after the drop.
func (t *table) drop(i int) {
	for n, r := range t.rows {
		t.rows[n] = append(r[:i:i], r[i+1:]...)
	}
	keep := map[int]bool{}
	for k := range t.keep {
		switch {
		case k < i:
			keep[k] = true
		case k > i:
			keep[k-1] = true
		}
	}
	t.keep = keep
}

func (t *table) write(w io.Writer) error {
	if len(t.rows) == 0 {
		return nil
	}
	widths := make([]int, len(t.rows[0]))
	for _, r := range t.rows {
		for i, c := range r {
			widths[i] = max(widths[i], trunc.Len(c))
		}
	}
	if !t.wide {
		total := 2 * (len(widths) - 1)
		for _, n := range widths {
			total += n
		}
		for ; total > termWidth; total-- {
			widest := -1
			for i, n := range widths {
				if !t.keep[i] && (widest < 0 || n > widths[widest]) {
					widest = i
				}
			}
			if widest < 0 || widths[widest] <= minCut {
				break
			}
			widths[widest]--
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		var line strings.Builder
		for i, c := range r {
			c = trunc.Cut(c, widths[i])
			line.WriteString(c)
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-trunc.Len(c)+2))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
