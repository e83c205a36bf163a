package deploy

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/doctor"
)

// placeholderImage is the image every manifest names: what `docker build -t pooltasks:dev .`
// makes, which nobody mistakes for a published image.
const placeholderImage = "pooltasks:dev"

// stateDir is where the image and every pod keep POOLTASKS_STATE_DIR.
const stateDir = "/var/lib/pooltasks"

// secretKeys are the variables that must come from the Secret and nowhere else.
var secretKeys = []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "POOLTASKS_INTERNAL_TOKEN"}

// secretLike matches variable names that hold secrets, including ones not in the template
// (HUAWEICLOUD_SDK_SECURITY_TOKEN).
var secretLike = regexp.MustCompile(`TOKEN|_AK$|_SK$|SECRET|PASSWORD`)

// tokenLike matches values that look like real Slack tokens.
var tokenLike = regexp.MustCompile(`xox[abpr]-[0-9]+-|xapp-[0-9]+-`)

// slackManifest holds the parts of manifest.yml that the bot depends on.
type slackManifest struct {
	DisplayInformation struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
	} `yaml:"display_information"`
	Features struct {
		BotUser *struct {
			DisplayName  string `yaml:"display_name"`
			AlwaysOnline bool   `yaml:"always_online"`
		} `yaml:"bot_user"`
		SlashCommands []struct {
			Command     string `yaml:"command"`
			Description string `yaml:"description"`
			UsageHint   string `yaml:"usage_hint"`
			URL         string `yaml:"url"`
		} `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot  []string `yaml:"bot"`
			User []string `yaml:"user"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		EventSubscriptions struct {
			RequestURL string   `yaml:"request_url"`
			BotEvents  []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			IsEnabled  bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		OrgDeployEnabled     *bool `yaml:"org_deploy_enabled"`
		SocketModeEnabled    bool  `yaml:"socket_mode_enabled"`
		TokenRotationEnabled *bool `yaml:"token_rotation_enabled"`
	} `yaml:"settings"`
}

func TestSlackManifest(t *testing.T) {
	data, err := os.ReadFile("../manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	var m slackManifest
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("manifest.yml: %v", err)
	}
	if m.DisplayInformation.Name == "" {
		t.Error("display_information.name is empty")
	}
	if n := len(m.DisplayInformation.Name); n > 35 {
		t.Errorf("display_information.name has %d characters, Slack allows 35", n)
	}
	if m.Features.BotUser == nil || !m.Features.BotUser.AlwaysOnline || m.Features.BotUser.DisplayName == "" {
		t.Errorf("features.bot_user = %+v, want a display name and always_online: true", m.Features.BotUser)
	}
	if len(m.Features.SlashCommands) != 1 {
		t.Fatalf("got %d slash commands, want exactly /pooltasks", len(m.Features.SlashCommands))
	}
	cmd := m.Features.SlashCommands[0]
	if cmd.Command != "/pooltasks" {
		t.Errorf("slash command %q, want /pooltasks", cmd.Command)
	}
	if cmd.Description == "" || cmd.UsageHint == "" {
		t.Errorf("slash command needs a description and a usage_hint, got %+v", cmd)
	}
	if cmd.URL != "" {
		t.Errorf("slash command has url %q: socket mode takes none", cmd.URL)
	}
	if got, want := sorted(m.OAuthConfig.Scopes.Bot), sorted(requiredScopes); !slices.Equal(got, want) {
		t.Errorf("bot scopes %v, want exactly %v", got, want)
	}
	if len(m.OAuthConfig.Scopes.User) != 0 {
		t.Errorf("user scopes %v, want none", m.OAuthConfig.Scopes.User)
	}
	s := m.Settings
	if !s.SocketModeEnabled {
		t.Error("settings.socket_mode_enabled is not true")
	}
	if !s.Interactivity.IsEnabled {
		t.Error("settings.interactivity.is_enabled is not true: buttons would not work")
	}
	if s.Interactivity.RequestURL != "" || s.EventSubscriptions.RequestURL != "" {
		t.Error("a request_url is set: socket mode takes none")
	}
	if !slices.Contains(s.EventSubscriptions.BotEvents, "app_mention") {
		t.Errorf("bot_events %v lack app_mention", s.EventSubscriptions.BotEvents)
	}
	if s.OrgDeployEnabled == nil || *s.OrgDeployEnabled {
		t.Error("settings.org_deploy_enabled should be set to false")
	}
	if s.TokenRotationEnabled == nil || *s.TokenRotationEnabled {
		t.Error("settings.token_rotation_enabled should be set to false: the bot does not refresh tokens")
	}
}

