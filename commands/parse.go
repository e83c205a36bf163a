package commands

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pooltasks/pooltasks/pooltask"
)

// Command is one parsed command.
type Command struct {
	Verb Verb
	// Query holds the filters, ready for the Workspace client. Offset is
	// derived from Page and Limit; Limit is 1..100 (default 10) for every
	// verb. Start and End are UTC, truncated to the second. PoolID holds the
	// pool= value as given: an id or a pool name, which the bot resolves.
	// For failed, Status is FAILED and Start defaults to 24h before End (or
	// now); for digest, Start has the same default. For show and watch,
	// TaskIDs holds TaskID, so the query fetches exactly that task.
	Query  pooltask.ListOptions
	Page   int    // 1-based, default 1
	TaskID string // the task of show and watch
	Share  bool   // post the answer in the channel
	Topic  string // help KEY or VERB: the canonical key name or verb; "" for general help
	// Target is target= as given: a target's name, "all", or "" for the
	// target the channel's binding or the default implies. Which names
	// exist is the bot's to check.
	Target string
	// For and Reason are a mute's length and why (mute); Query.PoolID
	// holds the pool of mute and unmute.
	For    time.Duration
	Reason string
}

// Problem is one mistake in a command.
type Problem struct {
	Key     string // the canonical key name, or the key as written when unknown; "" for a word
	Value   string // the value or word at fault, as written
	Message string // a full sentence a person can act on
}

// InputError is the error Parse returns for user mistakes; it lists every
// problem found. Answer it to the person; it is not an internal error.
type InputError struct {
	Problems []Problem
}

