package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
)

// poolDef describes a generated desktop pool.
type poolDef struct {
	name, typ, status, prefix string
	count                     int
	linux                     bool
	weight                    int // how often it gets random tasks
	// id, when set, is the pool's id instead of a generated UUID: the API
	// does not promise UUIDs, and pool values must work with ids of any
	// shape.
	id string
}

// The generated pools: two share a prefix so fuzzy lookups are ambiguous,
// one has a name that needs escaping in Slack mrkdwn, and the last has an
// id that is not UUID-shaped (it comes last, with one task of its own, so
// the other pools' ids and tasks are the same as before it was added).
var poolDefs = []poolDef{
	{"finance-win11", "DYNAMIC", "STEADY", "FIN-W11-", 48, false, 4, ""},
	{"dev-ubuntu", "STATIC", "STEADY", "DEV-UBU-", 24, true, 2, ""},
	{"callcenter-pool", "DYNAMIC", "STEADY", "CC-", 120, false, 2, ""},
	{"callcenter-pool-emea", "DYNAMIC", "EXIST_FROZEN", "CCE-", 60, false, 2, ""},
	{"R&D <lab>", "STATIC", "STEADY", "RND-LAB-", 16, true, 1, ""},
	{"hr-win10-legacy", "STATIC", "TEMPORARY", "HR-W10-", 12, false, 1, ""},
	{"kiosk-lobby", "DYNAMIC", "STEADY", "KIOSK-", 6, false, 0, KioskPoolID},
}

// KioskPoolID is the id of the simulator's pool whose id is not UUID-shaped.
const KioskPoolID = "pool-kiosk01"

// scriptDef describes a generated script.
type scriptDef struct {
	name  string
	linux bool
	fails []failMode // the ways it fails, most likely first
}

// failMode is one way a script or command fails on a desktop.
type failMode struct {
	code, reason string
	dur          time.Duration
}

var (
	failExit1    = failMode{"1", "exit code 1", 0}
	failExit1603 = failMode{"1603", "exit code 1603", 0}
	failExit100  = failMode{"100", "exit code 100", 0}
	failTimeout  = failMode{"-1", "script timeout after 600s", 600 * time.Second}
	failOffline  = failMode{"WKS.AGENT.0002", "desktop offline", 30 * time.Second}
	skipReasons  = []string{"desktop is in maintenance mode", "desktop is powered off", "desktop is being rebuilt"}
)

var scriptDefs = []scriptDef{
	{"install-crowdstrike-agent", false, []failMode{failExit1603, failOffline, failTimeout}},
	{"clean-temp-disk", false, []failMode{failExit1, failOffline}},
	{"rotate-cert", false, []failMode{failExit1, failOffline}},
	{"update-chrome", false, []failMode{failTimeout, failExit1, failOffline}},
	{"<!channel> alert", false, []failMode{failExit1}},
	{"collect-diagnostics", false, []failMode{failTimeout, failOffline}},
	{"set-timezone", false, []failMode{failExit1}},
	{"patch-openssl", true, []failMode{failExit100, failOffline, failTimeout}},
	{"configure-sssd", true, []failMode{failExit1, failOffline}},
	{"rotate-cert-linux", true, []failMode{failExit1}},
}

// commandDef describes a generated command.
type commandDef struct {
	typ, content string
}

var commandDefs = []commandDef{
	{"POWERSHELL", "Restart-Service -Name CSFalconService -Force; Get-Service -Name CSFalconService"},
	{"POWERSHELL", `Get-ChildItem -Path C:\Windows\Temp -Recurse | Remove-Item -Force -Recurse -ErrorAction SilentlyContinue`},
	{"BAT", "ipconfig /flushdns && gpupdate /force"},
	{"BAT", "sc query CSFalconService"},
	{"SHELL", "sudo systemctl restart sssd && systemctl is-active sssd"},
	{"SHELL", "df -h / && sudo journalctl --vacuum-time=3d"},
	{"SHELL", "sudo apt-get update && sudo apt-get install -y --only-upgrade openssl"},
}

// longCommand is a PowerShell command of more than 3000 characters.
var longCommand = func() string {
	var b strings.Builder
	b.WriteString("$ErrorActionPreference = 'Stop'\n$hosts = @(\n")
	for i := 1; i <= 60; i++ {
		fmt.Fprintf(&b, "  @{ Name = 'app%02d.corp.example'; Address = '10.20.%d.%d' }\n", i, i/10, 10+i)
	}
	b.WriteString(")\n$path = \"$env:SystemRoot\\System32\\drivers\\etc\\hosts\"\nCopy-Item $path \"$path.bak\" -Force\n")
	b.WriteString("foreach ($h in $hosts) {\n  if (-not (Select-String -Path $path -Pattern $h.Name -Quiet)) {\n")
	b.WriteString("    Add-Content -Path $path -Value (\"{0}`t{1}\" -f $h.Address, $h.Name)\n  }\n}\nipconfig /flushdns | Out-Null\nWrite-Output \"hosts entries: $($hosts.Count)\"\n")
	return b.String()
}()

