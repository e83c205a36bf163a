// Command kubecheck decodes every Kubernetes object of the YAML files it is
// given ("-" for standard input, as `helm template` writes it) strictly into
// its Kubernetes API type (k8s.io/api): a field the type does not have, a
// value of the wrong type, a duplicate key or a kind it does not know fails
// the check. .ci/run runs it on deploy/ and on the Helm chart's renderings.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// kinds are the objects pooltasks' manifests and chart may hold, by
// apiVersion and kind.
var kinds = map[[2]string]func() any{
	{"v1", "ConfigMap"}:                       func() any { return new(corev1.ConfigMap) },
	{"v1", "Secret"}:                          func() any { return new(corev1.Secret) },
	{"v1", "Service"}:                         func() any { return new(corev1.Service) },
	{"v1", "PersistentVolumeClaim"}:           func() any { return new(corev1.PersistentVolumeClaim) },
	{"apps/v1", "Deployment"}:                 func() any { return new(appsv1.Deployment) },
	{"batch/v1", "CronJob"}:                   func() any { return new(batchv1.CronJob) },
	{"policy/v1", "PodDisruptionBudget"}:      func() any { return new(policyv1.PodDisruptionBudget) },
	{"networking.k8s.io/v1", "NetworkPolicy"}: func() any { return new(networkingv1.NetworkPolicy) },
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kubecheck FILE.yaml... (- for standard input)")
		os.Exit(2)
	}
	failed := false
	for _, name := range os.Args[1:] {
		n, err := checkFile(name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kubecheck: %s: %v\n", name, err)
			failed = true
			continue
		}
		fmt.Printf("%s: %d objects decoded strictly\n", name, n)
	}
	if failed {
		os.Exit(1)
	}
}

func checkFile(name string) (int, error) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		r = f
	}
	return check(r)
}

// check decodes every document of r strictly and returns how many objects
// it held.
func check(r io.Reader) (int, error) {
	docs := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var errs []error
	n := 0
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, err
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			errs = append(errs, err)
			continue
		}
		if meta.Kind == "" && len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue // an empty document, or comments only
		}
		newObj, ok := kinds[[2]string{meta.APIVersion, meta.Kind}]
		if !ok {
			errs = append(errs, fmt.Errorf("%s %q: apiVersion %q kind %q is not one kubecheck knows", meta.Kind, meta.Metadata.Name, meta.APIVersion, meta.Kind))
			continue
		}
		if meta.Metadata.Name == "" {
			errs = append(errs, fmt.Errorf("a %s without metadata.name", meta.Kind))
		}
		if err := yaml.UnmarshalStrict(doc, newObj()); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", meta.Kind, meta.Metadata.Name, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// stripComments drops the comment lines of a YAML document.
func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.Lines(doc) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line...)
		}
	}
	return out
}