// Error returns all problems, one per line.
func (e *InputError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

// longText is the length in bytes below which the canonical form of a
// command provably stays within MaxTextLen characters, so Parse need not
// render it to check.
const longText = 150

// Parse reads the words of a command (without "/pooltasks" or the bot's
// mention) as of now. Empty text asks for help. Every mistake found is
// reported in one *InputError; Parse returns no other error.
//
// Slack's markup is undone first: links it made (<http://a.sh|a.sh>), then
// &amp; &lt; &gt;, and typographic double quotes count as quotes.
//
// Relative times count back from now: 90s, 1h30m, 2 hours, 2h ago (see
// parseRelative and joinTime); dates are UTC days. As since a date
// (also today, yesterday) is its midnight; as until it is its last second,
// 23:59:59, so until=2026-11-27 includes that whole day. A date and a time
// of day may be given without quotes: since=2026-11-27 09:00.
//
// Decisions the product text leaves open:
//   - show and watch take one TASK_ID and share, no filters;
//   - digest takes pool, script, name, type, since and until;
//   - help takes at most one KEY or VERB (help share is the topic share),
//     and share; doctor takes nothing at all, not even share;
//   - failed with a status other than FAILED is a mistake;
//   - without since, failed and digest start 24h before until if until is
//     in the past, else 24h before now;
//   - task= drops empty items and repeats; share may be repeated;
//   - values are trimmed; pool, script and name refuse control characters.
//
// Canonical writes absolute times, so Parse(c.Canonical(), later) == c for
// any later now at or after the first (a since in the future is refused).
func Parse(text string, now time.Time) (Command, error) {
	now = now.UTC().Truncate(time.Second)
	if !utf8.ValidString(text) {
		return Command{}, &InputError{Problems: []Problem{{Message: "the command is not valid UTF-8 text; type it again"}}}
	}
	if len(text) > MaxTextLen {
		if n := utf8.RuneCountInString(text); n > MaxTextLen {
			return Command{}, &InputError{Problems: []Problem{{
				Message: fmt.Sprintf("the command is %d characters long; the limit is %d — narrow it down or split it", n, MaxTextLen),
			}}}
		}
	}
	p := parser{now: now}
	p.parse(decode(text))
	if len(p.problems) == 0 && len(text) > longText {
		// Relative times and defaults grow when written out; a canonical
		// form Parse would refuse could not be carried by a button.
		if n := utf8.RuneCountInString(p.c.Canonical()); n > MaxTextLen {
			p.add("", "", fmt.Sprintf("the command is %d characters long once written out in full; the limit is %d — narrow it down or split it", n, MaxTextLen))
		}
	}
	if len(p.problems) > 0 {
		return Command{}, &InputError{Problems: p.problems}
	}
	return p.c, nil
}

// parser holds the state of one Parse.
type parser struct {
	now      time.Time
	c        Command
	row      *verbInfo
	seen     [numKeys]string // the token that gave each key, for "given twice"
	since    time.Time
	until    time.Time
	limit    int
	page     int
	problems []Problem
}

func (p *parser) add(key, value, msg string) {
	p.problems = append(p.problems, Problem{Key: key, Value: value, Message: msg})
}

func (p *parser) parse(text string) {
	t, i, ok := nextToken(text, 0)
	if !ok {
		p.c = Command{Verb: VerbHelp}
		p.finish()
		return
	}
	p.c.Verb = VerbList
	if !t.hasEq && t.closed {
		if v, isVerb := lookupVerb(t.value); isVerb {
			p.c.Verb = v
			t, i, ok = nextToken(text, i)
		} else if p.colonKey(t) {
			t, i, ok = nextToken(text, i)
		} else if !equalFoldASCII(t.value, "share") {
			if _, isKey := lookupKey(t.value); !isKey {
				// A misspelt verb: report it, and when it was meant to be
				// show or watch, take its TASK_ID with it.
				next, j, more := nextToken(text, i)
				if p.unknownVerb(t.value) && more && !next.hasEq && next.closed {
					i = j
				}
				t, i, ok = nextToken(text, i)
			}
		}
	}
	p.row = verbRow(p.c.Verb)
	for ; ok; t, i, ok = nextToken(text, i) {
		if !t.closed {
			p.add("", t.raw, fmt.Sprintf("%s has a quote that is not closed; add the closing \"", t.raw))
			continue
		}
		if t.hasEq {
			if id, ok := lookupKey(t.key); ok && (id == keySince || id == keyUntil) {
				t, i = joinTime(t, text, i)
			}
			p.keyValue(t)
			continue
		}
		if id, isKey := lookupKey(t.value); isKey && p.row.keys&(1<<id) != 0 {
			if next, j, more := nextToken(text, i); more && !next.hasEq && next.closed && !equalFoldASCII(next.value, "share") {
				// "status failed": the = was forgotten.
				p.add(keys[id].name, next.value, fmt.Sprintf("%q needs = before its value: write %s=%s", t.value, t.value, next.raw))
				i = j
				continue
			}
		}
		if p.colonKey(t) {
			continue
		}
		p.word(t)
	}
	p.finish()
}

// joinTime returns the since or until token t with the words after it (up
// to text[i:]) that belong to its time when typed without quotes, and where
// the rest of the text starts. Each of these words would otherwise be a
// stray word, which no command accepts, so taking it changes no meaning:
//   - a time of day after a date: since=2026-11-27 09:00;
//   - week after last: since=last week;
//   - a unit after a number: since=2 h, since=2 hours;
//   - "ago" after a relative time (valid or not, so that it is reported
//     once): since=2h ago, since=2 hours ago.
func joinTime(t token, text string, i int) (token, int) {
	join := func(ok func(string) bool) {
		if next, j, more := nextToken(text, i); more && next.closed && !next.hasEq && ok(next.value) {
			t.value += " " + next.value
			t.raw += " " + next.raw
			i = j
		}
	}
	if isDate(t.value) {
		join(isClock)
		return t, i
	}
	if equalFoldASCII(t.value, "last") {
		join(func(w string) bool { return equalFoldASCII(w, "week") })
		return t, i
	}
	if t.value != "" && allDigits(t.value) {
		join(func(w string) bool { _, ok := lookupUnit(w); return ok })
	}
	// Look at the next word before parsing the value again: this runs for
	// every since and until.
	j := i
	for j < len(text) {
		sp, n := isSpace(text, j)
		if !sp {
			break
		}
		j += n
	}
	if len(text)-j >= 3 && equalFoldASCII(text[j:j+3], "ago") && isRelative(t.value) {
		join(func(w string) bool { return equalFoldASCII(w, "ago") })
	}
	return t, i
}

// colonKey reports a key written with a colon, status:failed as in search
// boxes, and whether it did.
func (p *parser) colonKey(t token) bool {
	if t.hasEq || !t.closed {
		return false
	}
	k, v, found := strings.Cut(t.value, ":")
	if !found || v == "" {
		return false
	}
	if _, ok := lookupKey(k); !ok {
		return false
	}
	p.add("", t.raw, fmt.Sprintf("%q: write key=value with =, e.g. %s=%s", t.raw, k, v))
	return true
}

// unknownVerb reports a first word that is no verb, and whether it is
// probably show or watch.
func (p *parser) unknownVerb(w string) (takesID bool) {
	if s, ok := suggest(w, verbNames()); ok {
		p.add("", w, fmt.Sprintf("unknown verb %q — did you mean %s?", w, s))
		return takesTaskID(Verb(s))
	}
	if s, ok := suggest(w, wordNames()); ok {
		p.suggestWord(w, s)
		return false
	}
	if looksLikeID(w) {
		p.add("", w, fmt.Sprintf("%q is not a verb or a key=value filter; to see one task write show %s", w, w))
		return false
	}
	p.add("", w, fmt.Sprintf("unknown verb %q; use %s, or filters like status=FAILED", w, allVerbs))
	return false
}

// word handles a word without '='.
func (p *parser) word(t token) {
	w := t.value
	switch {
	case p.c.Verb == VerbHelp && p.c.Topic == "":
		if topic, ok := topicName(w); ok {
			p.c.Topic = topic
			return
		}
		if s, ok := suggest(w, topicNames()); ok {
			p.add("", w, fmt.Sprintf("there is no help on %q — did you mean help %s?", w, s))
		} else {
			p.add("", w, fmt.Sprintf("there is no help on %q; ask about a key (%s) or a verb (%s)", w, allKeysPhrase, allVerbs))
		}
		p.c.Topic = "-"
		return
	case equalFoldASCII(w, "share"):
		if !p.row.share {
			p.add("", w, fmt.Sprintf("%s cannot be shared; its answer goes only to you", p.c.Verb))
			return
		}
		p.c.Share = true
		return
	case takesTaskID(p.c.Verb) && p.c.TaskID == "":
		if msg := checkID(w); msg != "" {
			p.add("", w, msg)
			p.c.TaskID = "-" // given, though bad: no "needs a TASK_ID" as well
			return
		}
		p.c.TaskID = w
		return
	}
	switch p.c.Verb {
	case VerbShow, VerbWatch, VerbRetry, VerbStop:
		p.add("", w, fmt.Sprintf("stray word %q: %s takes one TASK_ID (and share)", w, p.c.Verb))
		return
	case VerbHelp:
		p.add("", w, fmt.Sprintf("stray word %q: help takes one KEY or VERB", w))
		return
	case VerbDoctor, VerbMutes:
		p.add("", w, fmt.Sprintf("stray word %q: %s takes no arguments", w, p.c.Verb))
		return
	case VerbMute, VerbUnmute:
		p.add("", w, fmt.Sprintf("stray word %q: write %s pool=NAME%s", w, p.c.Verb, map[Verb]string{VerbMute: ` for=2h reason="why"`}[p.c.Verb]))
		return
	}
	if v, ok := lookupVerb(w); ok {
		p.add("", w, fmt.Sprintf("the verb %s must come first: %s ...", v, v))
		return
	}
	if id, ok := lookupKey(w); ok {
		p.add(keys[id].name, "", fmt.Sprintf("%q needs a value: write %s=%s", w, w, keys[id].value))
		return
	}
	if equalFoldASCII(w, "ago") {
		p.add("", w, `stray word "ago": it may only follow a time ago, as in since=2h ago`)
		return
	}
	if _, ok, _ := parseRelative(w); ok {
		p.add("", w, fmt.Sprintf("stray word %q: a time goes after since= or until=, in one word (since=1h30m) or in quotes (since=\"1h 30m\")", w))
		return
	}
	if s, ok := suggest(w, wordNames()); ok {
		p.suggestWord(w, s)
		return
	}
	if looksLikeID(w) && p.c.Verb == VerbList {
		p.add("", w, fmt.Sprintf("stray word %q: to see one task write show %s, or filter with task=%s", w, w, w))
		return
	}
	p.add("", w, fmt.Sprintf("stray word %q: write filters as key=value, e.g. status=FAILED (see help)", w))
}

// suggestWord reports an unknown word w that is probably s, a key or share.
func (p *parser) suggestWord(w, s string) {
	if s == "share" {
		p.add("", w, fmt.Sprintf("unknown word %q — did you mean share?", w))
		return
	}
	id, _ := lookupKey(s)
	p.add("", w, fmt.Sprintf("unknown word %q — did you mean %s=%s?", w, s, keys[id].value))
}

// keyValue handles key=value.
func (p *parser) keyValue(t token) {
	id, ok := lookupKey(t.key)
	if !ok {
		switch {
		case t.key == "":
			p.add("", t.raw, fmt.Sprintf("%s has no key before =; write key=value, e.g. status=FAILED", t.raw))
		default:
			if s, ok := suggest(t.key, keyNames()); ok {
				p.add(t.key, t.value, fmt.Sprintf("unknown key %q — did you mean %s?", t.key, s))
			} else {
				p.add(t.key, t.value, fmt.Sprintf("unknown key %q; use %s", t.key, allKeysPhrase))
			}
		}
		return
	}
	k := &keys[id]
	if id == keyTask && takesTaskID(p.c.Verb) && p.c.TaskID == "" {
		// "show task=ID" says what "show ID" says: take it.
		p.word(token{raw: t.raw, value: strings.TrimSpace(t.value), closed: true})
		return
	}
	if p.row.keys&(1<<id) == 0 {
		switch p.c.Verb {
		case VerbShow, VerbWatch, VerbRetry, VerbStop:
			p.add(k.name, t.value, fmt.Sprintf("%s takes only a TASK_ID (and target=, share); remove %s", p.c.Verb, t.raw))
		case VerbHelp:
			p.add(k.name, t.value, fmt.Sprintf("help takes a KEY or VERB, not filters; for help on %s write help %s", k.name, k.name))
		case VerbDoctor:
			p.add(k.name, t.value, fmt.Sprintf("doctor takes no arguments; remove %s", t.raw))
		default:
			p.add(k.name, t.value, fmt.Sprintf("%s does not take %s; remove %s", p.c.Verb, k.name, t.raw))
		}
		return
	}
	if prev := p.seen[id]; prev != "" {
		p.add(k.name, t.value, fmt.Sprintf("%s is given twice (%s and %s); give it once", k.name, prev, t.raw))
		return
	}
	p.seen[id] = t.raw
	v := strings.TrimSpace(t.value)
	if v == "" {
		p.add(k.name, t.value, fmt.Sprintf("%s needs a value, e.g. %s", k.name, k.examples[0]))
		return
	}
	switch id {
	case keyPool, keyScript, keyName:
		if hasControl(v) {
			p.add(k.name, t.value, fmt.Sprintf("%s %q contains control characters; type the value again", k.name, v))
			return
		}
		switch id {
		case keyPool:
			p.c.Query.PoolID = v
		case keyScript:
			p.c.Query.ScriptID = v
		case keyName:
			p.c.Query.ScriptName = v
		}
	case keyStatus:
		s, ok := parseStatus(v)
		if !ok {
			if w, near := suggest(v, statusWordList); near {
				s, _ := parseStatus(w)
				p.add(k.name, t.value, fmt.Sprintf("status %q is not valid — did you mean status=%s?", v, s))
				return
			}
			p.add(k.name, t.value, fmt.Sprintf("status %q is not valid; use %s", v, statusHelp))
			return
		}
		p.c.Query.Status = s
	case keyType:
		switch {
		case equalFoldASCII(v, "script"):
			p.c.Query.TaskType = pooltask.TaskTypeScript
		case equalFoldASCII(v, "command"):
			p.c.Query.TaskType = pooltask.TaskTypeCommand
		default:
			p.add(k.name, t.value, fmt.Sprintf("type %q is not valid; use SCRIPT or COMMAND", v))
		}
	case keySince, keyUntil:
		tm, msg := parseTime(v, p.now, id == keyUntil)
		if tm.IsZero() {
			if msg == "" {
				msg = "is not a time; use " + timeHelp
			}
			p.add(k.name, t.value, fmt.Sprintf("%s %q %s", k.name, v, msg))
			return
		}
		if id == keySince {
			p.since = tm
		} else {
			p.until = tm
		}
	case keyTask:
		p.tasks(v)
	case keyTarget:
		if !isTargetName(v) {
			p.add(k.name, t.value, fmt.Sprintf("target %q is not a target name (letters, digits and -, as in target=eu) or all", v))
			return
		}
		if equalFoldASCII(v, "all") {
			v = "all"
		}
		p.c.Target = v
	case keyFor:
		d, ok, msg := parseRelative(v)
		switch {
		case !ok && msg != "":
			p.add(k.name, t.value, fmt.Sprintf("for %q %s", v, msg))
		case !ok || d <= 0:
			p.add(k.name, t.value, fmt.Sprintf("for %q is not a length of time; write e.g. for=2h, for=90m or for=1d", v))
		case d > MaxMute:
			p.add(k.name, t.value, fmt.Sprintf("for %q is longer than a mute may last (30 days); mute again when it ends", v))
		default:
			p.c.For = d
		}
	case keyReason:
		switch {
		case hasControl(v):
			p.add(k.name, t.value, "reason contains control characters; type it again")
		case utf8.RuneCountInString(v) > MaxReasonLen:
			p.add(k.name, "", fmt.Sprintf("reason is %d characters long; keep it to %d", utf8.RuneCountInString(v), MaxReasonLen))
		default:
			p.c.Reason = v
		}
	case keyLimit:
		n, ok := parseInt(v)
		if !ok || n < 1 || n > MaxLimit {
			p.add(k.name, t.value, fmt.Sprintf("limit %q is not valid; use a number from 1 to %d", v, MaxLimit))
			return
		}
		p.limit = n
	case keyPage:
		n, ok := parseInt(v)
		if !ok || n < 1 || n > MaxPage {
			p.add(k.name, t.value, fmt.Sprintf("page %q is not valid; use a number from 1 to %d", v, MaxPage))
			return
		}
		p.page = n
	}
}

// tasks reads a comma-separated list of task ids. Empty items (a trailing
// comma) are skipped and repeats dropped.
func (p *parser) tasks(v string) {
	var ids []string
	bad := false
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if msg := checkID(item); msg != "" {
			p.add(keys[keyTask].name, item, msg)
			bad = true
			continue
		}
		dup := false
		for _, id := range ids {
			if id == item {
				dup = true
				break
			}
		}
		if !dup {
			ids = append(ids, item)
		}
	}
	switch {
	case bad:
	case len(ids) == 0:
		p.add(keys[keyTask].name, v, "task needs at least one task id, e.g. "+keys[keyTask].examples[0])
	case len(ids) > MaxTaskIDs:
		p.add(keys[keyTask].name, "", fmt.Sprintf("task has %d ids; give at most %d", len(ids), MaxTaskIDs))
	default:
		p.c.Query.TaskIDs = ids
	}
}

