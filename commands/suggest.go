package commands

import (
	"slices"
	"strings"
)

// Candidate spellings for suggestions, in table order so that ties go to
// the more common word.
var (
	verbList  []string // verbs
	keyList   []string // keys and aliases
	wordList  []string // the filters' keys, aliases and share: what a stray word may have meant
	topicList []string // everything help knows about
)

func init() {
	for _, v := range verbs {
		verbList = append(verbList, string(v.verb))
	}
	for _, k := range keys {
		keyList = append(keyList, k.name)
		keyList = append(keyList, k.aliases...)
	}
	for _, k := range keys[:keyFor] {
		wordList = append(wordList, k.name)
		wordList = append(wordList, k.aliases...)
	}
	wordList = append(wordList, "share")
	topicList = append(append([]string{}, keyList...), verbList...)
	topicList = append(topicList, "share")
}

func verbNames() []string  { return verbList }
func keyNames() []string   { return keyList }
func wordNames() []string  { return wordList }
func topicNames() []string { return topicList }

// topicName turns what follows help into the canonical topic: a key name
// (aliases map to it), a verb, or share.
func topicName(w string) (string, bool) {
	if id, ok := lookupKey(w); ok {
		return keys[id].name, true
	}
	if v, ok := lookupVerb(w); ok {
		return string(v), true
	}
	if equalFoldASCII(w, "share") {
		return "share", true
	}
	return "", false
}

// maxSuggestLen bounds the words compared, which keeps suggest cheap.
const maxSuggestLen = 24

// suggest returns the candidate nearest to w by edit distance (with
// transpositions, case-insensitive), if it is near enough to be what the
// person meant: one edit for words up to 4 letters, two for longer ones.
func suggest(w string, candidates []string) (string, bool) {
	if len(w) == 0 || len(w) > maxSuggestLen {
		return "", false
	}
	limit := 2
	if len(w) <= 4 {
		limit = 1
	}
	best, bestD := "", limit+1
	for _, c := range candidates {
		if d := distance(w, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best, best != ""
}

// distance is the optimal string alignment distance between a (any case)
// and b (lower case), both at most maxSuggestLen bytes long.
func distance(a, b string) int {
	var rows [3][maxSuggestLen + 1]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	lower := func(c byte) byte {
		if 'A' <= c && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		ai := lower(a[i-1])
		for j := 1; j <= len(b); j++ {
			cost := 1
			if ai == b[j-1] {
				cost = 0
			}
			d := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ai == b[j-2] && lower(a[i-2]) == b[j-1] {
				d = min(d, prev2[j-2]+1)
			}
			cur[j] = d
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// SuggestName returns the one of names (target names, say, in any case)
// nearest to w, as suggest does for the language's own words, for "did
// you mean".
func SuggestName(w string, names []string) (string, bool) {
	var lower, orig []string
	for _, n := range names {
		if len(n) <= maxSuggestLen {
			lower, orig = append(lower, strings.ToLower(n)), append(orig, n)
		}
	}
	s, ok := suggest(w, lower)
	if !ok {
		return "", false
	}
	return orig[slices.Index(lower, s)], true
}
