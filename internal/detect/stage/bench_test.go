package stage_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-siem/vigil/internal/detect/stage"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/logtype/cloudtrail"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/sink/ndjson"
	"github.com/vigil-siem/vigil/internal/source/file"
)

// benchCloudTrail returns the CloudTrail part of the generated benchmark
// set (make bench-data) and its record count.
func benchCloudTrail(b *testing.B) (string, int) {
	dir := os.Getenv("VIGIL_BENCH_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "bench-data")
	}
	root := filepath.Join(dir, "s3", "aes-siem-123456789012-log", "AWSLogs", "123456789012", "CloudTrail")
	n := 0
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	if n == 0 {
		b.Fatalf("benchmark data not found at %s: run `make bench-data`", root)
	}
	return root, n * 1000 // the generator writes 1,000 records per CloudTrail file
}

// baseRuleDir is where the benchmark's realistic rules come from: the
// shared Sigma corpus of AWS rules when present, else the rule pack.
func baseRuleDir() string {
	shared := os.Getenv("VIGIL_SHARED")
	if shared == "" {
		shared = filepath.Join("..", "..", "..", "..", "shared")
	}
	if dir := filepath.Join(shared, "corpus", "sigma-aws", "rules"); dirExists(dir) {
		return dir
	}
	return filepath.Join(rulePack, "cloudtrail")
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// apiNames are CloudTrail event names the variants select instead of the
// base rule's: real API calls of the services security rules watch, most
// of them rare in the benchmark data (as the events rules look for are).
var apiNames = strings.Fields(`
CreateUser DeleteUser CreateAccessKey DeleteAccessKey UpdateAccessKey CreateLoginProfile UpdateLoginProfile
DeleteLoginProfile AttachUserPolicy DetachUserPolicy PutUserPolicy DeleteUserPolicy AttachRolePolicy
DetachRolePolicy PutRolePolicy CreateRole DeleteRole UpdateAssumeRolePolicy CreatePolicyVersion
SetDefaultPolicyVersion AddUserToGroup RemoveUserFromGroup CreateVirtualMFADevice DeactivateMFADevice
EnableMFADevice CreateSAMLProvider UpdateSAMLProvider CreateOpenIDConnectProvider PutBucketPolicy
DeleteBucketPolicy PutBucketAcl PutBucketPublicAccessBlock DeleteBucketPublicAccessBlock
PutBucketVersioning PutBucketLogging PutBucketReplication PutBucketEncryption DeleteBucketEncryption
PutBucketLifecycle DeleteBucket PutObjectAcl PutBucketCors PutBucketWebsite StopLogging DeleteTrail
UpdateTrail PutEventSelectors CreateTrail StartLogging DeleteDetector UpdateDetector
DeleteMembers DisassociateFromMasterAccount StopMonitoringMembers CreateFilter DeletePublishingDestination
DisableSecurityHub BatchDisableStandards DeleteInsight StopConfigurationRecorder DeleteConfigurationRecorder
DeleteDeliveryChannel RunInstances TerminateInstances StopInstances ModifyInstanceAttribute
AuthorizeSecurityGroupIngress AuthorizeSecurityGroupEgress RevokeSecurityGroupIngress CreateSecurityGroup
DeleteSecurityGroup CreateKeyPair ImportKeyPair DeleteKeyPair ModifySnapshotAttribute ModifyImageAttribute
CreateSnapshot CopySnapshot DisableEbsEncryptionByDefault CreateVpc DeleteVpc CreateRoute DeleteRoute
CreateNetworkAclEntry DeleteNetworkAclEntry DeleteFlowLogs CreateInternetGateway AttachInternetGateway
ScheduleKeyDeletion DisableKey PutKeyPolicy CreateGrant ImportKeyMaterial DeleteSecret PutSecretValue
RestoreSecret UpdateFunctionConfiguration CreateFunction20150331 AddPermission20150331
CreateFunctionUrlConfig UpdateFunctionCode20150331v2 PublishLayerVersion20181031 DeleteFunction20150331
ModifyDBInstance RestoreDBInstanceFromDBSnapshot ModifyDBSnapshotAttribute DeleteDBCluster
CreateDBSnapshot StopDBCluster SendCommand StartAutomationExecution CreateAssociation PutParameter
DeleteParameter ResumeSession CreateCluster DeleteCluster UpdateClusterConfig CreateNodegroup
RegisterTaskDefinition RunTask CreateService UpdateService DeleteRepository PutImage
CreateGlueDevEndpoint UpdateDevEndpoint DeleteLogGroup DeleteLogStream PutRetentionPolicy
DeleteSubscriptionFilter PutSubscriptionFilter DisableRule DeleteRule PutRule PutTargets
LeaveOrganization RemoveAccountFromOrganization CreateAccount InviteAccountToOrganization
DetachPolicy DeletePolicy EnableRegion DisableRegion CreateGuardrail DeleteGuardrail UpdateGuardrail
DeleteModelInvocationLoggingConfiguration GetFederationToken GetSessionToken GetSigninToken
SwitchRole ConsoleLogin PasswordRecoveryRequested CreateWebACL DeleteWebACL UpdateWebACL
DeleteIdentity VerifyEmailIdentity UpdateAccountSendingEnabled TransferDomain DisableDomainTransferLock
ChangeResourceRecordSets DeleteHostedZone ExportImage CreateInstanceExportTask DeleteBackupPlan
DeleteBackupVault DeleteRecoveryPoint StartBackupJob DeleteFileSystem DeleteMountTarget
ModifyCacheCluster DeleteCacheSecurityGroup AuthorizeCacheSecurityGroupIngress
`)

// generateRules returns n rule documents: the base rules as they are, then
// variants of those that select on eventName, with other event names (one
// to four), their own id and title. Rules without an eventName selection
// are used once.
func generateRules(b *testing.B, n int) []string {
	b.Helper()
	dir := baseRuleDir()
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no base rules in %s: %v", dir, err)
	}
	sort.Strings(files)
	type base struct {
		doc       *yaml.Node
		eventName bool
	}
	var bases []base
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
			continue // multi-document files and oddities: not needed here
		}
		bases = append(bases, base{doc: &doc, eventName: len(eventNameValues(doc.Content[0])) > 0})
	}
	r := rand.New(rand.NewPCG(42, 1000))
	var out []string
	for i := 0; len(out) < n; i++ {
		bs := bases[i%len(bases)]
		variant := i / len(bases)
		if variant > 0 && !bs.eventName {
			if i > 10*n {
				b.Fatal("not enough rules with an eventName selection to vary")
			}
			continue
		}
		doc := cloneNode(bs.doc)
		root := doc.Content[0]
		setScalar(root, "id", fmt.Sprintf("bench-%04d-%08x", len(out), r.Uint32()))
		if variant > 0 {
			title := mapValue(root, "title")
			if title != nil {
				title.Value = fmt.Sprintf("%s (variant %d)", title.Value, variant)
			}
			for _, v := range eventNameValues(root) {
				if v.Kind == yaml.ScalarNode {
					v.Value = apiNames[r.IntN(len(apiNames))]
					continue
				}
				v.Kind, v.Tag, v.Style = yaml.SequenceNode, "!!seq", 0
				v.Content = nil
				for range 1 + r.IntN(4) {
					v.Content = append(v.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: apiNames[r.IntN(len(apiNames))]})
				}
			}
		}
		text, err := yaml.Marshal(doc)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, string(text))
	}
	return out
}