// requiredScopes are the bot scopes pooltasks needs: doctor compares the granted scopes with
// them, so the manifest must ask for exactly these.
var requiredScopes = doctor.RequiredScopes

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// object is one Kubernetes object, decoded only as far as the checks below need.
type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       spec              `yaml:"spec"`
	file       string
}

type spec struct {
	// Deployment.
	Replicas *int `yaml:"replicas"`
	Strategy struct {
		Type string `yaml:"type"`
	} `yaml:"strategy"`
	Template podTemplate `yaml:"template"`
	// CronJob.
	Schedule          string `yaml:"schedule"`
	ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
	JobTemplate       struct {
		Spec struct {
			Template podTemplate `yaml:"template"`
		} `yaml:"spec"`
	} `yaml:"jobTemplate"`
	// PersistentVolumeClaim.
	AccessModes []string `yaml:"accessModes"`
	// PodDisruptionBudget.
	MinAvailable any `yaml:"minAvailable"`
	// Service (a Deployment's selector has matchLabels instead).
	Selector map[string]any `yaml:"selector"`
	Ports    []struct {
		Port       int `yaml:"port"`
		TargetPort any `yaml:"targetPort"`
	} `yaml:"ports"`
}

type podTemplate struct {
	Metadata struct {
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec podSpec `yaml:"spec"`
}

type podSpec struct {
	RestartPolicy   string `yaml:"restartPolicy"`
	SecurityContext struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
		RunAsUser    *int  `yaml:"runAsUser"`
		FSGroup      *int  `yaml:"fsGroup"`
	} `yaml:"securityContext"`
	Containers []container `yaml:"containers"`
	Volumes    []struct {
		Name                  string `yaml:"name"`
		PersistentVolumeClaim *struct {
			ClaimName string `yaml:"claimName"`
		} `yaml:"persistentVolumeClaim"`
		EmptyDir *struct{} `yaml:"emptyDir"`
	} `yaml:"volumes"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env     []envVar `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *struct {
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type envVar struct {
	Name      string  `yaml:"name"`
	Value     *string `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef *struct {
			Name string `yaml:"name"`
			Key  string `yaml:"key"`
		} `yaml:"secretKeyRef"`
		ConfigMapKeyRef *struct {
			Name string `yaml:"name"`
			Key  string `yaml:"key"`
		} `yaml:"configMapKeyRef"`
		ResourceFieldRef *struct {
			Resource string `yaml:"resource"`
		} `yaml:"resourceFieldRef"`
	} `yaml:"valueFrom"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

// loadObjects decodes every YAML document of every .yaml/.yml file in dir.
func loadObjects(t *testing.T, dir string) []object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	var objs []object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o object
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.Kind == "" {
				continue // an empty document
			}
			if o.APIVersion == "" || o.Metadata.Name == "" {
				t.Errorf("%s: a %s without apiVersion or metadata.name", f, o.Kind)
			}
			o.file = filepath.Base(f)
			objs = append(objs, o)
		}
	}
	return objs
}

func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && o.Metadata.Name == name {
			return o
		}
	}
	t.Fatalf("no %s %q among the manifests", kind, name)
	return object{}
}

