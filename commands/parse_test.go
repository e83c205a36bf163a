package commands

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pooltasks/pooltasks/pooltask"
)

// now is the clock of every test: a Friday afternoon, UTC.
var now = time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// cmd builds the Command Parse should return: defaults, then edits.
func cmd(v Verb, edit ...func(*Command)) Command {
	c := Command{Verb: v, Page: 1, Query: pooltask.ListOptions{Limit: DefaultLimit}}
	switch v {
	case VerbFailed:
		c.Query.Status = pooltask.FilterFailed
		c.Query.Start = now.Add(-24 * time.Hour)
	case VerbDigest:
		c.Query.Start = now.Add(-24 * time.Hour)
	}
	for _, e := range edit {
		e(&c)
	}
	return c
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		in   string
		want Command
	}{
		// Verbs and defaults.
		{"", cmd(VerbHelp)},
		{"   \t ", cmd(VerbHelp)},
		{"list", cmd(VerbList)},
		{"LIST", cmd(VerbList)},
		{"share", cmd(VerbList, func(c *Command) { c.Share = true })},
		{"failed", cmd(VerbFailed)},
		{"Failed share", cmd(VerbFailed, func(c *Command) { c.Share = true })},
		{"failed status=fail", cmd(VerbFailed)},
		{"failed since=2h", cmd(VerbFailed, func(c *Command) { c.Query.Start = at("2026-11-27T13:04:05Z") })},
		{"failed until=2026-11-20", cmd(VerbFailed, func(c *Command) {
			c.Query.End = at("2026-11-20T23:59:59Z")
			c.Query.Start = at("2026-11-19T23:59:59Z")
		})},
		{"failed pool=finance-win11 since=2h limit=20", cmd(VerbFailed, func(c *Command) {
			c.Query.PoolID = "finance-win11"
			c.Query.Start = at("2026-11-27T13:04:05Z")
			c.Query.Limit = 20
		})},
		{"show 8d1c2b3a-1111-4a2b-9c3d-0e1f2a3b4c5d", cmd(VerbShow, func(c *Command) {
			c.TaskID = "8d1c2b3a-1111-4a2b-9c3d-0e1f2a3b4c5d"
			c.Query.TaskIDs = []string{c.TaskID}
		})},
		{"watch abc_DEF-1 share", cmd(VerbWatch, func(c *Command) {
			c.TaskID = "abc_DEF-1"
			c.Query.TaskIDs = []string{c.TaskID}
			c.Share = true
		})},
		// target=, which the bot checks against the targets it has.
		{"failed target=eu", cmd(VerbFailed, func(c *Command) { c.Target = "eu" })},
		{"target=ALL status=ok", cmd(VerbList, func(c *Command) { c.Target, c.Query.Status = "all", pooltask.FilterSuccess })},
		{"show t1 target=ap-1", cmd(VerbShow, func(c *Command) { c.TaskID, c.Query.TaskIDs, c.Target = "t1", []string{"t1"}, "ap-1" })},
		{"show t1 share", cmd(VerbShow, func(c *Command) {
			c.TaskID, c.Query.TaskIDs, c.Share = "t1", []string{"t1"}, true
		})},
		{"digest", cmd(VerbDigest)},
		{"digest pool=p1 since=7d", cmd(VerbDigest, func(c *Command) {
			c.Query.PoolID = "p1"
			c.Query.Start = at("2026-11-20T15:04:05Z")
		})},
		{"help", cmd(VerbHelp)},
		{"help STATUS", cmd(VerbHelp, func(c *Command) { c.Topic = "status" })},
		{"help desktop_pool_id", cmd(VerbHelp, func(c *Command) { c.Topic = "pool" })},
		{"help failed", cmd(VerbHelp, func(c *Command) { c.Topic = "failed" })},
		{"help share", cmd(VerbHelp, func(c *Command) { c.Topic = "share" })},
		{"doctor", cmd(VerbDoctor)},

		// Keys and aliases, any case.
		{"pool=abc", cmd(VerbList, func(c *Command) { c.Query.PoolID = "abc" })},
		{"POOL_ID=abc", cmd(VerbList, func(c *Command) { c.Query.PoolID = "abc" })},
		{"desktop_pool_id=Abc", cmd(VerbList, func(c *Command) { c.Query.PoolID = "Abc" })},
		{"script=s-1", cmd(VerbList, func(c *Command) { c.Query.ScriptID = "s-1" })},
		{"script_id=s-1", cmd(VerbList, func(c *Command) { c.Query.ScriptID = "s-1" })},
		{"name=cleanup", cmd(VerbList, func(c *Command) { c.Query.ScriptName = "cleanup" })},
		{"Script_Name=cleanup", cmd(VerbList, func(c *Command) { c.Query.ScriptName = "cleanup" })},
		{"type=command", cmd(VerbList, func(c *Command) { c.Query.TaskType = pooltask.TaskTypeCommand })},
		{"task_type=SCRIPT", cmd(VerbList, func(c *Command) { c.Query.TaskType = pooltask.TaskTypeScript })},
		{"limit=100 page=3", cmd(VerbList, func(c *Command) { c.Query.Limit, c.Page, c.Query.Offset = 100, 3, 200 })},
		{"page=2", cmd(VerbList, func(c *Command) { c.Page, c.Query.Offset = 2, 10 })},
		{"limit=1", cmd(VerbList, func(c *Command) { c.Query.Limit = 1 })},
		{"task=a,b,,a,c,", cmd(VerbList, func(c *Command) { c.Query.TaskIDs = []string{"a", "b", "c"} })},
		{"task_id=x", cmd(VerbList, func(c *Command) { c.Query.TaskIDs = []string{"x"} })},
		{`task="a, b"`, cmd(VerbList, func(c *Command) { c.Query.TaskIDs = []string{"a", "b"} })},

		// Status synonyms.
		{"status=ok", cmd(VerbList, func(c *Command) { c.Query.Status = pooltask.FilterSuccess })},
		{"status=SUCCESS", cmd(VerbList, func(c *Command) { c.Query.Status = pooltask.FilterSuccess })},
		{"status=Error", cmd(VerbList, func(c *Command) { c.Query.Status = pooltask.FilterFailed })},
		{"status=running", cmd(VerbList, func(c *Command) { c.Query.Status = pooltask.FilterRunning })},
		{"status=queued", cmd(VerbList, func(c *Command) { c.Query.Status = pooltask.FilterWaiting })},
		{"status=PENDING", cmd(VerbList, func(c *Command) { c.Query.Status = pooltask.FilterWaiting })},
		// show task=ID is show ID.
		{"show task=abc-123", cmd(VerbShow, func(c *Command) { c.TaskID = "abc-123"; c.Query.TaskIDs = []string{"abc-123"} })},
		{"watch task_id=abc-123 share", cmd(VerbWatch, func(c *Command) {
			c.TaskID = "abc-123"
			c.Query.TaskIDs = []string{"abc-123"}
			c.Share = true
		})},
		// The task statuses of the answers map to the filter's words.
		{"status=FINISH", cmd(VerbList, func(c *Command) { c.Query.Status = pooltask.FilterSuccess })},
		{"status=finished", cmd(VerbList, func(c *Command) { c.Query.Status = pooltask.FilterSuccess })},
		{"status=INIT", cmd(VerbList, func(c *Command) { c.Query.Status = pooltask.FilterWaiting })},
		{"status=failure", cmd(VerbList, func(c *Command) { c.Query.Status = pooltask.FilterFailed })},
		{"status=succeeded", cmd(VerbList, func(c *Command) { c.Query.Status = pooltask.FilterSuccess })},

		// Times.
		{"since=30m", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T14:34:05Z") })},
		{"from=1w", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-20T15:04:05Z") })},
		{"start=3days", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-24T15:04:05Z") })},
		{"since=today", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T00:00:00Z") })},
		{"since=yesterday until=yesterday", cmd(VerbList, func(c *Command) {
			c.Query.Start = at("2026-11-26T00:00:00Z")
			c.Query.End = at("2026-11-26T23:59:59Z")
		})},
		// The forms people type (now is a Friday).
		{"since=yday", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-26T00:00:00Z") })},
		{"since=last week", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-20T15:04:05Z") })},
		{`since="Last  Week" limit=5`, cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-20T15:04:05Z"); c.Query.Limit = 5 })},
		{"since=monday until=Wed", cmd(VerbList, func(c *Command) {
			c.Query.Start = at("2026-11-23T00:00:00Z")
			c.Query.End = at("2026-11-25T23:59:59Z")
		})},
		{"since=friday", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T00:00:00Z") })},
		{"since=sat", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-21T00:00:00Z") })},
		{"since=09:00", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T09:00:00Z") })},
		{"since=09:00:30 until=15:00", cmd(VerbList, func(c *Command) {
			c.Query.Start = at("2026-11-27T09:00:30Z")
			c.Query.End = at("2026-11-27T15:00:00Z")
		})},
		{"digest since=monday", cmd(VerbDigest, func(c *Command) { c.Query.Start = at("2026-11-23T00:00:00Z") })},
		{"since=2026-11-20 to=2026-11-21", cmd(VerbList, func(c *Command) {
			c.Query.Start = at("2026-11-20T00:00:00Z")
			c.Query.End = at("2026-11-21T23:59:59Z")
		})},
		{"since=2026-11-27T09:00:00Z", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T09:00:00Z") })},
		{"since=2026-11-27t09:00:00.987z", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T09:00:00Z") })},
		{"since=2026-11-27T10:00:00+01:00", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T09:00:00Z") })},
		{"since=2026-11-26T22:00:00-05:00", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T03:00:00Z") })},
		{`since="2026-11-27 09:00"`, cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T09:00:00Z") })},
		{`since="2026-11-27 09:00:30"`, cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T09:00:30Z") })},
		{"since=2026-11-27 09:00 until=2026-11-27 10:00:30", cmd(VerbList, func(c *Command) {
			c.Query.Start = at("2026-11-27T09:00:00Z")
			c.Query.End = at("2026-11-27T10:00:30Z")
		})},
		{"since=2026-11-27T09:00", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T09:00:00Z") })},
		{"until=now", cmd(VerbList, func(c *Command) { c.Query.End = now })},
		{"since=now", cmd(VerbList, func(c *Command) { c.Query.Start = now })},
		{"since=3660d", cmd(VerbList, func(c *Command) { c.Query.Start = now.Add(-3660 * 24 * time.Hour) })},
		{"since=000000000000000000000000000001h", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T14:04:05Z") })},
		{"until=1h", cmd(VerbList, func(c *Command) { c.Query.End = at("2026-11-27T14:04:05Z") })},
		{"until=2026-12-31", cmd(VerbList, func(c *Command) { c.Query.End = at("2026-12-31T23:59:59Z") })},
		// Relative times as people type them at 3 a.m.: seconds, combined
		// units, unit words, a space before the unit, and "ago".
		{"since=90s", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T15:02:35Z") })},
		{"since=45sec", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T15:03:20Z") })},
		{"since=1h30m", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:34:05Z") })},
		{"since=1H30M", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:34:05Z") })},
		{"since=1h30m15s", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:33:50Z") })},
		{"since=1h30m0s", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:34:05Z") })},
		{"since=1d12h", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-26T03:04:05Z") })},
		{"since=1w2d", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-18T15:04:05Z") })},
		{"since=3659d23h59m60s", cmd(VerbList, func(c *Command) { c.Query.Start = now.Add(-3660 * 24 * time.Hour) })},
		{"since=2hours", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:04:05Z") })},
		{"since=1hour", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T14:04:05Z") })},
		{"since=2hrs", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:04:05Z") })},
		{"since=30min", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T14:34:05Z") })},
		{"since=30mins", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T14:34:05Z") })},
		{"since=30minutes", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T14:34:05Z") })},
		{"since=3days", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-24T15:04:05Z") })},
		{"since=1day", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-26T15:04:05Z") })},
		{"since=2weeks", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-13T15:04:05Z") })},
		{"since=1week", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-20T15:04:05Z") })},
		{`since="2 hours"`, cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:04:05Z") })},
		{`since="1h 30m"`, cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:34:05Z") })},
		{`since="2h ago"`, cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:04:05Z") })},
		{`since=“2 hours ago”`, cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:04:05Z") })},
		{"since=2 h", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:04:05Z") })},
		{"since=2 hours", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:04:05Z") })},
		{"since=2h ago", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:04:05Z") })},
		{"since=2h AGO share", cmd(VerbList, func(c *Command) { c.Query.Start, c.Share = at("2026-11-27T13:04:05Z"), true })},
		{"since=2 hours ago", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:04:05Z") })},
		{"since=1h30m ago", cmd(VerbList, func(c *Command) { c.Query.Start = at("2026-11-27T13:34:05Z") })},
		{"from=3 days ago until=1 day ago", cmd(VerbList, func(c *Command) {
			c.Query.Start, c.Query.End = at("2026-11-24T15:04:05Z"), at("2026-11-26T15:04:05Z")
		})},
		{"failed since=2h ago pool=p", cmd(VerbFailed, func(c *Command) {
			c.Query.Start, c.Query.PoolID = at("2026-11-27T13:04:05Z"), "p"
		})},
		{"digest until=30 min ago", cmd(VerbDigest, func(c *Command) {
			c.Query.End = at("2026-11-27T14:34:05Z")
			c.Query.Start = at("2026-11-26T14:34:05Z")
		})},

		// Quotes, Slack entities and smart quotes.
		{`name="rotate cert"`, cmd(VerbList, func(c *Command) { c.Query.ScriptName = "rotate cert" })},
		{`name=“rotate cert”`, cmd(VerbList, func(c *Command) { c.Query.ScriptName = "rotate cert" })},
		{`“name=rotate cert”`, cmd(VerbList, func(c *Command) { c.Query.ScriptName = "rotate cert" })},
		{`name="say \"hi\" \\ bye"`, cmd(VerbList, func(c *Command) { c.Query.ScriptName = `say "hi" \ bye` })},
		{`pool=" spaced "`, cmd(VerbList, func(c *Command) { c.Query.PoolID = "spaced" })},
		{`name=R&amp;D`, cmd(VerbList, func(c *Command) { c.Query.ScriptName = "R&D" })},
		{`name=&lt;b&gt;`, cmd(VerbList, func(c *Command) { c.Query.ScriptName = "<b>" })},
		{`name=&amp;lt;`, cmd(VerbList, func(c *Command) { c.Query.ScriptName = "&lt;" })},
		// Slack's links in mention text.
		{`name=<http://cleanup.sh|cleanup.sh>`, cmd(VerbList, func(c *Command) { c.Query.ScriptName = "cleanup.sh" })},
		{`pool=<https://finance.example.com>`, cmd(VerbList, func(c *Command) { c.Query.PoolID = "https://finance.example.com" })},
		{`name=<mailto:ops@example.com|ops@example.com> status=ok`, cmd(VerbList, func(c *Command) {
			c.Query.ScriptName = "ops@example.com"
			c.Query.Status = pooltask.FilterSuccess
		})},
		{`name="&lt;http://x|y&gt;"`, cmd(VerbList, func(c *Command) { c.Query.ScriptName = "<http://x|y>" })},
		{`name=a=b`, cmd(VerbList, func(c *Command) { c.Query.ScriptName = "a=b" })},
		{`name=C:\scripts\x.ps1`, cmd(VerbList, func(c *Command) { c.Query.ScriptName = `C:\scripts\x.ps1` })},
		{"failed\u00a0pool=p1\n", cmd(VerbFailed, func(c *Command) { c.Query.PoolID = "p1" })},
		{`"failed" pool=p1`, cmd(VerbFailed, func(c *Command) { c.Query.PoolID = "p1" })},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in, now)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
			}
			back, err := Parse(got.Canonical(), now)
			if err != nil {
				t.Fatalf("Parse(Canonical() = %q): %v", got.Canonical(), err)
			}
			if diff := cmp.Diff(got, back); diff != "" {
				t.Errorf("Parse(%q) does not give the command back (-want +got):\n%s", got.Canonical(), diff)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	long := "pool=" + strings.Repeat("x", MaxTextLen)
	var ids []string
	for i := range MaxTaskIDs + 1 {
		ids = append(ids, fmt.Sprintf("t%d", i))
	}
	tooMany := "task=" + strings.Join(ids, ",")
	tests := []struct {
		in   string
		want []string // a part of each problem's message, in order
	}{
		{"stauts=ok", []string{`unknown key "stauts" — did you mean status?`}},
		{"pol=abc", []string{`unknown key "pol" — did you mean pool?`}},
		{"scirpt_id=1", []string{`did you mean script_id?`}},
		{"colour=red", []string{`unknown key "colour"; use pool, script, name, status, type, since, until, task, limit, page, target, for or reason`}},
		{"=abc", []string{`=abc has no key before =`}},
		{"shwo abc", []string{`unknown verb "shwo" — did you mean show?`}},
		{"faild", []string{`unknown verb "faild" — did you mean failed?`}},
		{"frobnicate", []string{`unknown verb "frobnicate"; use list, failed, show, watch, digest, mute, mutes, unmute, help or doctor`}},
		{"8d1c2b3a-1111", []string{`to see one task write show 8d1c2b3a-1111`}},
		{"status=done", []string{`status "done" is not valid; use SUCCESS, FAILED, RUNNING or WAITING (any case; also ok, fail, error, pending, queued, and a task's own FINISH and INIT)`}},
		{"status:failed", []string{`"status:failed": write key=value with =, e.g. status=failed`}},
		{"failed pool:finance-win11 since:2026-11-27T09:00", []string{
			`"pool:finance-win11": write key=value with =, e.g. pool=finance-win11`,
			`"since:2026-11-27T09:00": write key=value with =, e.g. since=2026-11-27T09:00`}},
		{"status=fialed", []string{`status "fialed" is not valid — did you mean status=FAILED?`}},
		{"status=runing", []string{`status "runing" is not valid — did you mean status=RUNNING?`}},
		{"type=batch", []string{`type "batch" is not valid; use SCRIPT or COMMAND`}},
		{"status=ok status=fail", []string{`status is given twice (status=ok and status=fail); give it once`}},
		{"pool=a desktop_pool_id=b", []string{`pool is given twice (pool=a and desktop_pool_id=b)`}},
		{"since=2h from=3h", []string{`since is given twice`}},
		{"limit=0", []string{`limit "0" is not valid; use a number from 1 to 100`}},
		{"limit=101", []string{`limit "101" is not valid`}},
		{"limit=ten", []string{`limit "ten" is not valid`}},
		{"limit=-5", []string{`limit "-5" is not valid`}},
		{"page=0", []string{`page "0" is not valid; use a number from 1 to 10000`}},
		{"page=99999999999999999999", []string{`page "99999999999999999999" is not valid`}},
		{"show", []string{`show needs a TASK_ID`}},
		{"watch share", []string{`watch needs a TASK_ID`}},
		{"show abc$def", []string{`task id "abc$def" has characters other than letters, digits, - and _`}},
		{"show a b", []string{`stray word "b": show takes one TASK_ID`}},
		{"show a pool=p", []string{`show takes only a TASK_ID (and target=, share); remove pool=p`}},
		{"task=a,b/c", []string{`task id "b/c" has characters other than`}},
		{"task=,", []string{`task needs at least one task id`}},
		{tooMany, []string{`task has 51 ids; give at most 50`}},
		{long, []string{`the command is 1005 characters long; the limit is 1000`}},
		// 908 characters, but the backslashes double once the value is
		// quoted: a canonical form Parse would refuse is refused up front.
		{"name=" + strings.Repeat(`\`, 450) + `" "` + strings.Repeat(`\`, 450), []string{`characters long once written out in full; the limit is 1000`}},
		{"pool=2026-11-27 09:00", []string{`stray word "09:00"`}},
		{"list foo", []string{`stray word "foo": write filters as key=value`}},
		{"pool=a failed", []string{`the verb failed must come first`}},
		{"status failed", []string{`"status" needs = before its value: write status=failed`}},
		{"pool", []string{`"pool" needs a value: write pool=POOL`}},
		{"pool=", []string{`pool needs a value, e.g. pool=finance-win11`}},
		{`pool=""`, []string{`pool needs a value`}},
		{"stauts", []string{`unknown word "stauts" — did you mean status=STATUS?`}},
		{"list shaer", []string{`unknown word "shaer" — did you mean share?`}},
		{`name="rotate cert`, []string{`name="rotate cert has a quote that is not closed`}},
		{"since=tomorrow", []string{`since "tomorrow" is not a time; use a time ago such as 90s, 30m, 2h, 1h30m`}},
		// Relative times that stay mistakes, each saying what is accepted.
		{"since=2", []string{`since "2" is not a time: 2 has no unit; use s, m, h, d or w (or seconds, minutes, hours, days, weeks), e.g. 90s, 30m, 1h30m, 7d`}},
		{"since=2 ago", []string{`since "2 ago" is not a time: 2 has no unit; use s, m, h`}},
		{"since=2 share", []string{`since "2" is not a time: 2 has no unit`}},
		{"since=2h30", []string{`since "2h30" is not a time: 30 has no unit; use s, m, h`}},
		{"since=1.5h", []string{`since "1.5h" is not a time; use whole numbers, e.g. 1h30m rather than 1.5h; units are s, m, h`}},
		{"since=3mo", []string{`since "3mo" is not a time: "mo" is not a unit; use s, m, h, d or w`}},
		{"since=2years", []string{`"years" is not a unit; use s, m, h, d or w (or seconds, minutes, hours, days, weeks), e.g. 90s, 30m, 1h30m, 7d (months and years are not accepted)`}},
		{"since=2hago", []string{`since "2hago" is not a time: "hago" is not a unit`}},
		{"since=30m1h", []string{`since "30m1h" is not a time; give each unit once, the largest first, e.g. 1h30m`}},
		{"since=1h1h", []string{`give each unit once, the largest first`}},
		{"since=-2h", []string{`since "-2h" is not a time; use a time ago such as 90s`}},
		{"since=ago", []string{`since "ago" is not a time; use a time ago such as 90s`}},
		{"since=2026.11.27", []string{`since "2026.11.27" is not a time; use a time ago such as 90s`}},
		{`since="2h	ago"`, []string{`is not a time; use a time ago such as 90s`}},
		{"since=3660d1s", []string{`since "3660d1s" is too far back`}},
		{"since=3000d 1000d ago", []string{`stray word "1000d": a time goes after since= or until=, in one word (since=1h30m) or in quotes (since="1h 30m")`, `stray word "ago": it may only follow a time ago, as in since=2h ago`}},
		{"since=1h 30m", []string{`stray word "30m": a time goes after since= or until=, in one word (since=1h30m)`}},
		{"since=2h ago ago", []string{`stray word "ago": it may only follow a time ago`}},
		{"since=today ago", []string{`stray word "ago": it may only follow a time ago`}},
		{"since=2026-11-27 ago", []string{`stray word "ago": it may only follow a time ago`}},
		{"list ago", []string{`stray word "ago": it may only follow a time ago`}},
		{"failed 2h ago", []string{`stray word "2h": a time goes after since= or until=`, `stray word "ago"`}},
		{"pool=2 h", []string{`stray word "h": write filters as key=value`}},
		{"show since=2h ago", []string{`show takes only a TASK_ID (and target=, share); remove since=2h ago`, `show needs a TASK_ID`}},
		{"since=1h ago until=2 hours ago", []string{`since 2026-11-27 14:04:05 UTC is after until 2026-11-27 13:04:05 UTC`}},
		{"since=2026-13-01", []string{`since "2026-13-01" is not a time`}},
		{"since=1999-12-31", []string{`since "1999-12-31" is before the year 2000`}},
		{"since=99999999d", []string{`too far back`}},
		{"since=5000d", []string{`too far back`}},
		{"to=1000000W", []string{`until "1000000W" is too far back`}}, // found by FuzzParse
		{"since=523w", []string{`too far back`}},
		{"since=2026-11-28", []string{`since 2026-11-28 00:00 UTC is in the future`}},
		{"since=1h until=2h", []string{`since 2026-11-27 14:04:05 UTC is after until 2026-11-27 13:04:05 UTC`}},
		{"failed status=ok", []string{`failed lists FAILED tasks only; to list SUCCESS tasks write list status=SUCCESS`}},
		{"digest limit=5", []string{`digest does not take limit; remove limit=5`}},
		{"digest status=failed", []string{`digest does not take status`}},
		{"help stats", []string{`there is no help on "stats" — did you mean help status?`}},
		{"help zzzzzz", []string{`there is no help on "zzzzzz"; ask about a key`}},
		{"help pool=x", []string{`help takes a KEY or VERB, not filters; for help on pool write help pool`}},
		{"help pool since", []string{`stray word "since": help takes one KEY or VERB`}},
		{"doctor share", []string{`doctor cannot be shared`}},
		{"doctor pool=x", []string{`doctor takes no arguments; remove pool=x`}},
		{"doctor now", []string{`stray word "now": doctor takes no arguments`}},
		{"pool=a\x01b", []string{`contains control characters`}},
		{"pool=\xff", []string{`not valid UTF-8`}},
		// Several problems at once, in the order they were written.
		{"stauts=ok limit=500 page=0 pool=a pool=b frob", []string{
			`did you mean status?`, `limit "500"`, `page "0"`, `pool is given twice`, `unknown word "frob" — did you mean from=TIME?`,
		}},
		{"shwo", []string{`did you mean show?`}},
		{"target=eu.west", []string{`target "eu.west" is not a target name (letters, digits and -, as in target=eu) or all`}},
		{"targt=eu", []string{`unknown key "targt" — did you mean target?`}},
		{"help target=eu", []string{`help takes a KEY or VERB, not filters`}},
		{"failed since=2h since=3h until=x", []string{`since is given twice`, `until "x" is not a time`}},
		// Slack-escaped mistakes are reported decoded.
		{"name=&lt;b&gt; status=&lt;any&gt;", []string{`status "<any>" is not valid`}},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			got, err := Parse(tt.in, now)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Parse(%q) = %+v, %v; want an *InputError", tt.in, got, err)
			}
			if diff := cmp.Diff(Command{}, got); diff != "" {
				t.Errorf("Parse(%q) returned a command with its error:\n%s", tt.in, diff)
			}
			if len(ie.Problems) != len(tt.want) {
				t.Fatalf("Parse(%q) problems:\n%s\nwant %d problems", tt.in, ie, len(tt.want))
			}
			for i, p := range ie.Problems {
				if !strings.Contains(p.Message, tt.want[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, p.Message, tt.want[i])
				}
			}
			if lines := strings.Split(ie.Error(), "\n"); len(lines) != len(tt.want) {
				t.Errorf("Error() has %d lines, want one per problem:\n%s", len(lines), ie)
			}
		})
	}
}

func TestProblemFields(t *testing.T) {
	_, err := Parse("stauts=ok pool=a pool_id=b limit=0", now)
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an *InputError", err)
	}
	want := []Problem{
		{Key: "stauts", Value: "ok"},
		{Key: "pool", Value: "b"},
		{Key: "limit", Value: "0"},
	}
	for i := range ie.Problems {
		ie.Problems[i].Message = ""
	}
	if diff := cmp.Diff(want, ie.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "help"},
		{"pool=abc", "list pool=abc"},
		{"failed pool=abc since=2026-11-26T13:00:00Z limit=10 page=2", "failed pool=abc since=2026-11-26T13:00:00Z page=2"},
		{"failed pool=finance-win11 since=2h limit=20", "failed pool=finance-win11 since=2026-11-27T13:04:05Z limit=20"},
		{"failed", "failed since=2026-11-26T15:04:05Z"},
		{"share page=2 limit=5 task=b,a to=2026-11-27 from=yesterday task_type=script status=ok script_name=x script_id=y desktop_pool_id=z",
			"list pool=z script=y name=x status=SUCCESS type=SCRIPT since=2026-11-26T00:00:00Z until=2026-11-27T23:59:59Z task=b,a limit=5 page=2 share"},
		{`name="rotate cert"`, `list name="rotate cert"`},
		{`name="say \"hi\""`, `list name="say \"hi\""`},
		{`name="a\b c"`, `list name="a\\b c"`},
		{`name=a\b`, `list name=a\b`},
		{`name=R&amp;D`, `list name=R&D`},
		{`name=&amp;amp;`, `list name=&amp;amp;`},
		{`name=&lt;b&gt;&amp;c`, `list name=&lt;b&gt;&c`},
		{`name=<http://cleanup.sh|cleanup.sh>`, `list name=cleanup.sh`},
		{"SHOW abc share", "show abc share"},
		{"help from", "help since"},
		{"DIGEST since=7d", "digest since=2026-11-20T15:04:05Z"},
		{"pool=a target=eu", "list target=eu pool=a"},
		{"watch t1 target=All", "watch t1 target=all"},
	}
	for _, tt := range tests {
		c, err := Parse(tt.in, now)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if got := c.Canonical(); got != tt.want {
			t.Errorf("Parse(%q).Canonical() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCanonicalNextPage(t *testing.T) {
	c, err := Parse("failed pool=p limit=20", now)
	if err != nil {
		t.Fatal(err)
	}
	c.Page++ // what a Next button does; Offset is left stale on purpose
	next, err := Parse(c.Canonical(), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if next.Page != 2 || next.Query.Offset != 20 || !next.Query.Start.Equal(c.Query.Start) {
		t.Errorf("next page = page %d offset %d start %v, want page 2 offset 20 start %v", next.Page, next.Query.Offset, next.Query.Start, c.Query.Start)
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"failed pool=finance-win11 since=2026-11-26T13:00:00Z", "status FAILED · pool finance-win11 · since 2026-11-26 13:00 UTC"},
		{"list", "all tasks"},
		{"page=3", "all tasks · page 3"},
		{"type=command script=s name=n task=a,b until=2026-11-27", "type COMMAND · script s · script name n · 2 tasks · until 2026-11-27 23:59:59 UTC"},
		{"task=a", "task a"},
		{"show abc", "task abc"},
		{"digest", "failure digest · since 2026-11-26 15:04:05 UTC"},
		{"help", "help"},
		{"help to", "help on until"},
		{"doctor", "diagnostics"},
	}
	for _, tt := range tests {
		c, err := Parse(tt.in, now)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if got := c.Describe(); got != tt.want {
			t.Errorf("Parse(%q).Describe() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a &amp; b &lt;c&gt;", "a & b <c>"},
		{"&amp;lt;", "&lt;"},
		{"name=\u201crotate cert\u201d", `name="rotate cert"`},
		{"name=<http://cleanup.sh|cleanup.sh> x", "name=cleanup.sh x"},
		{"<https://a.example/?q=1&amp;r=2>", "https://a.example/?q=1&r=2"},
		{"<mailto:ops@example.com>", "ops@example.com"},
		{"<@U123ABC> <#C123|ops> <!here>", "<@U123ABC> <#C123|ops> <!here>"},
		{"<http://a|b> and <http://c|d>", "b and d"},
		{"unclosed <http://a", "unclosed <http://a"},
	}
	for _, tt := range tests {
		if got := decode(tt.in); got != tt.want {
			t.Errorf("decode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestParseTime: the flags that take a time (digest --since) read the
// forms since= reads, and refuse the rest saying what is accepted.
func TestParseTime(t *testing.T) {
	for v, want := range map[string]string{
		"7d":        "2026-11-20T15:04:05Z",
		"24h":       "2026-11-26T15:04:05Z",
		"yesterday": "2026-11-26T00:00:00Z",
		"yday":      "2026-11-26T00:00:00Z",
		"last week": "2026-11-20T15:04:05Z",
		"monday":    "2026-11-23T00:00:00Z",
		"09:00":     "2026-11-27T09:00:00Z",
	} {
		got, err := ParseTime(v, now, false)
		if err != nil || !got.Equal(at(want)) {
			t.Errorf("ParseTime(%q) = %v, %v; want %s", v, got, err, want)
		}
	}
	if got, _ := ParseTime("yesterday", now, true); !got.Equal(at("2026-11-26T23:59:59Z")) {
		t.Errorf("until yesterday = %v, want its last second", got)
	}
	for v, want := range map[string]string{
		"25:00":     "is not a time of day; use 00:00 to 23:59",
		"last year": "is not a time; use a time ago such as 90s",
		"1.5h":      "use whole numbers",
		"someday":   "monday or mon",
	} {
		if _, err := ParseTime(v, now, false); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTime(%q) error %v, want %q", v, err, want)
		}
	}
}