// finish applies the defaults and the checks that involve several keys.
func (p *parser) finish() {
	c := &p.c
	c.Page, c.Query.Limit = 1, DefaultLimit
	if p.page > 0 {
		c.Page = p.page
	}
	if p.limit > 0 {
		c.Query.Limit = p.limit
	}
	c.Query.Offset = (c.Page - 1) * c.Query.Limit
	switch c.Verb {
	case VerbShow, VerbWatch, VerbRetry, VerbStop:
		if c.TaskID == "" {
			p.add("", "", fmt.Sprintf("%s needs a TASK_ID: %s TASK_ID (the id is in every list)", c.Verb, c.Verb))
		} else {
			c.Query.TaskIDs = []string{c.TaskID}
		}
	case VerbMute, VerbUnmute:
		if c.Query.PoolID == "" {
			p.add(keys[keyPool].name, "", fmt.Sprintf("%s needs the pool: %s pool=NAME", c.Verb, c.Verb))
		}
		if c.Verb == VerbMute && c.For == 0 && p.seen[keyFor] == "" {
			p.add(keys[keyFor].name, "", "mute needs how long: add for=2h (or 30m, 1d …)")
		}
	case VerbFailed:
		if s := c.Query.Status; s != "" && s != pooltask.FilterFailed {
			p.add(keys[keyStatus].name, string(s), fmt.Sprintf("failed lists FAILED tasks only; to list %s tasks write list status=%s", s, s))
		}
		c.Query.Status = pooltask.FilterFailed
	}
	c.Query.Start, c.Query.End = p.since, p.until
	if p.since.IsZero() && (c.Verb == VerbFailed || c.Verb == VerbDigest) {
		base := p.now
		if !p.until.IsZero() && p.until.Before(p.now) {
			base = p.until
		}
		c.Query.Start = base.Add(-24 * time.Hour)
		if c.Query.Start.Before(minTime) {
			c.Query.Start = minTime
		}
	}
	if !p.since.IsZero() {
		if p.since.After(p.now) {
			p.add(keys[keySince].name, p.seen[keySince], fmt.Sprintf("since %s is in the future (it is %s now)", formatDescribe(p.since), formatDescribe(p.now)))
		}
		if !p.until.IsZero() && p.since.After(p.until) {
			p.add(keys[keySince].name, p.seen[keySince], fmt.Sprintf("since %s is after until %s; swap them or widen the window", formatDescribe(p.since), formatDescribe(p.until)))
		}
	}
}

