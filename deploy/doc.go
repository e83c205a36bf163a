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
// (or `kubectl apply -f deploy/`, which applies exactly these), or replace scheduler.yaml and
// pvc.yaml by optional/cronjob-digest.yaml for digests from a CronJob. It is kept in optional/ so
// that applying the folder never runs it beside the scheduler, which would post every digest
// twice. Redis mode (state shared in Redis by identical replicas that elect their scheduler) is
// redis/, applied with the top folder's Secret and ConfigMap:
//
//	kubectl apply -f deploy/secret.yaml -f deploy/configmap.yaml -f deploy/redis/
//
// `kubectl apply -f deploy/` does not descend into optional/ or redis/ (that needs -R). The Helm
// chart in helm/pooltasks renders the same layout from values; .ci/run lints it
// and decodes what it renders, and these files, strictly against the Kubernetes API types.
package deploy