// env resolves a variable of c: its literal value, or the value the ConfigMap gives it.
func env(c container, cm object, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name && e.Value != nil {
			return *e.Value, true
		}
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil && ef.ConfigMapRef.Name == cm.Metadata.Name {
			if v, ok := cm.Data[name]; ok {
				return v, true
			}
		}
	}
	return "", false
}

func TestKubernetesLayout(t *testing.T) {
	objs := loadObjects(t, ".")
	cm := find(t, objs, "ConfigMap", "pooltasks")
	secret := find(t, objs, "Secret", "pooltasks")
	pvc := find(t, objs, "PersistentVolumeClaim", "pooltasks-state")
	responders := find(t, objs, "Deployment", "pooltasks-responders")
	scheduler := find(t, objs, "Deployment", "pooltasks-scheduler")
	// `kubectl apply -f deploy/` applies the top folder alone: the CronJob,
	// which would post every digest a second time beside the scheduler,
	// waits in optional/.
	for _, o := range objs {
		if o.Kind == "CronJob" {
			t.Errorf("%s: CronJob %s beside the scheduler: keep it in deploy/optional/", o.file, o.Metadata.Name)
		}
	}
	cron := find(t, loadObjects(t, "optional"), "CronJob", "pooltasks-digest")

	if got := sorted(keys(secret.StringData, secret.Data)); !slices.Equal(got, sorted(secretKeys)) {
		t.Errorf("Secret keys %v, want %v", got, sorted(secretKeys))
	}
	if !slices.Equal(pvc.Spec.AccessModes, []string{"ReadWriteOnce"}) {
		t.Errorf("PVC access modes %v, want [ReadWriteOnce]", pvc.Spec.AccessModes)
	}

	for _, tc := range []struct {
		d         object
		replicas  int
		strategy  string
		scheduler string
		pvc       bool
	}{
		{responders, 2, "RollingUpdate", "false", false},
		{scheduler, 1, "Recreate", "true", true},
	} {
		t.Run(tc.d.Metadata.Name, func(t *testing.T) {
			if tc.d.Spec.Replicas == nil || *tc.d.Spec.Replicas != tc.replicas {
				t.Errorf("replicas %v, want %d", tc.d.Spec.Replicas, tc.replicas)
			}
			if tc.d.Spec.Strategy.Type != tc.strategy {
				t.Errorf("strategy %q, want %q", tc.d.Spec.Strategy.Type, tc.strategy)
			}
			c := tc.d.Spec.Template.Spec.Containers[0]
			if got, _ := env(c, cm, "POOLTASKS_SCHEDULER"); got != tc.scheduler {
				t.Errorf("POOLTASKS_SCHEDULER=%q, want %q", got, tc.scheduler)
			}
			if !slices.Equal(c.Args, []string{"serve"}) || len(c.Command) != 0 {
				t.Errorf("command %v args %v, want the image's entrypoint with args [serve]", c.Command, c.Args)
			}
			checkProbe(t, "liveness", c, c.LivenessProbe, "/healthz")
			checkProbe(t, "readiness", c, c.ReadinessProbe, "/readyz")
			dir, _ := env(c, cm, "POOLTASKS_STATE_DIR")
			vol := mountAt(c, dir)
			claim := ""
			for _, v := range tc.d.Spec.Template.Spec.Volumes {
				if v.Name == vol && v.PersistentVolumeClaim != nil {
					claim = v.PersistentVolumeClaim.ClaimName
				}
			}
			if tc.pvc && claim != pvc.Metadata.Name {
				t.Errorf("POOLTASKS_STATE_DIR %q is on volume %q with claim %q, want the PVC %q", dir, vol, claim, pvc.Metadata.Name)
			}
			if !tc.pvc && claim != "" {
				t.Errorf("responders mount the PVC %q: only the one scheduler may", claim)
			}
		})
	}

	t.Run("watches", func(t *testing.T) {
		// Responders forward every watch to the scheduler through its Service.
		svc := find(t, objs, "Service", "pooltasks-scheduler")
		selects := func(d object) bool {
			for k, v := range svc.Spec.Selector {
				if d.Spec.Template.Metadata.Labels[k] != v {
					return false
				}
			}
			return len(svc.Spec.Selector) > 0
		}
		if !selects(scheduler) || selects(responders) {
			t.Errorf("the Service's selector %v must pick the scheduler's pods alone", svc.Spec.Selector)
		}
		sc := scheduler.Spec.Template.Spec.Containers[0]
		ports := map[string]int{}
		for _, p := range svc.Spec.Ports {
			target := 0
			switch tp := p.TargetPort.(type) {
			case int:
				target = tp
			case string:
				for _, cp := range sc.Ports {
					if cp.Name == tp {
						target = cp.ContainerPort
					}
				}
			case nil:
				target = p.Port
			}
			if target != 8080 {
				t.Errorf("Service port %d targets %v, want the scheduler's 8080 (POOLTASKS_HTTP_ADDR)", p.Port, p.TargetPort)
			}
			ports[strconv.Itoa(p.Port)] = target
		}
		rc := responders.Spec.Template.Spec.Containers[0]
		u, _ := env(rc, cm, "POOLTASKS_WATCH_URL")
		parsed, err := url.Parse(u)
		if err != nil || parsed.Scheme != "http" || parsed.Hostname() != svc.Metadata.Name || ports[parsed.Port()] != 8080 {
			t.Errorf("responders' POOLTASKS_WATCH_URL=%q, want http://%s:<a port of the Service>", u, svc.Metadata.Name)
		}
		if u, _ := env(sc, cm, "POOLTASKS_WATCH_URL"); u != "" {
			t.Errorf("the scheduler's POOLTASKS_WATCH_URL=%q: it runs the watches itself", u)
		}
		for _, d := range []object{responders, scheduler} {
			if !fromSecret(d.Spec.Template.Spec.Containers[0], "POOLTASKS_INTERNAL_TOKEN") {
				t.Errorf("%s: POOLTASKS_INTERNAL_TOKEN does not come from the Secret's key of that name", d.Metadata.Name)
			}
		}
	})

	t.Run("cronjob", func(t *testing.T) {
		c := cron.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
		if len(c.Args) == 0 || c.Args[0] != "digest" || len(c.Command) != 0 {
			t.Fatalf("command %v args %v, want the image's entrypoint with args starting with digest", c.Command, c.Args)
		}
		i := slices.Index(c.Args, "--channel")
		if i < 0 || i+1 >= len(c.Args) {
			t.Fatalf("args %v lack --channel C…", c.Args)
		}
		// Kubernetes expands $(VAR) from the container's environment; the variable must exist.
		if m := regexp.MustCompile(`^\$\((\w+)\)$`).FindStringSubmatch(c.Args[i+1]); m != nil {
			if v, ok := env(c, cm, m[1]); !ok || v == "" {
				t.Errorf("--channel %s: %s is not set in the container's environment", c.Args[i+1], m[1])
			}
		}
		if cron.Spec.ConcurrencyPolicy != "Forbid" {
			t.Errorf("concurrencyPolicy %q, want Forbid: two runs would post two digests", cron.Spec.ConcurrencyPolicy)
		}
		if p := cron.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy; p != "Never" && p != "OnFailure" {
			t.Errorf("restartPolicy %q", p)
		}
		if got, _ := env(c, cm, "POOLTASKS_SCHEDULER"); got != "false" {
			t.Errorf("POOLTASKS_SCHEDULER=%q in the CronJob, want false", got)
		}
	})
}

