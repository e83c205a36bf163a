package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/redact"
)

// DefaultTarget is the name of the one target of a deployment without
// POOLTASKS_TARGETS_FILE: the WORKSPACE_* and HUAWEICLOUD_SDK_* variables.
const DefaultTarget = "default"

// AllTargets is the target word that asks every target at once.
const AllTargets = "all"

// Target is one Huawei Cloud project (a region of an account) the bot
// answers from: where its API is and which credentials sign for it.
type Target struct {
	Name      string
	Region    string
	Endpoint  string  // full base URL override; empty: the region's
	ProjectID string  // empty: discovered for the region
	RateLimit float64 // requests per second; 0: WORKSPACE_RATE_LIMIT
	Burst     int     // 0: WORKSPACE_BURST

	// AK, SK and SecurityToken are the values of the variables the file
	// names (or of HUAWEICLOUD_SDK_* for a target that names none; all
	// empty then means the SDK's provider chain). Never from the file.
	AK, SK, SecurityToken string
	// Agency, when set, is assumed with the credentials above (or the
	// provider chain's) for temporary credentials of another account.
	Agency *Agency
	// Credentials says where the credentials come from, for doctor:
	// "HUAWEICLOUD_SDK_AK/SK", "EU_AK/EU_SK", "the SDK's provider chain";
	// an agency adds "assuming agency …".
	Credentials string
}

// String names the target and where it points, never a secret.
func (t Target) String() string {
	where := t.Region
	if t.Endpoint != "" {
		where = quoteURL(t.Endpoint)
	}
	return t.Name + " (" + where + ", credentials: " + t.Credentials + ")"
}

// GoString keeps %#v from printing the target's secrets.
func (t Target) GoString() string { return "config.Target{" + t.String() + "}" }

// Agency is an IAM agency of another account, assumed through STS
// AssumeAgency (POST /v5/agencies/assume) for temporary credentials.
type Agency struct {
	AccountID        string        `yaml:"account_id"`  // the account (domain) id that owns the agency
	AgencyName       string        `yaml:"agency_name"` // the agency's name in that account
	Duration         time.Duration `yaml:"duration"`    // of the temporary credentials; default 1h
	SessionName      string        `yaml:"session_name"`
	SessionPolicyIDs []string      `yaml:"session_policy_ids"`
}

// DefaultAgencyDuration is how long assumed credentials last unless the
// file says otherwise (STS's own default).
const DefaultAgencyDuration = time.Hour

// URN is the agency's URN as STS AssumeAgency takes it.
func (a Agency) URN() string { return "iam::" + a.AccountID + ":agency:" + a.AgencyName }

// Targets is what the bot answers from: one target per project, and the
// target of a command that names none.
type Targets struct {
	List    []Target
	Default string // default_target; empty: a command without target= asks every target
	File    string // POOLTASKS_TARGETS_FILE; empty: the one target "default"

	secrets []redact.Secret // the values of the SK and token variables the file names
}

// Names returns the names of the targets, in the file's order.
func (ts Targets) Names() []string {
	out := make([]string, len(ts.List))
	for i, t := range ts.List {
		out[i] = t.Name
	}
	return out
}

// Lookup returns the target of a name, matched without regard to case.
func (ts Targets) Lookup(name string) (Target, bool) {
	for _, t := range ts.List {
		if strings.EqualFold(t.Name, name) {
			return t, true
		}
	}
	return Target{}, false
}

