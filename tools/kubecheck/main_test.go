package main

import (
	"strings"
	"testing"
)

// TestCheck: a known object decodes; an unknown field, a value of the
// wrong type, a duplicate key and an unknown kind each fail.
func TestCheck(t *testing.T) {
	const good = `
# Source: a comment-only document
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
data:
  K: "v"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: b
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers: [{name: c, image: "pooltasks:dev"}]
`
	if n, err := check(strings.NewReader(good)); err != nil || n != 2 {
		t.Fatalf("check = %d, %v; want 2 objects", n, err)
	}
	for name, doc := range map[string]string{
		"unknown field": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndatta: {K: v}\n",
		"wrong type":    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: two}\n",
		"nested field":  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {containers: [{name: c, imagePolicy: Always}]}}}\n",
		"duplicate key": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {K: v}\ndata: {L: w}\n",
		"unknown kind":  "apiVersion: v1\nkind: Pod2\nmetadata: {name: a}\n",
		"no name":       "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
	} {
		if _, err := check(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