// generator makes the simulator's data from a seed and a start time.
type generator struct {
	rng     *rand.Rand
	t0      time.Time
	poolIDs []string
	deskIDs [][]string
	scripts []pooltask.Script
}

func newGenerator(seed int64, t0 time.Time) *generator {
	g := &generator{t0: t0}
	// Pools, desktops and scripts keep their ids whatever the seed, so
	// docs and tests can name them.
	fixed := rand.New(rand.NewPCG(0x706f6f6c, 0x7461736b))
	g.poolIDs = make([]string, len(poolDefs))
	g.deskIDs = make([][]string, len(poolDefs))
	desks := func(i int) {
		g.poolIDs[i] = poolDefs[i].id
		if g.poolIDs[i] == "" {
			g.poolIDs[i] = uuidFrom(fixed)
		}
		for range poolDefs[i].count {
			g.deskIDs[i] = append(g.deskIDs[i], uuidFrom(fixed))
		}
	}
	// Pools with a fixed id draw theirs after the scripts, so that adding
	// one changes no other id.
	for i, p := range poolDefs {
		if p.id == "" {
			desks(i)
		}
	}
	for _, s := range scriptDefs {
		g.scripts = append(g.scripts, pooltask.Script{ID: uuidFrom(fixed), Name: s.name})
	}
	for i, p := range poolDefs {
		if p.id != "" {
			desks(i)
		}
	}
	g.rng = rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	return g
}

func uuidFrom(r *rand.Rand) string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return formatUUID(b)
}

func (g *generator) pools() []pooltask.Pool {
	var out []pooltask.Pool
	for i, p := range poolDefs {
		out = append(out, pooltask.Pool{ID: g.poolIDs[i], Name: p.name, Type: p.typ, Status: p.status, DesktopCount: p.count})
	}
	return out
}

func (g *generator) deskName(pool, d int) string {
	return fmt.Sprintf("%s%04d", poolDefs[pool].prefix, d+1)
}

// outcome is what happens on one desktop.
type outcome struct {
	kind   string // recSuccess, recFailed or recSkip
	mode   failMode
	script int // which script fails
}

// taskSpec is a task to generate.
type taskSpec struct {
	pool      int
	scripts   []int // indexes into scriptDefs; none for a command
	command   commandDef
	start     time.Time
	initUntil time.Time
	desks     []int
	// spread: desktop i starts at start+i*spread/len(desks); 0 spreads
	// randomly over the first 30 s.
	spread time.Duration
	plan   func(i int) outcome
}

