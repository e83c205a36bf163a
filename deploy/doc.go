// Package deploy holds the Kubernetes manifests of pooltasks (the YAML files in this
// directory) and, in its tests, the checks that keep them, the Slack app manifest
// (../manifest.yml) and the Dockerfile saying the same thing: socket mode and the scopes the
// bot needs, a read-only root file system, probes on /healthz and /readyz, one scheduler with
// its state on a volume, and secrets that come only from the Secret.
//
// Apply the default layout (responders plus one scheduler) with
//
//	kubectl apply -f deploy/secret.yaml -f deploy/configmap.yaml -f deploy/pvc.yaml \
//	  -f deploy/responders.yaml -f deploy/scheduler.yaml
//
// or replace scheduler.yaml and pvc.yaml by cronjob-digest.yaml for digests from a CronJob.
package deploy