// TestRedisLayout checks Redis mode's manifests in redis/: N identical replicas that elect
// their scheduler (POOLTASKS_SCHEDULER=auto) and read POOLTASKS_REDIS_URL from a Secret, with
// their PodDisruptionBudget, and nothing of file mode (no scheduler, no volume, no internal
// watch API). They use the top folder's ConfigMap and Secret, and the top folder, which
// `kubectl apply -f deploy/` applies, holds nothing of Redis mode.
func TestRedisLayout(t *testing.T) {
	top := loadObjects(t, ".")
	cm := find(t, top, "ConfigMap", "pooltasks")
	find(t, top, "Secret", "pooltasks")
	objs := loadObjects(t, "redis")
	d := find(t, objs, "Deployment", "pooltasks-responders")
	redisSecret := find(t, objs, "Secret", "pooltasks-redis")
	pdb := find(t, objs, "PodDisruptionBudget", "pooltasks-responders")

	for _, o := range objs {
		switch o.Kind {
		case "Deployment", "Secret", "PodDisruptionBudget":
		default:
			t.Errorf("%s: %s %s in redis/: Redis mode has no scheduler, Service or volume", o.file, o.Kind, o.Metadata.Name)
		}
	}
	for _, o := range top {
		if o.Kind == "Deployment" {
			if _, ok := env(o.Spec.Template.Spec.Containers[0], cm, "POOLTASKS_REDIS_URL"); ok || fromSecretKey(o.Spec.Template.Spec.Containers[0], "POOLTASKS_REDIS_URL") != "" {
				t.Errorf("%s: %s sets POOLTASKS_REDIS_URL: file mode's manifests must not", o.file, o.Metadata.Name)
			}
		}
	}
	if _, ok := cm.Data["POOLTASKS_REDIS_URL"]; ok {
		t.Error("the ConfigMap holds POOLTASKS_REDIS_URL: a URL may hold a password; it belongs in a Secret")
	}
	if got := keys(redisSecret.StringData, redisSecret.Data); !slices.Equal(got, []string{"POOLTASKS_REDIS_URL"}) {
		t.Errorf("Secret %s keys %v, want [POOLTASKS_REDIS_URL]", redisSecret.Metadata.Name, got)
	}
	if u, err := url.Parse(redisSecret.StringData["POOLTASKS_REDIS_URL"]); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		t.Errorf("POOLTASKS_REDIS_URL template %q is not a redis:// or rediss:// URL", redisSecret.StringData["POOLTASKS_REDIS_URL"])
	}

	replicas := 0
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	if replicas < 2 {
		t.Errorf("replicas %d, want at least 2: the replicas stand in for each other", replicas)
	}
	if d.Spec.Strategy.Type != "RollingUpdate" {
		t.Errorf("strategy %q, want RollingUpdate", d.Spec.Strategy.Type)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if got, _ := env(c, cm, "POOLTASKS_SCHEDULER"); got != "auto" {
		t.Errorf("POOLTASKS_SCHEDULER=%q, want auto: the replicas elect the one that schedules", got)
	}
	if !slices.Equal(c.Args, []string{"serve"}) || len(c.Command) != 0 {
		t.Errorf("command %v args %v, want the image's entrypoint with args [serve]", c.Command, c.Args)
	}
	checkProbe(t, "liveness", c, c.LivenessProbe, "/healthz")
	checkProbe(t, "readiness", c, c.ReadinessProbe, "/readyz")
	if got := fromSecretKey(c, "POOLTASKS_REDIS_URL"); got != redisSecret.Metadata.Name+"/POOLTASKS_REDIS_URL" {
		t.Errorf("POOLTASKS_REDIS_URL from %q, want the Secret %s's key of that name", got, redisSecret.Metadata.Name)
	}
	for _, name := range []string{"POOLTASKS_WATCH_URL", "POOLTASKS_INTERNAL_TOKEN"} {
		if _, ok := env(c, cm, name); ok || fromSecretKey(c, name) != "" {
			t.Errorf("%s is set: Redis mode has no internal watch API", name)
		}
	}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			t.Errorf("volume %s claims %s: Redis mode needs no volume", v.Name, v.PersistentVolumeClaim.ClaimName)
		}
	}

	if n, ok := pdb.Spec.MinAvailable.(int); !ok || n < 1 || n >= replicas {
		t.Errorf("PodDisruptionBudget minAvailable %v, want at least 1 and fewer than the %d replicas", pdb.Spec.MinAvailable, replicas)
	}
	match, _ := pdb.Spec.Selector["matchLabels"].(map[string]any)
	for k, v := range match {
		if d.Spec.Template.Metadata.Labels[k] != v {
			match = nil
		}
	}
	if len(match) == 0 {
		t.Errorf("the PodDisruptionBudget's selector %v does not pick the replicas' pods %v", pdb.Spec.Selector, d.Spec.Template.Metadata.Labels)
	}
}

