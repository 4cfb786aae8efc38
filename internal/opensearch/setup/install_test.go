package setup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/opensearch"
	"github.com/vigil-siem/vigil/internal/testutil/opensearchtest"
)

// newClient returns a client of the in-process server at url.
func newClient(t *testing.T, url string) *opensearch.Client {
	t.Helper()
	c, err := opensearch.New(context.Background(), opensearch.Config{URL: url}, nil)
	if err != nil {
		t.Fatalf("opensearch.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// registry returns the built-in log types overlaid with user INI text.
func registry(t *testing.T, userINI string) *logtype.Registry {
	t.Helper()
	var srcs []logtype.NamedReader
	if userINI != "" {
		srcs = append(srcs, logtype.NamedReader{Name: "user.ini", R: strings.NewReader(userINI)})
	}
	reg, err := logtype.LoadFrom(srcs...)
	if err != nil {
		t.Fatalf("loading log types: %v", err)
	}
	return reg
}

func plan(t *testing.T, reg *logtype.Registry, opts Options) *Plan {
	t.Helper()
	p, err := NewPlan(reg, opts)
	if err != nil {
		t.Fatalf("NewPlan: %v", err)
	}
	return p
}

// env is a cluster and a Dashboards, both in-process.
type env struct {
	os   *opensearchtest.Server
	osd  *fakeDashboards
	inst *Installer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s := opensearchtest.New(t, opensearchtest.Options{})
	d := newFakeDashboards(t)
	return &env{os: s, osd: d, inst: &Installer{Cluster: newClient(t, s.URL()), Dashboards: newClient(t, d.URL())}}
}

// install runs one Install and returns its output.
func (e *env) install(t *testing.T, p *Plan) (Summary, string, error) {
	t.Helper()
	var out bytes.Buffer
	e.inst.Out = &out
	sum, err := e.inst.Install(context.Background(), p)
	return sum, out.String(), err
}

// autoINI makes CloudTrail roll over (index_rotation = auto) and keeps
// GuardDuty findings 400 days.
const autoINI = `
[cloudtrail]
index_rotation = auto
retention_days = 30

[guardduty]
retention_days = 400
`

func TestInstallTwiceSecondRunWritesNothing(t *testing.T) {
	e := newEnv(t)
	p := plan(t, registry(t, autoINI), Options{RetentionDays: 90})
	objects := len(p.Components) + len(p.IndexTemplates) + len(p.Policies) + len(p.WriteAliases) + len(p.SavedObjects)

	sum, out, err := e.install(t, p)
	if err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	if sum.Created != objects || sum.Updated != 0 || sum.UpToDate != 0 || sum.Failed != 0 {
		t.Fatalf("first run: %+v, want %d created\n%s", sum, objects, out)
	}
	for _, want := range []string{
		"component template vigil-ecs: created\n",
		"index template vigil-log-aws-cloudtrail: created\n",
		"ISM policy vigil-log-aws-cloudtrail: created\n",
		"write alias log-aws-cloudtrail: created (first index log-aws-cloudtrail-000001)\n",
		"dashboard Vigil: GuardDuty: created\n",
		"index pattern log-aws-vpcflowlogs-*: created\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first run output lacks %q:\n%s", want, out)
		}
	}
	if got := e.os.WriteIndex("log-aws-cloudtrail"); got != "log-aws-cloudtrail-000001" {
		t.Errorf("write index of log-aws-cloudtrail = %q, want log-aws-cloudtrail-000001", got)
	}
	if st := e.os.IndexSettings("log-aws-cloudtrail-000001"); !strings.Contains(mustJSON(t, st), "log-aws-cloudtrail") {
		t.Errorf("first rollover index settings %v lack the rollover alias", st)
	}

	e.os.ResetLog()
	e.osd.requests()
	sum, out, err = e.install(t, p)
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if w := e.os.WriteRequests(); len(w) != 0 {
		for _, r := range w {
			t.Errorf("second run wrote to OpenSearch: %s %s %s", r.Method, r.Path, r.Body)
		}
	}
	for _, r := range e.osd.requests() {
		if r != "POST /api/saved_objects/_bulk_get" {
			t.Errorf("second run sent %s to Dashboards, want only the _bulk_get read", r)
		}
	}
	if sum.UpToDate != objects || sum.Writes != 0 {
		t.Errorf("second run: %+v, want %d up to date and no write", sum, objects)
	}
	if !strings.HasSuffix(out, "objects, all up to date\n") {
		t.Errorf("second run summary: %q", lastLine(out))
	}
	if strings.Contains(out, "created") || strings.Contains(out, "updated") {
		t.Errorf("second run output mentions a change:\n%s", out)
	}
}

func TestInstallDryRun(t *testing.T) {
	e := newEnv(t)
	e.inst.DryRun = true
	p := plan(t, registry(t, autoINI), Options{})
	sum, out, err := e.install(t, p)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if w := e.os.WriteRequests(); len(w) != 0 {
		t.Errorf("dry run wrote %d requests, first %s %s", len(w), w[0].Method, w[0].Path)
	}
	for _, r := range e.osd.requests() {
		if strings.Contains(r, "_import") {
			t.Errorf("dry run imported saved objects")
		}
	}
	if sum.Writes != 0 || sum.Created == 0 {
		t.Errorf("dry run summary %+v", sum)
	}
	if !strings.Contains(out, "component template vigil-ecs: would be created\n") || !strings.Contains(lastLine(out), "dry run: nothing written") {
		t.Errorf("dry run output:\n%s", out)
	}
}

func TestInstallLeavesHigherPriorityUserTemplate(t *testing.T) {
	e := newEnv(t)
	client := newClient(t, e.os.URL())
	user := `{"index_patterns":["log-aws-cloudtrail-*"],"priority":500,"template":{"settings":{"index.number_of_shards":4}}}`
	if err := client.DoJSON(context.Background(), "PUT", "/_index_template/my-cloudtrail", json.RawMessage(user), nil); err != nil {
		t.Fatal(err)
	}
	before, _ := e.os.Template("my-cloudtrail")
	p := plan(t, registry(t, ""), Options{})
	_, out, err := e.install(t, p)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	if !strings.Contains(out, "index template vigil-log-aws-cloudtrail: created (overridden by my-cloudtrail, priority 500)\n") {
		t.Errorf("override not reported:\n%s", out)
	}
	e.os.ResetLog()
	_, out, err = e.install(t, p)
	if err != nil {
		t.Fatalf("second install: %v", err)
	}
	if !strings.Contains(out, "index template vigil-log-aws-cloudtrail: up to date (overridden by my-cloudtrail, priority 500)\n") {
		t.Errorf("override not reported on the second run:\n%s", out)
	}
	for _, r := range e.os.Requests() {
		if strings.Contains(r.Path, "my-cloudtrail") {
			t.Errorf("the user's template was touched: %s %s", r.Method, r.Path)
		}
	}
	after, _ := e.os.Template("my-cloudtrail")
	if !bytes.Equal(before, after) {
		t.Errorf("the user's template changed:\n%s\n%s", before, after)
	}
}

func TestInstallSamePriorityUserTemplateFails(t *testing.T) {
	e := newEnv(t)
	client := newClient(t, e.os.URL())
	user := `{"index_patterns":["log-aws-guardduty-*"],"priority":102}`
	if err := client.DoJSON(context.Background(), "PUT", "/_index_template/mine", json.RawMessage(user), nil); err != nil {
		t.Fatal(err)
	}
	p := plan(t, registry(t, ""), Options{})
	sum, out, err := e.install(t, p)
	if !errors.Is(err, ErrFailed) || sum.Failed != 1 {
		t.Fatalf("err = %v, summary %+v, want one failure", err, sum)
	}
	if !strings.Contains(out, "index template vigil-log-aws-guardduty: failed: index template mine matches the same indices with the same priority 102") {
		t.Errorf("failure not explained:\n%s", out)
	}
	if !strings.Contains(out, "index template vigil-log-aws-cloudtrail: created\n") {
		t.Errorf("the other templates were not installed:\n%s", out)
	}
}

func TestInstallUpdatesWhatChanged(t *testing.T) {
	e := newEnv(t)
	reg := registry(t, autoINI)
	if _, out, err := e.install(t, plan(t, reg, Options{RetentionDays: 90})); err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	client := newClient(t, e.os.URL())
	ctx := context.Background()
	// Someone edits a component template and a dashboard by hand.
	edited := `{"template":{"settings":{"index.refresh_interval":"60s"}}}`
	if err := client.DoJSON(ctx, "PUT", "/_component_template/vigil-log-aws-waf-fields", json.RawMessage(edited), nil); err != nil {
		t.Fatal(err)
	}
	e.osd.setAttribute("dashboard", "vigil-dashboard-dns", "title", "DNS (edited)")

	// And the desired retention changes from 90 to 60 days.
	p := plan(t, reg, Options{RetentionDays: 60})
	e.os.ResetLog()
	sum, out, err := e.install(t, p)
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	for _, want := range []string{
		"component template vigil-log-aws-waf-fields: updated\n",
		"ISM policy vigil-log-aws-waf: updated\n",
		"ISM policy vigil-log-aws-cloudtrail: up to date\n", // its own retention_days = 30
		"ISM policy vigil-log-aws-guardduty: up to date\n",  // retention_days = 400
		"dashboard Vigil: DNS activity: updated\n",
		"component template vigil-ecs: up to date\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var ismPuts int
	for _, r := range e.os.WriteRequests() {
		if strings.HasPrefix(r.Path, "/_plugins/_ism/policies/") {
			ismPuts++
			if !strings.Contains(r.Query, "if_seq_no=") || !strings.Contains(r.Query, "if_primary_term=") {
				t.Errorf("ISM update without seq_no and primary_term: %s %s?%s", r.Method, r.Path, r.Query)
			}
		}
	}
	if ismPuts == 0 || sum.Updated < ismPuts+2 {
		t.Errorf("summary %+v after %d ISM updates", sum, ismPuts)
	}
	if got := e.osd.object("dashboard", "vigil-dashboard-dns")["attributes"].(map[string]any)["title"]; got != "Vigil: DNS activity" {
		t.Errorf("dashboard title after the update = %v", got)
	}
	// A third run finds everything as wanted.
	e.os.ResetLog()
	sum, out, err = e.install(t, p)
	if err != nil || sum.Created+sum.Updated != 0 || len(e.os.WriteRequests()) != 0 {
		t.Errorf("third run: %+v, %v\n%s", sum, err, out)
	}
}

func TestInstallWriteAliasOverIndexFails(t *testing.T) {
	e := newEnv(t)
	e.os.CreateIndex("log-aws-cloudtrail") // a sink wrote to the name before setup ran
	_, out, err := e.install(t, plan(t, registry(t, autoINI), Options{}))
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	if !strings.Contains(out, "write alias log-aws-cloudtrail: failed: an index named log-aws-cloudtrail exists") {
		t.Errorf("output:\n%s", out)
	}
}

func TestInstallWithoutDashboards(t *testing.T) {
	e := newEnv(t)
	e.inst.Dashboards = nil
	p := plan(t, registry(t, ""), Options{})
	sum, out, err := e.install(t, p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "dashboard") || sum.Created != len(p.Components)+len(p.IndexTemplates)+len(p.Policies) {
		t.Errorf("summary %+v:\n%s", sum, out)
	}
	if len(e.osd.requests()) != 0 {
		t.Error("Dashboards was called without being configured")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
