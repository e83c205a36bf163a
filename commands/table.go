package commands

import "time"

// Verb is what a command asks for.
type Verb string

// The verbs of the command language.
const (
	VerbList   Verb = "list"   // tasks matching the filters; the default
	VerbFailed Verb = "failed" // list with status=FAILED, since=24h unless given
	VerbShow   Verb = "show"   // one task in full: show TASK_ID
	VerbWatch  Verb = "watch"  // a live message until the task ends: watch TASK_ID
	VerbDigest Verb = "digest" // a failure digest now, since=24h unless given
	VerbHelp   Verb = "help"   // usage, or help KEY / help VERB
	VerbDoctor Verb = "doctor" // admin-only diagnostics; takes no arguments
	VerbRetry  Verb = "retry"  // retry the failed desktops of a task, after a confirmation: retry TASK_ID
	VerbStop   Verb = "stop"   // stop a waiting or running task, after a confirmation: stop TASK_ID
	VerbMute   Verb = "mute"   // silence a pool's alerts: mute pool=NAME for=2h reason="…"
	VerbMutes  Verb = "mutes"  // the mutes in force
	VerbUnmute Verb = "unmute" // end a pool's mute: unmute pool=NAME
)

// takesTaskID reports whether v takes one TASK_ID and nothing else.
func takesTaskID(v Verb) bool {
	return v == VerbShow || v == VerbWatch || v == VerbRetry || v == VerbStop
}

// Limits of the language.
const (
	MaxTextLen   = 1000                // characters of command text
	MaxTaskIDs   = 50                  // ids in one task= value
	DefaultLimit = 10                  // page size when limit= is not given
	MaxLimit     = 100                 // largest page size the API accepts
	MaxPage      = 10000               // largest page number, which keeps offsets sane
	MaxMute      = 30 * 24 * time.Hour // longest mute
	MaxReasonLen = 200                 // characters of a mute's reason
)

// keyID names a filter key; the order is the canonical order of keys.
type keyID int

const (
	keyPool keyID = iota
	keyScript
	keyName
	keyStatus
	keyType
	keySince
	keyUntil
	keyTask
	keyLimit
	keyPage
	keyTarget
	keyFor    // mute: for how long
	keyReason // mute: why
	numKeys
)

// keyInfo is one row of the key table, which drives the parser, the
// suggestions for misspelt keys, Help and HelpTopic.
type keyInfo struct {
	name     string   // canonical spelling
	aliases  []string // other accepted spellings
	api      string   // the API query parameter it fills
	value    string   // placeholder in usage lines
	help     string   // what it does and what it accepts
	examples []string
}

