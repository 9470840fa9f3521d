package validate

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/p4scim/p4scim/config"
)

// kubeObjects builds the Kustomize base and decodes each object strictly
// into its k8s.io/api type.
type kubeObjects struct {
	deployment appsv1.Deployment
	service    corev1.Service
	configMap  corev1.ConfigMap
	secret     corev1.Secret
	pdb        policyv1.PodDisruptionBudget
}

func buildKustomization(t *testing.T) kubeObjects {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), root+"/deploy/kubernetes")
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	var objs kubeObjects
	seen := map[string]int{}
	for _, res := range resMap.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		kind := res.GetKind()
		seen[kind]++
		var target any
		switch kind {
		case "Deployment":
			target = &objs.deployment
		case "Service":
			target = &objs.service
		case "ConfigMap":
			target = &objs.configMap
		case "Secret":
			target = &objs.secret
		case "PodDisruptionBudget":
			target = &objs.pdb
		default:
			t.Fatalf("unexpected kind %s", kind)
		}
		if err := yaml.UnmarshalStrict(y, target); err != nil {
			t.Fatalf("%s %s does not decode strictly into its k8s.io/api type: %v", kind, res.GetName(), err)
		}
	}
	for _, kind := range []string{"Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget"} {
		if seen[kind] != 1 {
			t.Errorf("%d objects of kind %s, want 1", seen[kind], kind)
		}
	}
	return objs
}

// TestKubernetesBase: the base builds, every field is a real field, and
// the Deployment is what docs/operations.md promises.
func TestKubernetesBase(t *testing.T) {
	o := buildKustomization(t)
	d := o.deployment
	pod := d.Spec.Template.Spec
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	probes := map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe}
	wantPath := map[string]string{"liveness": "/healthz", "readiness": "/readyz", "startup": "/healthz"}
	for name, p := range probes {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != wantPath[name] || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v, want GET %s on port http", name, p, wantPath[name])
		}
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["http"] != 8080 || ports["metrics"] != 9464 {
		t.Errorf("container ports %v", ports)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want cpu and memory requests and a memory limit", c.Resources)
	}
	psc, csc := pod.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod security context %+v: want runAsNonRoot and a non-zero runAsUser", psc)
	}
	if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
		csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem || csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") {
		t.Errorf("container security context %+v", csc)
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/tmp" }) {
		t.Error("no writable /tmp for the tickets file under a read-only root")
	}
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	if def := defaultDuration(t, "SHUTDOWN_GRACE"); grace <= def {
		t.Errorf("terminationGracePeriodSeconds %s is not longer than SHUTDOWN_GRACE %s", grace, def)
	}
	if !slices.ContainsFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool { return e.SecretRef != nil && e.SecretRef.Name == o.secret.Name }) ||
		!slices.ContainsFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool {
			return e.ConfigMapRef != nil && e.ConfigMapRef.Name == o.configMap.Name
		}) {
		t.Errorf("envFrom %+v does not name the Secret %s and the ConfigMap %s", c.EnvFrom, o.secret.Name, o.configMap.Name)
	}
	if !strings.Contains(c.Image, "example.com") || !strings.Contains(c.Image, ":") {
		t.Errorf("image %q: want the kustomization's images: entry applied", c.Image)
	}

	podLabels := labels.Set(d.Spec.Template.Labels)
	for what, sel := range map[string]map[string]string{
		"Deployment selector": d.Spec.Selector.MatchLabels,
		"Service selector":    o.service.Spec.Selector,
		"PDB selector":        o.pdb.Spec.Selector.MatchLabels,
	} {
		if len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(podLabels) {
			t.Errorf("%s %v does not select the pods (%v)", what, sel, podLabels)
		}
	}
	if o.pdb.Spec.MinAvailable == nil || o.pdb.Spec.MinAvailable.IntValue() < 1 || o.pdb.Spec.MinAvailable.IntValue() >= int(*d.Spec.Replicas) {
		t.Errorf("PDB minAvailable %v: want at least 1 and fewer than the replicas", o.pdb.Spec.MinAvailable)
	}
}

// TestKubernetesSettings: the ConfigMap and the Secret give p4scim valid
// settings, but for the placeholders an operator must replace.
func TestKubernetesSettings(t *testing.T) {
	o := buildKustomization(t)
	var env []string
	for k, v := range o.configMap.Data {
		env = append(env, k+"="+v)
	}
	for k, v := range o.secret.StringData {
		env = append(env, k+"="+v)
	}
	if _, ok := o.secret.StringData["P4PASSWD"]; !ok {
		t.Error("the Secret has no P4PASSWD")
	}
	for k := range o.configMap.Data {
		if s, ok := setting(k); !ok || s.Secret {
			t.Errorf("ConfigMap key %s: not a setting, or a secret (those go in the Secret)", k)
		}
	}
	cfg, err := config.Load(nil, env, afero.NewMemMapFs())
	if err == nil {
		t.Fatal("the placeholders were accepted")
	}
	for _, p := range err.(*config.Error).Problems {
		if !strings.HasPrefix(p, "BEARER_TOKEN: token \"default\" is a well-known example value") && !strings.HasPrefix(p, "P4_TRUST_FINGERPRINT: missing") {
			t.Errorf("unexpected problem %q", p)
		}
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings %q", cfg.Warnings)
	}
	if cfg.MetricsAddress != ":9464" {
		t.Errorf("METRICS_ADDRESS %q", cfg.MetricsAddress)
	}
}

func setting(name string) (config.Setting, bool) {
	for _, s := range config.Settings() {
		if s.Name == name {
			return s, true
		}
	}
	return config.Setting{}, false
}

func defaultDuration(t *testing.T, name string) time.Duration {
	t.Helper()
	s, ok := setting(name)
	if !ok {
		t.Fatalf("no setting %s", name)
	}
	d, err := time.ParseDuration(s.Default)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
