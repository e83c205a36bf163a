package config

import (
	"bufio"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestEnvExample: .env.example lists every variable of Config once, each
// with a comment line above it and set to its default, so that loading the
// file is loading an empty environment.
func TestEnvExample(t *testing.T) {
	f, err := os.Open("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	var order []string
	prev := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if name, value, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			if _, dup := vars[name]; dup {
				t.Errorf("line %d: %s again", n, name)
			}
			if !strings.HasPrefix(prev, "# ") {
				t.Errorf("line %d: %s has no comment line above it", n, name)
			}
			vars[name] = value
			order = append(order, name)
		}
		prev = line
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	var names []string
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		f := ct.Field(i)
		name := f.Tag.Get("envconfig")
		if name == "" {
			continue
		}
		names = append(names, name)
		value, ok := vars[name]
		if !ok {
			t.Errorf("%s is missing", name)
			continue
		}
		if def := f.Tag.Get("default"); def != "" && value != def {
			t.Errorf("%s=%s, want its default %s", name, value, def)
		}
	}
	if d := cmp.Diff(names, order); d != "" {
		t.Errorf("variables (-Config +.env.example), in Config's order:\n%s", d)
	}
	got := Load(env(vars))
	if d := cmp.Diff(Load(env(nil)), got, cmp.AllowUnexported(Config{}), cmpopts.IgnoreFields(Config{}, "Getenv")); d != "" {
		t.Errorf("loading .env.example is not loading an empty environment (-want +got):\n%s", d)
	}
}

// TestShippedNames: the README section a missing token's fix names exists,
// and the example channel Validate warns of is the one deploy/ ships.
func TestShippedNames(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "\n## "+SlackSetupSection+"\n") {
		t.Errorf("README.md has no section %q, which the fix of a missing Slack token names", SlackSetupSection)
	}
	cm, err := os.ReadFile("../deploy/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cm), `POOLTASKS_DIGEST_CHANNEL: "`+ExampleChannel+`"`) {
		t.Errorf("deploy/configmap.yaml does not ship POOLTASKS_DIGEST_CHANNEL %s, which Validate warns of", ExampleChannel)
	}
}
