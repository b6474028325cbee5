// Package deploy holds UdaConnect's cluster deployment: the kustomize base and
// overlays, the scripts that provision the Vagrant VM and write the secrets,
// and, as tests, the offline checks of all of it. No cluster is needed: the
// manifests are decoded strictly into their Kubernetes types, the Knative
// Services validated against the Knative Serving CRD schema, the overlays
// built with the kustomize API and the topology (Triggers, subscribers,
// SinkBindings, images) checked against skaffold.yaml.
package deploy