var keys = [numKeys]keyInfo{
	keyPool: {
		name: "pool", aliases: []string{"pool_id", "desktop_pool_id"}, api: "desktop_pool_id",
		value: "POOL",
		help:  "the desktop pool, by id or by name: the pool with that id, else that name (any case), else the one pool whose name contains it; several are listed to choose from, none gets the closest names",
		examples: []string{
			"pool=finance-win11",
			`pool="Finance Win 11"`,
		},
	},
	keyScript: {
		name: "script", aliases: []string{"script_id"}, api: "script_id",
		value:    "SCRIPT_ID",
		help:     "tasks that ran this script id",
		examples: []string{"script=3f2a9c1e-0b7d-4c8e-9f10-2a6b5c4d3e21"},
	},
	keyName: {
		name: "name", aliases: []string{"script_name"}, api: "script_name",
		value:    "SCRIPT_NAME",
		help:     "tasks that ran a script of this name",
		examples: []string{`name="rotate cert"`},
	},
	keyStatus: {
		name: "status", api: "status",
		value:    "STATUS",
		help:     statusHelp,
		examples: []string{"status=FAILED", "status=running"},
	},
	keyType: {
		name: "type", aliases: []string{"task_type"}, api: "task_type",
		value:    "TYPE",
		help:     "SCRIPT or COMMAND (any case)",
		examples: []string{"type=COMMAND"},
	},
	keySince: {
		name: "since", aliases: []string{"from", "start"}, api: "execute_time_start",
		value:    "TIME",
		help:     "tasks started at or after this time; " + timeHelp + "; a date means its midnight UTC",
		examples: []string{"since=2h", "since=1h30m", "since=yesterday", "since=last week", "since=monday", "since=09:00", "since=2026-11-27T09:00:00Z", `since="2026-11-27 09:00"`},
	},
	keyUntil: {
		name: "until", aliases: []string{"to", "end"}, api: "execute_time_end",
		value:    "TIME",
		help:     "tasks started at or before this time; the same forms as since, but a day (a date, today, yesterday, monday) means the end of that day, 23:59:59 UTC; the answer shows the window as absolute times",
		examples: []string{"until=1h", "until=yesterday", "until=2026-11-27"},
	},
	keyTask: {
		name: "task", aliases: []string{"task_id"}, api: "task_id",
		value:    "ID,ID",
		help:     "one or more task ids, comma separated (up to 50; letters, digits, - and _)",
		examples: []string{"task=8d1c2b3a-1111-4a2b-9c3d-0e1f2a3b4c5d,9e2d3c4b-2222-4b3c-8d4e-1f2a3b4c5d6e"},
	},
	keyLimit: {
		name: "limit", api: "limit",
		value:    "N",
		help:     "tasks per page, 1 to 100 (default 10)",
		examples: []string{"limit=50"},
	},
	keyPage: {
		name: "page", api: "offset",
		value:    "N",
		help:     "page number, from 1 (the offset is (page-1) times limit)",
		examples: []string{"page=2"},
	},
	keyTarget: {
		name: "target", value: "TARGET",
		help: "which target (a project in a region) to ask when pooltasks serves several: its name, or all for every one at once; " +
			"without it, the target this channel is bound to, else the default target, else all",
		examples: []string{"target=eu", "target=all"},
	},
	keyFor: {
		name: "for", aliases: []string{"duration"},
		value:    "DURATION",
		help:     "how long a mute lasts: 30m, 2h, 1d12h, 2 hours (at most 30 days)",
		examples: []string{"mute pool=finance-win11 for=2h"},
	},
	keyReason: {
		name: "reason", aliases: []string{"why"},
		value:    "TEXT",
		help:     "why a pool is muted, shown in mutes and in the summary when the mute ends (at most 200 characters)",
		examples: []string{`mute pool=finance-win11 for=4h reason="patch window"`},
	},
}

const (
	statusHelp    = "SUCCESS, FAILED, RUNNING or WAITING (any case; also ok, fail, error, pending, queued, and a task's own FINISH and INIT)"
	timeHelp      = "a time ago such as 90s, 30m, 2h, 1h30m, 7d, 1w, 2 hours or 2h ago (units s, m, h, d, w, or words like mins, hours, days), last week, now, today, yesterday (or yday), a day of the week such as monday or mon (the last one, today if it is that day), a time of day today such as 09:00, a date 2026-11-27, 2026-11-27T09:00:00Z, 2026-11-27T10:00:00+01:00 or \"2026-11-27 09:00\" (times are UTC)"
	shareHelp     = "post the answer in the channel for everyone instead of only to you"
	allKeysPhrase = "pool, script, name, status, type, since, until, task, limit, page, target, for or reason"
	allVerbs      = "list, failed, show, watch, digest, mute, mutes, unmute, help or doctor"
)

// verbInfo is one row of the verb table.
type verbInfo struct {
	verb     Verb
	args     string // usage after the verb
	help     string
	keys     uint16 // bit set of the keys the verb takes
	share    bool   // whether share is allowed
	examples []string
}

const (
	allKeys    = 1<<keyFor - 1 // the filters of a list
	muteKeys   = 1<<keyPool | 1<<keyFor | 1<<keyReason | 1<<keyTarget
	windowKeys = 1<<keyPool | 1<<keyScript | 1<<keyName | 1<<keyType | 1<<keySince | 1<<keyUntil | 1<<keyTarget
)