// fromSecretKey returns "secret/key" for the variable name of c read by a secretKeyRef, or "".
func fromSecretKey(c container, name string) string {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			return e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	return ""
}

// fromSecret reports whether c reads name from the Secret's key of the same name.
func fromSecret(c container, name string) bool {
	return fromSecretKey(c, name) == "pooltasks/"+name
}

func checkProbe(t *testing.T, kind string, c container, p *probe, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("no %s httpGet probe", kind)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s probe path %q, want %q", kind, p.HTTPGet.Path, path)
	}
	port := 0
	switch v := p.HTTPGet.Port.(type) {
	case int:
		port = v
	case string:
		for _, cp := range c.Ports {
			if cp.Name == v {
				port = cp.ContainerPort
			}
		}
	}
	if port != 8080 {
		t.Errorf("%s probe port %v resolves to %d, want 8080 (POOLTASKS_HTTP_ADDR)", kind, p.HTTPGet.Port, port)
	}
}

func mountAt(c container, path string) string {
	for _, m := range c.VolumeMounts {
		if m.MountPath == path && !m.ReadOnly {
			return m.Name
		}
	}
	return ""
}

func keys(ms ...map[string]string) []string {
	var ks []string
	for _, m := range ms {
		for k := range m {
			ks = append(ks, k)
		}
	}
	return ks
}

