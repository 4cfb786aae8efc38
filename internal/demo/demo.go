// Package demo generates realistic sample logs for every log type the
// console's dashboards read: CloudTrail, VPC Flow Logs, GuardDuty, Security
// Hub, Route 53 Resolver query logs and the Linux secure log of a small
// company's two AWS accounts, dated relative to a given time, in the object
// layout each service writes to S3. Woven into a week of ordinary activity
// is an attack: an address on the internet scans an instance, guesses an
// SSH password, steals the instance role's credentials and uses them from
// outside AWS (reads buckets, creates an access key, stops the trail), and
// GuardDuty and Security Hub report it. Beside the logs it writes a small
// GeoIP City and ASN database of its own that places every public address
// the logs use, so GeoIP enrichment fills the country panels without any
// database from elsewhere. Output is deterministic for a seed and a time,
// and needs no network.
package demo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"
)

// Log type names, as builtin.ini names the types the generated objects are
// detected as.
const (
	TypeCloudTrail  = "cloudtrail"
	TypeVPCFlow     = "vpcflowlogs"
	TypeGuardDuty   = "guardduty"
	TypeSecurityHub = "securityhub"
	TypeRoute53     = "route53resolver"
	TypeLinuxSecure = "linux-secure"
)

// Types lists the log types Generate writes, in a fixed order.
var Types = []string{TypeCloudTrail, TypeVPCFlow, TypeGuardDuty, TypeSecurityHub, TypeRoute53, TypeLinuxSecure}

// Options control what Generate writes. The zero value is usable: the
// defaults below apply to zero fields.
type Options struct {
	// Seed makes the output reproducible: the same seed and Now give the
	// same bytes.
	Seed int64
	// Now is the end of the generated time range (default: the current
	// time, truncated to the second).
	Now time.Time
	// Days is the length of the time range (default 7).
	Days int
	// Scale multiplies the volume of ordinary activity (default 1: about
	// 85,000 records for 7 days; at most 20). The attack story is the same
	// at every scale.
	Scale float64
	// Accounts are the AWS account ids: the first is the production
	// account the attack targets (default 111122223333 and 444455556666).
	Accounts []string
	// Regions are the AWS regions used; account i lives in region
	// i modulo len(Regions) (default us-east-1, eu-west-1, ap-northeast-1).
	Regions []string
}