// The shapes of POOLTASKS_TARGETS_FILE, decoded strictly: a key the file
// does not define is an error, so a misspelt key never passes silently.
type (
	targetsFile struct {
		Targets       []fileTarget `yaml:"targets"`
		DefaultTarget string       `yaml:"default_target"`
	}
	fileTarget struct {
		Name        string    `yaml:"name"`
		Region      string    `yaml:"region"`
		ProjectID   string    `yaml:"project_id"`
		Endpoint    string    `yaml:"endpoint"`
		RateLimit   float64   `yaml:"rate_limit"`
		Burst       int       `yaml:"burst"`
		Credentials fileCreds `yaml:"credentials"`
	}
	fileCreds struct {
		Env    *fileEnv `yaml:"env"`
		Agency *Agency  `yaml:"agency"`
	}
	fileEnv struct {
		AK            string `yaml:"ak"`
		SK            string `yaml:"sk"`
		SecurityToken string `yaml:"security_token"`
	}
)

var (
	targetNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,31}$`)
	envNameRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	accountIDRe  = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// maxTargetsFile bounds what is read of POOLTASKS_TARGETS_FILE.
const maxTargetsFile = 1 << 20

// targets returns the targets the configuration describes, with what is
// wrong with them. Without POOLTASKS_TARGETS_FILE it is the one target
// "default" of the WORKSPACE_* and HUAWEICLOUD_SDK_* variables.
func (c Config) targets() (Targets, Problems) {
	if c.TargetsFile == "" {
		t := Target{Name: DefaultTarget, Region: c.Region, Endpoint: c.Endpoint, ProjectID: c.ProjectID}
		c.envCredentials(&t, nil)
		return Targets{List: []Target{t}}, nil
	}
	const name = "POOLTASKS_TARGETS_FILE"
	var ps Problems
	add := func(s Severity, detail, fix string) {
		ps = append(ps, Problem{Var: name, Severity: s, Detail: detail, Fix: fix})
	}
	for _, v := range []struct{ name, value string }{
		{"WORKSPACE_REGION", c.Region}, {"WORKSPACE_ENDPOINT", c.Endpoint}, {"WORKSPACE_PROJECT_ID", c.ProjectID},
	} {
		if v.value != "" {
			ps = append(ps, Problem{Var: v.name, Severity: Error,
				Detail: "is set as well as POOLTASKS_TARGETS_FILE, which says where each target is",
				Fix:    "unset " + v.name + " and give each target its region, endpoint and project_id in " + c.TargetsFile})
		}
	}
	f, err := os.Open(c.TargetsFile)
	if err != nil {
		add(Error, fmt.Sprintf("cannot read %s: %v", c.TargetsFile, errors.Unwrap(err)),
			"point it at a readable YAML file of targets (see the README's Targets section)")
		return Targets{}, ps
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTargetsFile+1))
	f.Close()
	if err != nil || len(data) > maxTargetsFile {
		add(Error, fmt.Sprintf("cannot read %s: it is not a file of at most 1 MB", c.TargetsFile), "point it at the YAML file of targets")
		return Targets{}, ps
	}
	where := c.TargetsFile
	var file targetsFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		fix := "write targets: [{name, region, …}] and default_target as in the README's Targets section"
		if strings.Contains(err.Error(), "domain_name") {
			fix = "STS AssumeAgency names the agency's account by its id: write account_id (IAM console → My Credentials → Account ID)"
		}
		for _, msg := range yamlErrors(err) {
			add(Error, where+msg, fix)
		}
		return Targets{}, ps
	}
	// The lines of the targets, to name them in problems.
	var lines []int
	var root yaml.Node
	if yaml.Unmarshal(data, &root) == nil && len(root.Content) == 1 {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "targets" {
				for _, n := range m.Content[i+1].Content {
					lines = append(lines, n.Line)
				}
			}
		}
	}
	at := func(i int) string {
		if i < len(lines) {
			return fmt.Sprintf("%s:%d: ", where, lines[i])
		}
		return where + ": "
	}
	if len(file.Targets) == 0 {
		add(Error, where+": no targets", "list at least one target under targets:, each with a name and a region")
		return Targets{}, ps
	}
	ts := Targets{File: c.TargetsFile}
	for i, ft := range file.Targets {
		here := at(i)
		bad := func(detail, fix string) { add(Error, here+detail, fix) }
		switch {
		case ft.Name == "":
			bad("a target has no name", "give each target a name of letters, digits and '-', e.g. eu")
			continue
		case !targetNameRe.MatchString(ft.Name):
			bad(fmt.Sprintf("target name %q is not letters, digits and '-' (at most 32)", ft.Name), "rename it, e.g. eu or ap-1")
			continue
		case strings.EqualFold(ft.Name, AllTargets):
			bad(`target name "all" is taken: target=all asks every target`, "rename it")
			continue
		}
		if _, dup := ts.Lookup(ft.Name); dup {
			bad(fmt.Sprintf("target %s is named twice", ft.Name), "give each target a name of its own")
			continue
		}
		t := Target{Name: ft.Name, Region: ft.Region, Endpoint: ft.Endpoint, ProjectID: ft.ProjectID, RateLimit: ft.RateLimit, Burst: ft.Burst}
		here += "target " + ft.Name + ": "
		switch {
		case ft.Region == "" && ft.Endpoint == "":
			bad("has neither region nor endpoint", "give it the region of its desktop pools, e.g. region: eu-west-101")
		case ft.Endpoint != "":
			if p, err := url.Parse(ft.Endpoint); err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http") {
				bad(fmt.Sprintf("endpoint %q is not an http(s) URL", quoteURL(ft.Endpoint)), "write the full base URL, e.g. https://workspace.eu-west-101.myhuaweicloud.eu, or leave it out")
			} else if p.Scheme == "http" && !isLoopback(p.Hostname()) {
				add(Warning, here+fmt.Sprintf("endpoint %q is plain http to a remote host", quoteURL(ft.Endpoint)), "use https")
			}
			if ft.Region == "" && ft.ProjectID == "" {
				bad("an endpoint without a region needs project_id (it cannot be discovered)", "add project_id, or region")
			}
		}
		if ft.ProjectID != "" && !projectIDRe.MatchString(ft.ProjectID) {
			add(Warning, here+fmt.Sprintf("project_id %q is not shaped like a project id (32 lowercase hex digits)", ft.ProjectID),
				"copy the project id of the region from IAM console → My Credentials → Projects")
		}
		if ft.RateLimit > 50 {
			add(Warning, here+fmt.Sprintf("rate_limit %g is more than the API gateway usually allows", ft.RateLimit), "use 5–20")
		}
		if ft.Burst < 0 || ft.Burst > 100 {
			bad(fmt.Sprintf("burst %d is outside 1 to 100", ft.Burst), "use 1 to 100, or leave it out for WORKSPACE_BURST")
		}
		if env := ft.Credentials.Env; env != nil {
			c.envCredentials(&t, env)
			for _, sec := range []redact.Secret{{Name: env.SK, Value: t.SK}, {Name: env.SecurityToken, Value: t.SecurityToken}} {
				if sec.Value != "" {
					ts.secrets = append(ts.secrets, sec)
				}
			}
			for _, v := range []struct{ key, name string }{{"ak", env.AK}, {"sk", env.SK}, {"security_token", env.SecurityToken}} {
				switch {
				case v.name == "" && v.key != "security_token":
					bad("credentials.env has no "+v.key, "name the variables that hold the AK and SK, e.g. {ak: EU_AK, sk: EU_SK}")
				case v.name == "":
				case !envNameRe.MatchString(v.name):
					// Not quoted: it may be the secret itself.
					bad("credentials.env."+v.key+" is not the name of an environment variable", "the file names variables, never holds secrets: write e.g. "+strings.ToUpper(ft.Name)+"_"+strings.ToUpper(v.key)+" and set that variable")
				case c.lookup(v.name) == "":
					bad(fmt.Sprintf("credentials.env.%s names %s, which is not set", v.key, v.name), "set "+v.name+" in the environment (e.g. from the Secret)")
				}
			}
		} else {
			c.envCredentials(&t, nil)
		}
		if a := ft.Credentials.Agency; a != nil {
			switch {
			case a.AccountID == "" || a.AgencyName == "":
				bad("credentials.agency needs account_id and agency_name", "write agency: {account_id: <32 hex digits>, agency_name: pooltasks-ro}")
			case !accountIDRe.MatchString(a.AccountID):
				bad(fmt.Sprintf("credentials.agency.account_id %q is not an account id (32 lowercase hex digits)", a.AccountID),
					"copy it from IAM console → My Credentials → Account ID of the account that owns the agency")
			}
			if a.Duration == 0 {
				a.Duration = DefaultAgencyDuration
			}
			if a.Duration < 15*time.Minute || a.Duration > 12*time.Hour {
				bad(fmt.Sprintf("credentials.agency.duration %v is outside 15m to 12h", a.Duration), "use 15m to 12h (STS's limits; the agency's maximum session may be lower)")
			}
			if a.SessionName == "" {
				a.SessionName = "pooltasks"
			}
			agency := *a
			agency.SessionPolicyIDs = slices.Clone(a.SessionPolicyIDs)
			t.Agency = &agency
			t.Credentials += ", assuming agency " + a.AgencyName + " of account " + a.AccountID
		}
		ts.List = append(ts.List, t)
	}
	if d := file.DefaultTarget; d != "" {
		if t, ok := ts.Lookup(d); ok {
			ts.Default = t.Name
		} else {
			fix := "name one of the targets: " + strings.Join(ts.Names(), ", ")
			if s, ok := commands.SuggestName(d, ts.Names()); ok {
				fix = "did you mean " + s + "?"
			}
			add(Error, fmt.Sprintf("%s: default_target %q is not a target", where, d), fix)
		}
	}
	return ts, ps
}

// yamlTypeRe is the Go type yaml.v3 names in its errors, of no use to a reader.
var yamlTypeRe = regexp.MustCompile(` in type config\.\w+| into config\.\w+| into \S+`)

// yamlErrors are the decoder's errors as path:LINE: text, one for each.
func yamlErrors(err error) []string {
	if errors.Is(err, io.EOF) {
		return []string{": the file is empty"}
	}
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	for i, m := range msgs {
		m = yamlTypeRe.ReplaceAllString(m, "")
		if n, rest, ok := strings.Cut(m, ": "); ok && strings.HasPrefix(n, "line ") {
			m = ":" + strings.TrimPrefix(n, "line ") + ": " + rest
		} else {
			m = ": " + m
		}
		msgs[i] = m
	}
	return msgs
}

// envCredentials sets a target's credentials from the variables env names,
// or from HUAWEICLOUD_SDK_* when it names none.
func (c Config) envCredentials(t *Target, env *fileEnv) {
	if env == nil {
		t.AK, t.SK, t.SecurityToken = c.AK, c.SK, c.SecurityToken
		t.Credentials = "the SDK's provider chain (profile file, ECS metadata or pod identity)"
		if c.AK != "" {
			t.Credentials = "HUAWEICLOUD_SDK_AK/SK"
		}
		return
	}
	t.AK, t.SK = c.lookup(env.AK), c.lookup(env.SK)
	t.Credentials = env.AK + "/" + env.SK
	if env.SecurityToken != "" {
		t.SecurityToken = c.lookup(env.SecurityToken)
		t.Credentials += "/" + env.SecurityToken
	}
}

// lookup is the value of an environment variable the targets file names.
func (c Config) lookup(name string) string {
	if c.Getenv == nil || name == "" {
		return ""
	}
	return c.Getenv(name)
}

// targetSecrets are the secret values the targets file points at: the SK
// and security token of every target that names its own variables.
func (c Config) targetSecrets() []redact.Secret {
	if c.TargetsFile == "" {
		return nil
	}
	ts, _ := c.targets()
	return ts.secrets
}