// TestPodsHardened checks every container of every workload: a read-only root with a
// writable state directory, no privileges, the resources the benchmarks sized, and secrets
// only by reference to the Secret.
func TestPodsHardened(t *testing.T) {
	objs := append(loadObjects(t, "."), loadObjects(t, "optional")...)
	objs = append(objs, loadObjects(t, "redis")...)
	cm := find(t, objs, "ConfigMap", "pooltasks")
	secretData := map[string][]string{} // each Secret's keys, by name
	for _, o := range objs {
		if o.Kind == "Secret" {
			secretData[o.Metadata.Name] = keys(o.StringData, o.Data)
			for k, v := range o.StringData {
				if tokenLike.MatchString(v) {
					t.Errorf("Secret %s holds a real-looking token in %s: keep placeholders", o.Metadata.Name, k)
				}
			}
		}
	}

	for k, v := range cm.Data {
		if secretLike.MatchString(k) {
			t.Errorf("ConfigMap holds %s: secrets belong in the Secret", k)
		}
		if tokenLike.MatchString(v) {
			t.Errorf("ConfigMap %s looks like a token", k)
		}
		if strings.TrimSpace(v) == "" {
			t.Errorf("ConfigMap %s is empty: an empty value replaces the default; leave it out", k)
		}
	}
	workloads := 0
	for _, o := range objs {
		var ps podSpec
		switch o.Kind {
		case "Deployment":
			ps = o.Spec.Template.Spec
		case "CronJob":
			ps = o.Spec.JobTemplate.Spec.Template.Spec
		default:
			continue
		}
		workloads++
		t.Run(o.Kind+"/"+o.Metadata.Name, func(t *testing.T) {
			if len(ps.Containers) == 0 {
				t.Fatal("no containers")
			}
			podNonRoot := ps.SecurityContext.RunAsNonRoot != nil && *ps.SecurityContext.RunAsNonRoot
			if ps.SecurityContext.FSGroup == nil || *ps.SecurityContext.FSGroup != 65532 {
				t.Error("securityContext.fsGroup is not 65532 (distroless nonroot): the state volume would not be writable")
			}
			for _, c := range ps.Containers {
				if c.Image != placeholderImage {
					t.Errorf("image %q, want the placeholder %s that README's Deployment section explains", c.Image, placeholderImage)
				}
				sc := c.SecurityContext
				if sc == nil {
					t.Fatalf("container %s has no securityContext", c.Name)
				}
				if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
					t.Error("readOnlyRootFilesystem is not true")
				}
				if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
					t.Error("allowPrivilegeEscalation is not false")
				}
				if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
					t.Error("runAsNonRoot is not true")
				}
				if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
					t.Errorf("capabilities.drop %v, want [ALL]", sc.Capabilities.Drop)
				}
				r := c.Resources
				if r.Requests["cpu"] != "50m" || r.Requests["memory"] != "32Mi" || r.Limits["memory"] != "128Mi" {
					t.Errorf("resources %+v, want requests cpu 50m memory 32Mi, limits memory 128Mi", r)
				}
				dir, ok := env(c, cm, "POOLTASKS_STATE_DIR")
				if !ok || dir != stateDir {
					t.Errorf("POOLTASKS_STATE_DIR=%q, want %q (the image's volume)", dir, stateDir)
				}
				if mountAt(c, dir) == "" {
					t.Errorf("nothing writable is mounted at POOLTASKS_STATE_DIR %q on a read-only root", dir)
				}
				for _, ef := range c.EnvFrom {
					if ef.SecretRef != nil {
						t.Errorf("envFrom secretRef %q: name each secret with secretKeyRef", ef.SecretRef.Name)
					}
					if ef.ConfigMapRef != nil && ef.ConfigMapRef.Name != cm.Metadata.Name {
						t.Errorf("envFrom names ConfigMap %q, which deploy/ does not define", ef.ConfigMapRef.Name)
					}
				}
				hasSecret := false
				for _, e := range c.Env {
					ref := (*struct {
						Name string `yaml:"name"`
						Key  string `yaml:"key"`
					})(nil)
					if e.ValueFrom != nil {
						ref = e.ValueFrom.SecretKeyRef
					}
					if secretLike.MatchString(e.Name) || slices.Contains(secretKeys, e.Name) {
						if ref == nil {
							t.Errorf("%s is not from a secretKeyRef", e.Name)
							continue
						}
					}
					if e.Value != nil && tokenLike.MatchString(*e.Value) {
						t.Errorf("%s has a literal token value", e.Name)
					}
					if ref != nil {
						hasSecret = true
						if !slices.Contains(secretData[ref.Name], ref.Key) {
							t.Errorf("%s refers to secret %s key %s, which the Secret does not have", e.Name, ref.Name, ref.Key)
						}
					}
				}
				if !hasSecret {
					t.Error("no variable comes from the Secret")
				}
			}
		})
	}
	if workloads != 4 {
		t.Errorf("%d workloads, want 4 (responders, scheduler, digest CronJob, Redis mode's responders)", workloads)
	}
}