// withDefaults returns o with its zero fields set and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC().Truncate(time.Second)
	if o.Days == 0 {
		o.Days = 7
	}
	if o.Days < 2 || o.Days > 366 {
		return o, fmt.Errorf("demo options: Days must be between 2 and 366, got %d", o.Days)
	}
	if o.Scale == 0 {
		o.Scale = 1
	}
	if o.Scale < 0 || o.Scale > 20 {
		return o, fmt.Errorf("demo options: Scale must be between 0 and 20, got %g", o.Scale)
	}
	if len(o.Accounts) == 0 {
		o.Accounts = []string{"111122223333", "444455556666"}
	}
	for _, a := range o.Accounts {
		if len(a) != 12 || !isDigits(a) {
			return o, fmt.Errorf("demo options: account id %q is not 12 digits", a)
		}
	}
	if len(o.Regions) == 0 {
		o.Regions = []string{"us-east-1", "eu-west-1", "ap-northeast-1"}
	}
	for _, r := range o.Regions {
		if r == "" || len(r) > 32 || !regionLike(r) {
			return o, fmt.Errorf("demo options: region %q is not a region name such as us-east-1", r)
		}
	}
	if !slices.Contains(o.Regions, "us-east-1") {
		// IAM, STS and the console sign-in are recorded there.
		o.Regions = append(slices.Clip(o.Regions), "us-east-1")
	}
	return o, nil
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func regionLike(s string) bool {
	for i := range len(s) {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// Summary says what Generate wrote.
type Summary struct {
	// Dir is the directory Generate wrote into.
	Dir string
	// LogDir is the directory to load: a copy of the log bucket, holding
	// the objects under the keys the services write (AWSLogs/...) and
	// nothing else. It is Dir/<bucket>, the bucket being named after the
	// first account as the SIEM's log bucket is (aes-siem-<account>-log).
	LogDir string
	// GeoIPCity and GeoIPASN are the demo's own GeoIP databases, outside
	// LogDir. They place every public address in the data (with the
	// country, city and network owner its records give), so loading with
	// them fills the country panels of every dashboard.
	GeoIPCity, GeoIPASN string
	// Start and End bound the generated time range.
	Start, End time.Time
	// Files is the number of objects written.
	Files int
	// Bytes is their total (compressed) size.
	Bytes int64
	// Records counts the records per log type name (see Types).
	Records map[string]int
	// FilesByType counts the objects per log type name.
	FilesByType map[string]int
	// Attack holds the key values of the attack story.
	Attack Attack
}

// Total returns the number of records of every type.
func (s Summary) Total() int {
	n := 0
	for _, c := range s.Records {
		n += c
	}
	return n
}

// Attack is the attack woven into the sample data, for tests and for
// telling the user what to search for.
type Attack struct {
	// AttackerIP is the address the attack comes from, in every log type.
	AttackerIP string
	// AttackerCountry is the ISO code of the country GeoIP places it in.
	AttackerCountry string
	// Account and Region are where the attacked instance runs.
	Account, Region string
	// InstanceID, InstanceName, InstancePrivateIP and InstancePublicIP
	// describe the instance whose SSH password was guessed.
	InstanceID, InstanceName, InstancePrivateIP, InstancePublicIP string
	// Hostname is the instance's host name in its secure log.
	Hostname string
	// SSHUser is the account whose password was guessed.
	SSHUser string
	// Role is the instance role whose credentials were stolen, and
	// PrincipalARN the assumed-role ARN the attacker called AWS as.
	Role, PrincipalARN string
	// AccessKeyID is the stolen session key.
	AccessKeyID string
	// CreatedUser and CreatedAccessKeyID are the IAM user and key the
	// attacker created to keep access.
	CreatedUser, CreatedAccessKeyID string
	// Trail is the CloudTrail trail the attacker stopped.
	Trail string
	// Findings are the ids of the GuardDuty findings about the attack, in
	// the order they were raised.
	Findings []Finding
	// ScanStart, LoginAt, CloudStart and LoggingStopped are the times of
	// the first probe, the successful SSH login, the first AWS call with the
	// stolen credentials and StopLogging; LoggingResumed is when the
	// defenders restarted the trail.
	ScanStart, LoginAt, CloudStart, LoggingStopped, LoggingResumed time.Time
}

// Finding is one GuardDuty finding of the attack.
type Finding struct {
	ID, Type string
	Severity float64
}

// Searches returns queries that find the attack in the console.
func (a Attack) Searches() []string {
	return []string{
		"source.ip:" + a.AttackerIP,
		"cloud.instance.id:" + a.InstanceID,
		`rule.id:"UnauthorizedAccess:EC2/SSHBruteForce"`,
		"event.action:(CreateUser OR CreateAccessKey OR StopLogging)",
	}
}

// Generate writes the sample objects and the demo's GeoIP databases under
// dir (created if needed; files of the same names are replaced, others left
// alone) and returns what it wrote. The object keys, relative to
// Summary.LogDir, are those the services use, so loading LogDir detects
// every object's log type.
func Generate(dir string, opts Options) (Summary, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Summary{}, fmt.Errorf("creating demo directory %s: %w", dir, err)
	}
	w := newWorld(o)
	logDir := filepath.Join(dir, "aes-siem-"+o.Accounts[0]+"-log")
	out := &output{dir: logDir, dirs: map[string]bool{}, records: map[string]int{}, files: map[string]int{}}
	gens := []func(*world, *output) error{genCloudTrail, genVPCFlow, genFindings, genRoute53, genSecure}
	// Each generator has its own random stream, so running them at once
	// does not change what they write. The group stops at the first error.
	g, _ := errgroup.WithContext(context.Background())
	g.SetLimit(2)
	for _, gen := range gens {
		g.Go(func() error { return gen(w, out) })
	}
	var city, asn string
	g.Go(func() error {
		var err error
		city, asn, err = writeGeoIP(dir, o.Now)
		return err
	})
	if err := g.Wait(); err != nil {
		return Summary{}, err
	}
	s := Summary{Dir: dir, LogDir: logDir, GeoIPCity: city, GeoIPASN: asn, Start: w.start, End: w.end,
		Files: out.nfiles, Bytes: out.bytes, Records: out.records, FilesByType: out.files, Attack: w.story.summary()}
	return s, nil
}

// output writes objects and counts them. It is safe for concurrent use.
type output struct {
	dir string

	mu      sync.Mutex
	dirs    map[string]bool // directories known to exist
	records map[string]int
	files   map[string]int
	nfiles  int
	bytes   int64
}

// gzPool keeps gzip writers between objects.
var gzPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}

// write gzips body into dir/key and counts n records of logType.
func (o *output) write(logType, key string, body []byte, n int) error {
	var buf bytes.Buffer
	buf.Grow(len(body)/6 + 64)
	zw := gzPool.Get().(*gzip.Writer)
	defer gzPool.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(body); err != nil {
		return fmt.Errorf("compressing %s: %w", key, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compressing %s: %w", key, err)
	}
	p := filepath.Join(o.dir, filepath.FromSlash(key))
	if err := o.mkdir(filepath.Dir(p)); err != nil {
		return err
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.records[logType] += n
	o.files[logType]++
	o.nfiles++
	o.bytes += int64(buf.Len())
	return nil
}

// mkdir creates a directory once.
func (o *output) mkdir(dir string) error {
	o.mu.Lock()
	known := o.dirs[dir]
	o.mu.Unlock()
	if known {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating directory %s: %w", dir, err)
	}
	o.mu.Lock()
	o.dirs[dir] = true
	o.mu.Unlock()
	return nil
}