func parseStatus(v string) (pooltask.StatusFilter, bool) {
	for _, s := range statusWords {
		if equalFoldASCII(v, s.word) {
			return s.filter, true
		}
	}
	return "", false
}

var statusWords = []struct {
	word   string
	filter pooltask.StatusFilter
}{
	{"failed", pooltask.FilterFailed}, {"fail", pooltask.FilterFailed}, {"error", pooltask.FilterFailed},
	{"failure", pooltask.FilterFailed},
	{"success", pooltask.FilterSuccess}, {"ok", pooltask.FilterSuccess}, {"succeeded", pooltask.FilterSuccess},
	{"running", pooltask.FilterRunning},
	{"waiting", pooltask.FilterWaiting}, {"pending", pooltask.FilterWaiting}, {"queued", pooltask.FilterWaiting},
	// A task's own status, which every answer shows, is another vocabulary
	// than the filter's: people copy FINISH and INIT from a list.
	{"finish", pooltask.FilterSuccess}, {"finished", pooltask.FilterSuccess},
	{"init", pooltask.FilterWaiting},
}

// statusWordList holds the words of statusWords, for suggestions.
var statusWordList = func() []string {
	var l []string
	for _, s := range statusWords {
		l = append(l, s.word)
	}
	return l
}()

// parseInt reads a plain decimal number of at most 9 digits.
func parseInt(v string) (int, bool) {
	if len(v) == 0 || len(v) > 9 {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// checkID explains why id is not a task id, or returns "".
func checkID(id string) string {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Sprintf("task id %q has characters other than letters, digits, - and _; copy it from a list", id)
		}
	}
	if len(id) > 64 {
		return fmt.Sprintf("task id %q is %d characters long; task ids have at most 64", id[:16]+"...", len(id))
	}
	return ""
}

// isTargetName reports whether v is shaped like a target name (see
// config's targets file) or all.
func isTargetName(v string) bool {
	if len(v) == 0 || len(v) > 32 || v[0] == '-' {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// isDate reports whether v is shaped like 2026-11-27.
func isDate(v string) bool {
	return len(v) == 10 && v[4] == '-' && v[7] == '-' && allDigits(v[:4]) && allDigits(v[5:7]) && allDigits(v[8:])
}

// isClock reports whether v is shaped like 09:00 or 09:00:00.
func isClock(v string) bool {
	switch len(v) {
	case 5:
		return v[2] == ':' && allDigits(v[:2]) && allDigits(v[3:])
	case 8:
		return v[2] == ':' && v[5] == ':' && allDigits(v[:2]) && allDigits(v[3:5]) && allDigits(v[6:])
	}
	return false
}

func allDigits(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// looksLikeID reports whether a stray word is probably a pasted task id.
func looksLikeID(w string) bool {
	return len(w) >= 8 && checkID(w) == "" && strings.ContainsAny(w, "0123456789")
}

func hasControl(v string) bool {
	for _, r := range v {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}