// TestDockerfile checks the image agrees with the manifests: distroless nonroot, the state
// directory as a volume, port 8080, the binary as entrypoint and serve as default command.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms, lines []string
	for _, l := range strings.Split(strings.ReplaceAll(string(data), "\\\n", " "), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		lines = append(lines, l)
		if strings.HasPrefix(l, "FROM ") {
			froms = append(froms, l)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("%d FROM lines, want a multi-stage build", len(froms))
	}
	if last := froms[len(froms)-1]; last != "FROM gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("final stage %q, want distroless static nonroot", last)
	}
	final := lines[slices.Index(lines, froms[len(froms)-1]):]
	for _, want := range []string{
		`VOLUME ["` + stateDir + `"]`,
		"USER nonroot:nonroot",
		"EXPOSE 8080",
		`ENTRYPOINT ["/pooltasks"]`,
		`CMD ["serve"]`,
	} {
		if !slices.Contains(final, want) {
			t.Errorf("final stage lacks %s", want)
		}
	}
	if !strings.Contains(string(data), "POOLTASKS_STATE_DIR="+stateDir) {
		t.Errorf("POOLTASKS_STATE_DIR is not set to %s", stateDir)
	}
	build := strings.Join(lines, "\n")
	for _, want := range []string{
		"--mount=type=cache,target=/go/pkg/mod",
		"--mount=type=cache,target=/root/.cache/go-build",
		"CGO_ENABLED=0",
		"-trimpath",
		"-X main.version=${VERSION}",
		"./cmd/pooltasks",
	} {
		if !strings.Contains(build, want) {
			t.Errorf("build stage lacks %s", want)
		}
	}
}

