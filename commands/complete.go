package commands

import "strings"

// Complete returns the words that may come next in a command whose words
// so far are words, starting with prefix (any case): the verbs at the
// start, the keys (as "key=") the verb takes, share, and after "status=" or
// "type=" their values. It is for shell completion of `pooltasks query`.
func Complete(words []string, prefix string) []string {
	lower := strings.ToLower(prefix)
	if k, v, ok := strings.Cut(lower, "="); ok {
		id, known := lookupKey(k)
		if !known {
			return nil
		}
		var values []string
		switch id {
		case keyStatus:
			values = []string{"SUCCESS", "FAILED", "RUNNING", "WAITING"}
		case keyType:
			values = []string{"SCRIPT", "COMMAND"}
		case keySince, keyUntil:
			values = []string{"1h", "24h", "7d", "today", "yesterday", "monday"}
		}
		var out []string
		for _, val := range values {
			if strings.HasPrefix(strings.ToLower(val), v) {
				out = append(out, prefix[:len(k)+1]+val)
			}
		}
		return out
	}
	row := verbRow(VerbList)
	var out []string
	if len(words) == 0 {
		for _, v := range verbs {
			out = append(out, string(v.verb))
		}
	} else if v, ok := lookupVerb(words[0]); ok {
		row = verbRow(v)
	}
	for id := range keys {
		if row.keys&(1<<id) != 0 {
			out = append(out, keys[id].name+"=")
		}
	}
	if row.share {
		out = append(out, "share")
	}
	var matched []string
	for _, w := range out {
		if strings.HasPrefix(w, lower) {
			matched = append(matched, w)
		}
	}
	return matched
}