var verbs = []verbInfo{
	{verb: VerbList, args: "[key=value ...]", keys: allKeys, share: true,
		help:     "tasks matching the filters, newest first; the verb may be left out",
		examples: []string{"list pool=finance-win11 status=running", "since=yesterday type=COMMAND limit=50"}},
	{verb: VerbFailed, args: "[key=value ...]", keys: allKeys, share: true,
		help:     "failed tasks: list with status=FAILED, and since=24h unless since is given",
		examples: []string{"failed", "failed pool=finance-win11 since=2h limit=20"}},
	{verb: VerbShow, args: "TASK_ID [target=]", keys: 1 << keyTarget, share: true,
		help:     "one task in full, with its failed desktops",
		examples: []string{"show 8d1c2b3a-1111-4a2b-9c3d-0e1f2a3b4c5d"}},
	{verb: VerbWatch, args: "TASK_ID [target=]", keys: 1 << keyTarget, share: true,
		help:     "a live message that updates until the task ends",
		examples: []string{"watch 8d1c2b3a-1111-4a2b-9c3d-0e1f2a3b4c5d"}},
	{verb: VerbRetry, args: "TASK_ID [target=]", keys: 1 << keyTarget,
		help:     "run a FAILED task again on its failed desktops, after you confirm (operators only, where enabled)",
		examples: []string{"retry 8d1c2b3a-1111-4a2b-9c3d-0e1f2a3b4c5d"}},
	{verb: VerbStop, args: "TASK_ID [target=]", keys: 1 << keyTarget,
		help:     "stop a waiting or running task, after you confirm (operators only, where enabled)",
		examples: []string{"stop 8d1c2b3a-1111-4a2b-9c3d-0e1f2a3b4c5d"}},
	{verb: VerbDigest, args: "[pool= script= name= type= since= until= target=]", keys: windowKeys, share: true,
		help:     "a failure digest for this channel now, since=24h unless since is given",
		examples: []string{"digest", "digest pool=finance-win11 since=7d share"}},
	{verb: VerbMute, args: "pool=POOL for=DURATION [reason=TEXT]", keys: muteKeys,
		help:     "silence the alerts of a pool for a while (its failures are summed up when the mute ends); operators only",
		examples: []string{`mute pool=finance-win11 for=2h reason="patch window"`}},
	{verb: VerbMutes, share: true,
		help:     "the pools muted now, by whom, until when and why",
		examples: []string{"mutes"}},
	{verb: VerbUnmute, args: "pool=POOL", keys: 1<<keyPool | 1<<keyTarget,
		help:     "end the mute of a pool now; operators only",
		examples: []string{"unmute pool=finance-win11"}},
	{verb: VerbHelp, args: "[KEY or VERB]", share: true,
		help:     "this usage, or the details of one key or verb",
		examples: []string{"help", "help since"}},
	{verb: VerbDoctor,
		help:     "checks configuration, credentials and Slack access (admins only); takes no arguments",
		examples: []string{"doctor"}},
}

// verbRow returns the table row of v, or nil.
func verbRow(v Verb) *verbInfo {
	for i := range verbs {
		if verbs[i].verb == v {
			return &verbs[i]
		}
	}
	return nil
}

// lookupVerb finds a verb spelt in any case.
func lookupVerb(w string) (Verb, bool) {
	for i := range verbs {
		if equalFoldASCII(w, string(verbs[i].verb)) {
			return verbs[i].verb, true
		}
	}
	return "", false
}

// lookupKey finds a key by its name or an alias, in any case.
func lookupKey(k string) (keyID, bool) {
	for id := range keys {
		if equalFoldASCII(k, keys[id].name) {
			return keyID(id), true
		}
		for _, a := range keys[id].aliases {
			if equalFoldASCII(k, a) {
				return keyID(id), true
			}
		}
	}
	return 0, false
}

// equalFoldASCII is strings.EqualFold for a pattern that is lower-case ASCII;
// it is cheaper and never matches the Kelvin sign to k.
func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