// TestChartValues: the Helm chart's values hold every setting of config.Config at its
// default, under config: (or as a secret.* value, or set per role by the templates), and name
// the placeholder image. .ci/run renders and lints the chart; this keeps its values complete
// when a variable is added.
func TestChartValues(t *testing.T) {
	data, err := os.ReadFile("helm/pooltasks/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Image struct {
			Repository string `yaml:"repository"`
			Tag        string `yaml:"tag"`
		} `yaml:"image"`
		Config map[string]string `yaml:"config"`
		Secret map[string]string `yaml:"secret"`
	}
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if got := v.Image.Repository + ":" + v.Image.Tag; got != placeholderImage {
		t.Errorf("image %s, want the placeholder %s", got, placeholderImage)
	}
	// The templates set these for each role, and read these from the Secret.
	perRole := []string{"POOLTASKS_SCHEDULER", "POOLTASKS_STATE_DIR", "POOLTASKS_HTTP_ADDR", "POOLTASKS_WATCH_URL"}
	fromSecret := map[string]string{
		"SLACK_APP_TOKEN": "slackAppToken", "SLACK_BOT_TOKEN": "slackBotToken",
		"HUAWEICLOUD_SDK_AK": "huaweicloudAK", "HUAWEICLOUD_SDK_SK": "huaweicloudSK",
		"HUAWEICLOUD_SDK_SECURITY_TOKEN": "huaweicloudSecurityToken",
		"POOLTASKS_INTERNAL_TOKEN":       "internalToken", "POOLTASKS_REDIS_URL": "redisURL",
	}
	// Shown as an example rather than at the default.
	examples := map[string]string{"WORKSPACE_REGION": "ap-southeast-1"}
	seen := map[string]bool{}
	ct := reflect.TypeFor[config.Config]()
	for i := range ct.NumField() {
		f := ct.Field(i)
		name := f.Tag.Get("envconfig")
		if name == "" {
			continue
		}
		seen[name] = true
		if slices.Contains(perRole, name) {
			continue
		}
		if key, ok := fromSecret[name]; ok {
			if _, ok := v.Secret[key]; !ok {
				t.Errorf("%s: no secret.%s in the chart's values", name, key)
			}
			continue
		}
		got, ok := v.Config[name]
		want := cmp.Or(examples[name], f.Tag.Get("default"))
		if f.Type.Kind() == reflect.Bool && want == "" {
			want = "false"
		}
		if !ok || got != want {
			t.Errorf("config.%s = %q (present %v), want %q", name, got, ok, want)
		}
	}
	for name := range v.Config {
		if !seen[name] {
			t.Errorf("config.%s is not a variable of pooltasks", name)
		}
	}
}