// tasks generates about 200 tasks (201) over the last seven days.
func (g *generator) tasks() []*simTask {
	var out []*simTask
	add := func(s taskSpec) { out = append(out, g.build(s)) }
	h := time.Hour

	// Showcase tasks: present whatever the seed.
	fin, ubu, cc, cce, rnd, hr := 0, 1, 2, 3, 4, 5
	add(taskSpec{pool: fin, scripts: []int{0}, start: g.t0.Add(-50 * time.Minute), desks: g.all(fin),
		plan: func(i int) outcome {
			switch i {
			case 41:
				return outcome{kind: recFailed, mode: failExit1603}
			case 6:
				return outcome{kind: recFailed, mode: failOffline}
			}
			return outcome{kind: recSuccess}
		}})
	add(taskSpec{pool: cc, scripts: []int{5, 4}, start: g.t0.Add(-3 * h), desks: g.all(cc)[:30],
		plan: func(i int) outcome {
			if i%10 == 3 {
				return outcome{kind: recFailed, mode: failExit1, script: 1}
			}
			return outcome{kind: recSuccess}
		}})
	add(taskSpec{pool: fin, command: commandDef{"POWERSHELL", longCommand}, start: g.t0.Add(-5 * h), desks: g.all(fin),
		plan: func(int) outcome { return outcome{kind: recSuccess} }})
	add(taskSpec{pool: rnd, scripts: []int{9}, start: g.t0.Add(-26 * h), desks: g.all(rnd),
		plan: func(i int) outcome {
			if i < 4 {
				return outcome{kind: recFailed, mode: failExit1}
			}
			return outcome{kind: recSuccess}
		}})
	add(taskSpec{pool: cce, scripts: []int{3}, start: g.t0.Add(-49 * h), desks: g.all(cce),
		plan: func(i int) outcome {
			switch {
			case i%4 == 0:
				return outcome{kind: recFailed, mode: failTimeout}
			case i%15 == 1:
				return outcome{kind: recSkip}
			}
			return outcome{kind: recSuccess}
		}})

	// Tasks that progress as the clock advances.
	few := func(i int) outcome {
		if g.rng.IntN(10) == 0 {
			return outcome{kind: recFailed, mode: failExit1}
		}
		return outcome{kind: recSuccess}
	}
	add(taskSpec{pool: fin, scripts: []int{1}, start: g.t0.Add(-4 * time.Minute), desks: g.all(fin), spread: 10 * time.Minute, plan: few})
	add(taskSpec{pool: cc, command: commandDefs[2], start: g.t0.Add(-10 * time.Minute), desks: g.all(cc), spread: 35 * time.Minute, plan: few})
	add(taskSpec{pool: ubu, scripts: []int{7}, start: g.t0.Add(-30 * time.Minute), desks: g.all(ubu), spread: 2 * h, plan: func(int) outcome {
		if g.rng.IntN(8) == 0 {
			return outcome{kind: recFailed, mode: failExit100}
		}
		return outcome{kind: recSuccess}
	}})
	add(taskSpec{pool: hr, scripts: []int{6}, start: g.t0.Add(-20 * time.Second), initUntil: g.t0.Add(2 * time.Minute),
		desks: g.all(hr), spread: 5 * time.Minute, plan: func(int) outcome { return outcome{kind: recSuccess} }})
	add(taskSpec{pool: cce, command: commandDefs[0], start: g.t0.Add(-5 * time.Second), initUntil: g.t0.Add(5 * time.Minute),
		desks: g.all(cce), spread: 15 * time.Minute, plan: few})

	// The rest: random, over the last seven days.
	weights := 0
	for _, p := range poolDefs {
		weights += p.weight
	}
	for len(out) < 200 {
		w := g.rng.IntN(weights)
		pool := 0
		for w >= poolDefs[pool].weight {
			w -= poolDefs[pool].weight
			pool++
		}
		window := 7*24*h - 45*time.Minute
		s := taskSpec{pool: pool, start: g.t0.Add(-45*time.Minute - time.Duration(g.rng.Int64N(int64(window)))).Truncate(time.Second)}
		if g.rng.IntN(10) < 7 {
			cands := g.scriptsFor(poolDefs[pool].linux)
			n := 1 + g.rng.IntN(3)/2 // mostly one script, sometimes two
			if g.rng.IntN(10) == 0 {
				n = 3
			}
			g.rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
			s.scripts = cands[:min(n, len(cands))]
		} else {
			cands := g.commandsFor(poolDefs[pool].linux)
			s.command = cands[g.rng.IntN(len(cands))]
		}
		s.desks = g.all(pool)
		if g.rng.IntN(10) >= 6 {
			s.desks = g.subset(pool)
		}
		s.plan = g.randomPlan(s)
		add(s)
	}
	// Last, so that the random tasks above are those of every seed before
	// the pool was added.
	kiosk := len(poolDefs) - 1
	add(taskSpec{pool: kiosk, command: commandDefs[3], start: g.t0.Add(-90 * time.Minute), desks: g.all(kiosk), spread: time.Minute,
		plan: func(i int) outcome {
			if i == 2 {
				return outcome{kind: recFailed, mode: failOffline}
			}
			return outcome{kind: recSuccess}
		}})
	return out
}

func (g *generator) all(pool int) []int {
	out := make([]int, poolDefs[pool].count)
	for i := range out {
		out[i] = i
	}
	return out
}

func (g *generator) subset(pool int) []int {
	n := poolDefs[pool].count
	k := 1 + g.rng.IntN(n)
	perm := g.rng.Perm(n)[:k]
	// keep desktop order
	picked := make([]bool, n)
	for _, p := range perm {
		picked[p] = true
	}
	var out []int
	for i, ok := range picked {
		if ok {
			out = append(out, i)
		}
	}
	return out
}

func (g *generator) scriptsFor(linux bool) []int {
	var out []int
	for i, s := range scriptDefs {
		if s.linux == linux {
			out = append(out, i)
		}
	}
	return out
}

func (g *generator) commandsFor(linux bool) []commandDef {
	var out []commandDef
	for _, c := range commandDefs {
		if (c.typ == "SHELL") == linux {
			out = append(out, c)
		}
	}
	return out
}