// eventNameValues returns the value nodes of the eventName conditions of
// a rule's selections (searches named selection*, by the Sigma naming
// convention; filters are left alone, so a variant selects other events
// rather than filtering others out).
func eventNameValues(root *yaml.Node) []*yaml.Node {
	det := mapValue(root, "detection")
	if det == nil || det.Kind != yaml.MappingNode {
		return nil
	}
	var out []*yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "eventName" {
					out = append(out, n.Content[i+1])
					continue
				}
				walk(n.Content[i+1])
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		}
	}
	for i := 0; i+1 < len(det.Content); i += 2 {
		if strings.HasPrefix(det.Content[i].Value, "selection") {
			walk(det.Content[i+1])
		}
	}
	return out
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setScalar(m *yaml.Node, key, value string) {
	if v := mapValue(m, key); v != nil {
		v.Value = value
		return
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, &yaml.Node{Kind: yaml.ScalarNode, Value: value})
}

func cloneNode(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = cloneNode(k)
	}
	return &c
}

// BenchmarkPipelineDetection measures the load pipeline over the benchmark
// CloudTrail set (normalization, NDJSON lines to a discarding sink) with
// 0, 100 and 1,000 rules against the same pipeline without detection. Run
// it with -cpu 1 for the one-core figure. It reports CPU-time throughput
// with and without detection and overhead-%, the median over iterations
// of 1 - (CPU time without)/(CPU time with): the share of throughput
// detection costs.
func BenchmarkPipelineDetection(b *testing.B) {
	root, records := benchCloudTrail(b)
	all := generateRules(b, 1100)
	reg, err := logtype.LoadFrom()
	if err != nil {
		b.Fatal(err)
	}
	// tuned leaves out the two rules of the corpus that cost the most: a
	// hunting rule that matches every call made with an assumed role (54%
	// of the benchmark set, so an alert update for every other document)
	// and a rule whose only condition is a regular expression starting
	// with .+ on userIdentity.arn (checked on every document; its
	// required literal, looked for first, rules most documents out).
	var tuned []string
	for _, r := range all {
		if len(tuned) == 1000 {
			break
		}
		if !strings.Contains(r, "sessionIssuer.type: Role") && !strings.Contains(r, "assumed-role/aws") {
			tuned = append(tuned, r)
		}
	}
	ct, _ := reg.Get("cloudtrail")
	// run loads the set once, with detection when d is set, and returns
	// the CPU time it took.
	run := func(b *testing.B, d *stage.Detector) time.Duration {
		stats := &pipeline.Stats{}
		cfg := &pipeline.ObjectConfig{
			Registry:  reg,
			ForceType: ct,
			Scripts:   map[string]normalize.Script{"cloudtrail": cloudtrail.Script{}},
			Lines:     true,
			Stats:     stats,
		}
		var sink pipeline.Sink = ndjson.New(io.Discard, nil)
		if d != nil {
			cfg.Inspect = d.Inspect
			sink = d.Sink(sink)
		}
		src := &file.Source{Paths: []string{root}, NewAck: func(event.Origin) *event.Ack { return event.NewAck(nil) }}
		cpu0 := cpuTime()
		err := pipeline.Run(context.Background(), pipeline.Config{Workers: runtime.GOMAXPROCS(0)}, src,
			func() pipeline.Processor { return pipeline.NewObjectProcessor(cfg) }, sink, nil)
		cpu := cpuTime() - cpu0
		if err != nil {
			b.Fatal(err)
		}
		if got := stats.Records.Load(); got != int64(records) || stats.Errors.Load() != 0 {
			b.Fatalf("%d records read, %d failed; want %d and none", got, stats.Errors.Load(), records)
		}
		return cpu
	}
	for _, tc := range []struct {
		name  string
		rules []string
	}{
		{"rules=0", all[:0]},
		{"rules=100", all[:100]},
		{"rules=1000", all[:1000]},
		{"rules=1000-tuned", tuned},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			for i, text := range tc.rules {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("r%04d.yml", i)), []byte(text), 0o600); err != nil {
					b.Fatal(err)
				}
			}
			d, err := stage.New(stage.Config{RuleDirs: []string{dir}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			if p := d.Problems(); len(p) > 0 {
				b.Fatalf("%d generated rules failed, first: %v", len(p), p[0])
			}
			// Each iteration loads the set without detection, then with
			// it: both runs see the same machine, so their ratio is
			// steadier than either figure on a shared machine.
			var base, det time.Duration
			var overhead []float64
			b.ResetTimer()
			for range b.N {
				cb := run(b, nil)
				cd := run(b, d)
				base += cb
				det += cd
				overhead = append(overhead, 100*(1-cb.Seconds()/cd.Seconds()))
			}
			b.StopTimer()
			sort.Float64s(overhead)
			b.ReportMetric(float64(records*b.N)/base.Seconds(), "base-records/cpu-s")
			b.ReportMetric(float64(records*b.N)/det.Seconds(), "records/cpu-s")
			b.ReportMetric(overhead[len(overhead)/2], "overhead-%")
			st := d.Stats()
			if st.Documents > 0 {
				b.ReportMetric(float64(st.Matches)/float64(st.Documents), "matches/doc")
			}
			if err := d.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// cpuTime is the user+system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
