// Package trunc shortens text for people: the one truncation of pooltasks,
// shared by the Slack renderer, the CLI, the audit log and the API client.
// It never splits a UTF-8 sequence, and it measures text as Slack's limits
// do, conservatively: in UTF-16 code units, so a character outside the
// Basic Multilingual Plane (most emoji) counts twice. A terminal shows such
// characters two columns wide, so the same measure suits the CLI.
package trunc

import "unicode/utf8"

// Ellipsis marks where text was cut.
const Ellipsis = "…"

// Len is the length of s in the measure of this package (UTF-16 code
// units). Invalid bytes count one each.
func Len(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n += RuneLen(r)
	}
	return n
}

// RuneLen is the length of r in the measure of this package: 2 for a
// character outside the Basic Multilingual Plane, else 1.
func RuneLen(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// Cut returns s when it is at most max long, else its start followed by
// Ellipsis, within max in all. It cuts between characters, never inside
// one. Cut(s, 0) of a non-empty s is "".
func Cut(s string, max int) string {
	if len(s) <= max {
		return s // a byte at least per unit: it fits
	}
	if max <= 0 {
		return ""
	}
	n := 0
	for i, r := range s {
		w := RuneLen(r)
		if n+w > max-1 {
			// s[i:] must be cut unless it fits whole in what is left.
			if Len(s[i:]) <= max-n {
				return s
			}
			return s[:i] + Ellipsis
		}
		n += w
	}
	return s
}