// randomPlan picks how a task goes: most succeed (some with skips), many
// fail on a few desktops, a few fail almost everywhere.
func (g *generator) randomPlan(s taskSpec) func(int) outcome {
	modes := []failMode{failExit1, failOffline, failTimeout}
	if len(s.scripts) > 0 {
		modes = scriptDefs[s.scripts[0]].fails
	}
	main := modes[0]
	if g.rng.IntN(3) == 0 {
		main = modes[g.rng.IntN(len(modes))]
	}
	n := len(s.desks)
	r := g.rng.IntN(100)
	fails := map[int]bool{}
	skips := map[int]bool{}
	switch {
	case r < 60:
		if g.rng.IntN(3) == 0 {
			skips[g.rng.IntN(n)] = true
		}
	case r < 93:
		k := 1 + g.rng.IntN(max(1, n/5))
		for range k {
			fails[g.rng.IntN(n)] = true
		}
		if g.rng.IntN(4) == 0 {
			skips[g.rng.IntN(n)] = true
		}
	default:
		for i := range n {
			if g.rng.IntN(10) != 0 {
				fails[i] = true
			}
		}
	}
	failScript := 0
	if len(s.scripts) > 1 {
		failScript = g.rng.IntN(len(s.scripts))
	}
	offline := g.rng.IntN(3) == 0
	return func(i int) outcome {
		switch {
		case fails[i] && offline && i%3 == 0:
			return outcome{kind: recFailed, mode: failOffline}
		case fails[i]:
			return outcome{kind: recFailed, mode: main, script: failScript}
		case skips[i]:
			return outcome{kind: recSkip}
		}
		return outcome{kind: recSuccess}
	}
}

// build turns a spec into a task with its records.
func (g *generator) build(s taskSpec) *simTask {
	p := poolDefs[s.pool]
	t := &simTask{
		base: pooltask.Task{
			ID:       uuidFrom(g.rng),
			PoolID:   g.poolIDs[s.pool],
			PoolName: p.name,
			Start:    s.start,
		},
		initUntil: s.initUntil,
	}
	for _, i := range s.scripts {
		t.base.Scripts = append(t.base.Scripts, g.scripts[i])
	}
	if len(s.scripts) == 0 {
		t.base.CommandContent, t.base.CommandType = s.command.content, s.command.typ
	}
	first := s.start
	if !s.initUntil.IsZero() {
		first = s.initUntil
	}
	for i, d := range s.desks {
		o := s.plan(i)
		at := first.Add(time.Duration(g.rng.IntN(30)) * time.Second)
		if s.spread > 0 {
			at = first.Add(s.spread * time.Duration(i) / time.Duration(len(s.desks)))
		}
		steps := len(s.scripts)
		if steps == 0 {
			steps = 1
		}
		for j := range steps {
			rec := pooltask.Record{
				ID:           uuidFrom(g.rng),
				TaskID:       t.base.ID,
				DesktopID:    g.deskIDs[s.pool][d],
				DesktopName:  g.deskName(s.pool, d),
				ResourceType: "DESKTOP",
				Start:        at,
			}
			name := ""
			if len(s.scripts) > 0 {
				sc := g.scripts[s.scripts[j]]
				rec.ScriptID, rec.ScriptName, name = sc.ID, sc.Name, sc.Name
			}
			dur := time.Duration(3+g.rng.IntN(85)) * time.Second
			switch {
			case o.kind == recSkip:
				dur = 0
				rec.Status, rec.Reason = recSkip, skipReasons[g.rng.IntN(len(skipReasons))]
			case o.kind == recFailed && o.script == j:
				if o.mode.dur > 0 {
					dur = o.mode.dur
				}
				rec.Status, rec.ResultCode, rec.Reason = recFailed, o.mode.code, o.mode.reason
			default:
				rec.Status, rec.ResultCode = recSuccess, "0"
			}
			rec.End = at.Add(dur)
			at = rec.End.Add(time.Second)
			sr := &simRecord{rec: rec, task: t}
			if rec.Status != recSkip {
				// Outputs are made when asked for: all of them would take
				// megabytes nobody reads.
				seed, cmd, linux, desk, mode, failed := g.rng.Uint64(), s.command, p.linux, rec.DesktopName, o.mode, rec.Status == recFailed
				sr.output = func() string {
					r := rand.New(rand.NewPCG(seed, 0))
					if failed {
						return failOutput(name, cmd, linux, desk, mode, r)
					}
					return okOutput(name, cmd, desk, r)
				}
			}
			t.recs = append(t.recs, sr)
		}
	}
	t.seal()
	return t
}
